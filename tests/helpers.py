"""Small real inputs for tests: synthetic face folders and tiny ONNX models."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
ORL = SHARED / "data" / "orl_faces"
LFW = SHARED / "data" / "lfw_sub50x6"
MFN_ONNX = SHARED / "models" / "mobilefacenet_foamliu" / "MobileFaceNet.onnx"
MFN_PT = SHARED / "models" / "mobilefacenet_foamliu" / "mobilefacenet.pt"
SHARED_REASON = "../shared (real faces and models) is absent on this machine"


def make_faces(root: Path, *, n_ids: int = 5, per_id: int = 4, size: int = 32, layout: str = "folder",
               seed: int = 0, ext: str = "png", noise: float = 25.0) -> Path:
    """Identity k = a smooth random pattern; each image = pattern + noise."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    for k in range(n_ids):
        base = rng.uniform(40, 215, size=(size // 4, size // 4, 3))
        base = np.kron(base, np.ones((4, 4, 1)))
        for j in range(per_id):
            img = np.clip(base + rng.normal(0, noise, base.shape), 0, 255).astype(np.uint8)
            name = f"id{k:02d}"
            if layout == "folder":
                p = root / name / f"{j:03d}.{ext}"
                p.parent.mkdir(exist_ok=True)
            else:
                p = root / f"{name}_{j:03d}.{ext}"
            Image.fromarray(img).save(p)
    return root


def make_linear_onnx(path: Path, *, h: int = 32, w: int = 32, dim: int = 16, batch=None, layout: str = "NCHW",
                     constants: bool = False, seed: int = 0, input_name: str = "pixels",
                     output_name: str = "emb", external: bool = False, zero_rows: bool = False,
                     channels: int = 3, unused_inputs: int = 0, initializer_inputs: bool = False) -> Path:
    """A real ONNX model: Flatten -> MatMul (random weights) -> [N, dim].

    ``unused_inputs`` declares that many extra graph inputs no node reads (as
    OpenCV Zoo's quantised SFace does); ``initializer_inputs`` lists the weight
    as a graph input too (IR 3 exports).
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    c = channels
    wmat = rng.normal(0, 1 / np.sqrt(c * h * w), size=(c * h * w, dim)).astype(np.float32)
    if zero_rows:
        wmat[:] = 0
    shape = [batch if batch else "N", c, h, w] if layout == "NCHW" else [batch if batch else "N", h, w, c]
    inp = helper.make_tensor_value_info(input_name, TensorProto.FLOAT, shape)
    out = helper.make_tensor_value_info(output_name, TensorProto.FLOAT, [batch if batch else "N", dim])
    nodes = [helper.make_node("Flatten", [input_name], ["flat"], axis=1)]
    tensor = numpy_helper.from_array(wmat, "W")
    inits = []
    if constants:
        nodes.append(helper.make_node("Constant", [], ["W"], value=tensor))
    else:
        inits.append(tensor)
    nodes.append(helper.make_node("MatMul", ["flat", "W"], [output_name]))
    inputs = [inp] + [helper.make_tensor_value_info(f"conv_{k}_weight", TensorProto.FLOAT, [8, 3, 3, 3])
                      for k in range(unused_inputs)]
    if initializer_inputs:
        inputs.append(helper.make_tensor_value_info("W", TensorProto.FLOAT, list(wmat.shape)))
    graph = helper.make_graph(nodes, "linear", inputs, [out], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 3 if initializer_inputs else 8
    path.parent.mkdir(parents=True, exist_ok=True)
    if external:
        onnx.save_model(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                        location=path.name + ".data", size_threshold=0)
    else:
        onnx.save_model(model, str(path))
    return path


def make_dynamic_size_onnx(path: Path) -> Path:
    """A model with dynamic height and width: global average pool -> [N, 3]."""
    import onnx
    from onnx import TensorProto, helper

    g = helper.make_graph(
        [helper.make_node("GlobalAveragePool", ["x"], ["p"]), helper.make_node("Flatten", ["p"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, "H", "W"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


ORL_DEMO = ROOT / "demo" / "orl_faces"  # ships with the project


def make_raw_photos(root: Path, *, n_ids: int = 4, per_id: int = 4, seed: int = 0, blank: str | None = None) -> Path:
    """Photos as people have them, from the bundled ORL faces: each face pasted at a random place into a
    bigger noisy frame.  ``blank`` names an extra image (``s1/blank.png``) that holds no face at all."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    for k in range(1, n_ids + 1):
        (root / f"s{k}").mkdir(exist_ok=True)
        for j, src in enumerate(sorted((ORL_DEMO / f"s{k}").glob("*.pgm"))[:per_id]):
            canvas = rng.normal(120, 30, (300, 360, 3)).clip(0, 255).astype(np.uint8)
            face = np.asarray(Image.open(src).convert("RGB"))
            y, x = int(rng.integers(0, 300 - 112)), int(rng.integers(0, 360 - 92))
            canvas[y:y + 112, x:x + 92] = face
            Image.fromarray(canvas).save(root / f"s{k}" / f"{j:02d}.jpg", quality=92)
    if blank:
        Image.fromarray(rng.normal(120, 30, (300, 360, 3)).clip(0, 255).astype(np.uint8)).save(root / blank)
    return root


def make_looping_onnx(path: Path, *, trips: int = 10**12, h: int = 32, w: int = 32) -> Path:
    """An image model whose graph loops ``trips`` times (adds 1 to a counter each time) before answering."""
    from onnx import TensorProto, helper, numpy_helper

    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"]),
         helper.make_node("Add", ["v_in", "one"], ["v_out"])],
        "body",
        [helper.make_tensor_value_info("iter", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v_in", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v_out", TensorProto.FLOAT, [1])],
        initializer=[numpy_helper.from_array(np.ones(1, np.float32), "one")])
    nodes = [
        helper.make_node("Loop", ["trips", "cond", "v0"], ["v_final"], body=body),
        helper.make_node("Flatten", ["x"], ["flat"], axis=1),
        helper.make_node("MatMul", ["flat", "W"], ["proj"]),
        helper.make_node("Add", ["proj", "v_final"], ["emb"]),
    ]
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(np.array(trips, np.int64), "trips"),
             numpy_helper.from_array(np.array(True), "cond"),
             numpy_helper.from_array(np.zeros(1, np.float32), "v0"),
             numpy_helper.from_array(rng.normal(0, 0.01, (3 * h * w, 16)).astype(np.float32), "W")]
    return _save_image_model(path, "looping", nodes, inits, h, w)


def make_hungry_onnx(path: Path, *, gigabytes: float = 3.0, h: int = 32, w: int = 32) -> Path:
    """An image model that builds a ``gigabytes``-sized tensor from its input at run time, then sums it away."""
    from onnx import helper, numpy_helper

    n = int(gigabytes * 2**30 / 4 / (3 * h * w))  # repeats of one image's pixels
    rng = np.random.default_rng(0)
    nodes = [
        helper.make_node("Flatten", ["x"], ["flat"], axis=1),
        helper.make_node("Tile", ["flat", "reps"], ["big"]),  # [N, 3hw * n]
        helper.make_node("ReduceSum", ["big", "axes"], ["total"], keepdims=1),
        helper.make_node("MatMul", ["flat", "W"], ["proj"]),
        helper.make_node("Mul", ["total", "tiny"], ["small"]),
        helper.make_node("Add", ["proj", "small"], ["emb"]),
    ]
    inits = [numpy_helper.from_array(np.array([1, n], np.int64), "reps"),
             numpy_helper.from_array(np.array([1], np.int64), "axes"),
             numpy_helper.from_array(np.array([1e-12], np.float32), "tiny"),
             numpy_helper.from_array(rng.normal(0, 0.01, (3 * h * w, 16)).astype(np.float32), "W")]
    return _save_image_model(path, "hungry", nodes, inits, h, w)


def _save_image_model(path: Path, name: str, nodes, inits, h: int, w: int) -> Path:
    """Save a graph reading ``x`` [N, 3, h, w] and writing ``emb`` [N, 16]."""
    import onnx
    from onnx import TensorProto, helper

    g = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, h, w])],
                          [helper.make_tensor_value_info("emb", TensorProto.FLOAT, ["N", 16])], initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, str(path))
    return path


def make_photo_folder(dest, n_people: int = 158, per_person: int = 10, side: int = 250):
    """``n_people`` x ``per_person`` colour JPEG photos (ORL faces scaled onto a ``side``-pixel canvas, ~10 KB each,
    like a folder of LFW photos), one sub-folder per person."""
    from PIL import Image

    dest = Path(dest)
    orl = sorted((ROOT / "demo" / "orl_faces").glob("s*/*.pgm"))
    k = 0
    for i in range(n_people):
        d = dest / f"person_{i:04d}"
        d.mkdir(parents=True, exist_ok=True)
        for j in range(per_person):
            face = Image.open(orl[k % len(orl)]).convert("RGB").resize((side * 92 // 112, side))
            img = Image.new("RGB", (side, side), ((37 * i) % 255, (91 * j) % 255, 128))
            img.paste(face, ((side - face.width) // 2, 0))
            img.save(d / f"{j:04d}.jpg", quality=88)
            k += 1
    return dest
