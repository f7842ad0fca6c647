"""Models: inspect ONNX files, load PyTorch state_dicts safely, infer their timm
architecture, export them to a single-file ONNX and check the export.

A ``.pth``/``.pt`` file is read only with ``torch.load(..., weights_only=True)``.
Its architecture is a timm backbone whose classifier head is an
``nn.Linear(in_features, embedding_dim)`` (``timm.create_model(name,
pretrained=False, num_classes=embedding_dim)`` builds exactly that).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from .cache import default_cache_dir
from .errors import ModelError
from .images import file_hash

_logger = logging.getLogger(__name__)

MAX_MODEL_BYTES = 2 * 1024**3
ONNX_SUFFIXES = (".onnx",)
TORCH_SUFFIXES = (".pth", ".pt", ".bin", ".ckpt")
WRAPPER_KEYS = ("state_dict", "net_state_dict", "model_state_dict", "model", "net", "state_dict_ema", "model_ema", "weights")
STRIP_PREFIXES = ("module.", "_orig_mod.", "model.", "trunk.", "backbone.", "net.", "encoder.")
HEAD_NAMES = ("classifier", "fc", "head.fc", "head", "last_linear")
FAMILIES = ("efficientnet*", "tf_efficientnet*", "resnet*", "mobilenetv3*", "tf_mobilenetv3*", "convnext*")
EXPORT_TOLERANCE = 1e-3
DEFAULT_OPSET = 18


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class OnnxInfo:
    """What was read from an ONNX file (never guessed)."""

    input_name: str
    input_shape: tuple  # ints, or strings / None for dynamic axes
    layout: str  # "NCHW" or "NHWC"
    height: int | None  # None when dynamic
    width: int | None
    fixed_batch: int | None  # e.g. 1 when the model only takes batches of 1
    output_name: str
    embedding_dim: int
    n_parameters: int
    opset: int | None
    external_data: tuple[str, ...] = ()
    channels: int = 3  # 1: the model takes grey images
    ignored_inputs: tuple[str, ...] = ()  # declared graph inputs that no node reads (left unfed)
    runtime: str = "onnxruntime"  # or "opencv": onnxruntime cannot run it, OpenCV's DNN module can

    def describe(self) -> str:
        size = f"{self.height}x{self.width}" if self.height and self.width else "any size"
        batch = f"batch fixed at {self.fixed_batch}" if self.fixed_batch else "dynamic batch"
        grey = ", grey" if self.channels == 1 else ""
        text = (f"input {self.input_name} {list(self.input_shape)} ({self.layout}{grey}, {size}, {batch}) → "
                f"{self.output_name} [{self.embedding_dim}] · {self.n_parameters:,} parameters")
        if self.ignored_inputs:
            text += f" · {len(self.ignored_inputs)} unused declared input(s) ignored"
        if self.runtime == "opencv":
            text += " · run by OpenCV (onnxruntime cannot run it)"
        return text


@dataclass(frozen=True)
class ExportCheck:
    """PyTorch vs onnxruntime on the same random batch."""

    max_abs_diff: float
    batch: int
    tolerance: float = EXPORT_TOLERANCE

    @property
    def ok(self) -> bool:
        return self.max_abs_diff <= self.tolerance


@dataclass(frozen=True)
class ArchMatch:
    """Result of matching a state_dict against timm architectures."""

    arch: str
    head: str | None  # key prefix of the head Linear, e.g. "classifier"
    in_features: int | None
    embedding_dim: int
    also: tuple[str, ...] = ()  # other architectures with identical weights layout


@dataclass(frozen=True)
class PreparedModel:
    """A model ready to run: an ONNX file plus what is known about it."""

    name: str
    source: str  # the file the user gave
    kind: str  # "onnx" or "pth"
    onnx_path: Path
    sha256: str
    info: OnnxInfo
    arch: str | None = None
    export_check: ExportCheck | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def identity(self) -> str:
        """What the model's outputs depend on, for caches: the file's content and, for a ``.pth``, the
        architecture, embedding size and export size it was built with (all in the export's file name)."""
        return self.sha256 if self.kind == "onnx" else f"{self.sha256}|{self.onnx_path.name}"


# --------------------------------------------------------------------------- ONNX
def _check_file(path: Path, suffixes: tuple[str, ...] | None = None) -> None:
    if not path.exists():
        raise ModelError("file not found", path=str(path))
    if not path.is_file():
        raise ModelError("not a file", path=str(path))
    size = path.stat().st_size
    if size == 0:
        raise ModelError("empty file", path=str(path), hint="upload the model again")
    if size > MAX_MODEL_BYTES:
        raise ModelError(f"{size / 2**30:.1f} GB is more than the {MAX_MODEL_BYTES // 2**30} GB limit", path=str(path))


def _all_tensors(model) -> list:
    """Every weight tensor of a model: initializers and the values of Constant-style node attributes."""
    tensors = list(model.graph.initializer)
    for node in model.graph.node:
        for a in node.attribute:
            if a.HasField("t"):
                tensors.append(a.t)
    return tensors


def _external_locations(model) -> list[str]:
    from onnx import TensorProto

    locs = []
    for t in _all_tensors(model):
        if t.data_location == TensorProto.EXTERNAL:
            for kv in t.external_data:
                if kv.key == "location" and kv.value not in locs:
                    locs.append(kv.value)
    return locs


def _count_parameters(model) -> int:
    return sum(int(np.prod(t.dims)) if len(t.dims) else 1 for t in _all_tensors(model))


def _graph_reads(graph, out: set[str] | None = None) -> set[str]:
    """Every value name a node of ``graph`` (or of its subgraphs) reads, and the graph's outputs."""
    out = set() if out is None else out
    out.update(o.name for o in graph.output)
    for node in graph.node:
        out.update(node.input)
        for a in node.attribute:
            if a.HasField("g"):
                _graph_reads(a.g, out)
            for g in a.graphs:
                _graph_reads(g, out)
    return out


def data_inputs(model) -> tuple[list[str], list[str]]:
    """(inputs the model really takes, declared inputs that are ignored).

    A graph input that has an initializer is a constant (older exports, IR < 4,
    list every weight as an input); one that no node reads is left unfed
    (OpenCV Zoo's quantised SFace declares 29 such inputs).
    """
    init = {t.name for t in model.graph.initializer}
    reads = _graph_reads(model.graph)
    real, ignored = [], []
    for i in model.graph.input:
        if i.name in init:
            continue
        (real if i.name in reads else ignored).append(i.name)
    return real, ignored


def _dim(d):
    return d if isinstance(d, int) and d > 0 else (d if isinstance(d, str) else None)


def make_session(onnx_path, *, providers: list[str] | None = None, threads: int | None = None,
                 runtime: str = "onnxruntime"):
    """An onnxruntime session for ``onnx_path`` (CPU unless other providers are asked for), or with
    ``runtime="opencv"`` an :class:`OpenCVSession`.

    Declared inputs that no node reads (see :func:`data_inputs`) would still be
    demanded by onnxruntime at every run; for such a model the session is built
    from an in-memory copy without them (the file is left as it is).
    """
    if runtime == "opencv":
        return OpenCVSession(onnx_path)
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 4  # its errors reach the user as exceptions, with the reason
    if threads:
        so.intra_op_num_threads = threads
    providers = providers or ["CPUExecutionProvider"]
    ort.set_default_logger_severity(4)  # graph-cleaning chatter and error logs on stderr are not for users
    try:
        sess = ort.InferenceSession(str(onnx_path), sess_options=so, providers=providers)
        if len(sess.get_inputs()) > 1:
            stripped = _without_ignored_inputs(onnx_path)
            if stripped is not None:
                sess = ort.InferenceSession(stripped, sess_options=so, providers=providers)
        return sess
    except Exception as e:  # onnxruntime raises its own exception types
        raise ModelError(f"onnxruntime cannot load it ({_first_line(e)})", path=str(onnx_path),
                         hint="re-export the model (opset 13-20) and check it with onnx.checker") from None


@dataclass(frozen=True)
class _Arg:
    """An input or output as onnxruntime describes it (name, shape, type)."""

    name: str
    shape: list
    type: str = "tensor(float)"


class OpenCVSession:
    """onnxruntime's session interface (``get_inputs``, ``get_outputs``, ``run``) over OpenCV's DNN module.

    For published models that onnxruntime cannot run but OpenCV can, as the OpenCV
    Zoo's block-quantised int8 files (onnxruntime: "block_size must be 0 for
    per-tensor quantization").  Not thread-safe: one run at a time, as FaceROC runs it.
    """

    def __init__(self, onnx_path):
        import cv2
        import onnx

        model = onnx.load(str(onnx_path), load_external_data=False)
        real, _ = data_inputs(model)

        def dims(vi):
            return [d.dim_value if d.HasField("dim_value") else (d.dim_param or None)
                    for d in vi.type.tensor_type.shape.dim]

        self._inputs = [_Arg(i.name, dims(i)) for i in model.graph.input if i.name in real]
        self._outputs = [_Arg(o.name, dims(o)) for o in model.graph.output]
        try:
            self._net = cv2.dnn.readNetFromONNX(str(onnx_path))
        except cv2.error as e:
            raise ModelError(f"neither onnxruntime nor OpenCV can load it ({_first_line(e)})", path=str(onnx_path),
                             hint="re-export the model (opset 13-20) and check it with onnx.checker") from None

    def get_inputs(self):
        return list(self._inputs)

    def get_outputs(self):
        return list(self._outputs)

    def run(self, output_names, feed):
        for name, x in feed.items():
            self._net.setInput(np.ascontiguousarray(x, dtype=np.float32), name)
        names = list(output_names or [o.name for o in self._outputs])
        outs = self._net.forward(names)
        return [np.asarray(o) for o in outs]


def _without_ignored_inputs(onnx_path) -> bytes | None:
    """The model's bytes without its unread declared inputs, or None when it has none."""
    import onnx

    model = onnx.load(str(onnx_path))
    _, ignored = data_inputs(model)
    if not ignored:
        return None
    _logger.info("%s: leaving %d unread declared inputs unfed", Path(onnx_path).name, len(ignored))
    keep = [i for i in model.graph.input if i.name not in set(ignored)]
    del model.graph.input[:]
    model.graph.input.extend(keep)
    return model.SerializeToString()


def _first_line(e: Exception) -> str:
    text = str(e).strip().splitlines()
    return (text[0] if text else type(e).__name__)[:300]


def inspect_onnx(path, *, session=None, keep: dict | None = None) -> OnnxInfo:
    """Check an ONNX file and read its input/output description.

    The image input is the one input of rank 4 that the graph reads and that
    is not a constant (see :func:`data_inputs`), with 3 (colour) or 1 (grey)
    channels; the embedding output is the first output whose non-batch
    dimensions multiply to the embedding size (a dummy run settles dynamic
    shapes).  A model onnxruntime cannot load or run is tried with OpenCV
    (``info.runtime == "opencv"``).  When ``keep`` is a dict, the session that
    worked is stored there under the path, for the embedding step to reuse.
    """
    import onnx

    path = Path(path)
    _check_file(path)
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as e:
        raise ModelError(f"not a valid ONNX file ({_first_line(e)})", path=str(path),
                         hint="upload the .onnx file written by torch.onnx.export or another exporter") from None
    locs = _external_locations(model)
    for loc in locs:
        if os.path.basename(loc) != loc or loc in ("", ".", ".."):
            raise ModelError(f"external weights path {loc!r} is not a plain file name", path=str(path),
                             hint="re-export with the weights inside the file (external_data=False)")
        if not (path.parent / loc).is_file():
            raise ModelError(f"its weights are in a side file {loc!r} that is missing", path=str(path),
                             hint=f"put {loc} next to the model (upload it together with the .onnx)")
    try:
        onnx.checker.check_model(str(path))
    except Exception as e:
        raise ModelError(f"onnx.checker rejects it ({_first_line(e)})", path=str(path),
                         hint="re-export the model") from None
    try:
        sess = session or make_session(path)
        info = _describe(sess, model, path, locs)
    except ModelError as ort_error:  # as published models load: what onnxruntime cannot run, OpenCV may
        try:
            sess = make_session(path, runtime="opencv")
            info = replace(_describe(sess, model, path, locs), runtime="opencv")
        except Exception:
            raise ort_error from None
        _logger.info("%s: onnxruntime cannot run it (%s); OpenCV can", path.name, ort_error.reason)
    if keep is not None:
        keep[str(path)] = sess
    return info


def _describe(sess, model, path: Path, locs) -> OnnxInfo:
    """The :class:`OnnxInfo` of a model through a session, proven by one dummy run."""
    real, ignored = data_inputs(model)
    inputs = [i for i in sess.get_inputs() if i.name in real]
    image_inputs = [i for i in inputs if len(i.shape) == 4 and "float" in i.type]
    if len(image_inputs) != 1 or len(inputs) != 1:
        desc = ", ".join(f"{i.name}{list(i.shape)}" for i in inputs) or "none"
        raise ModelError(f"expects inputs {desc}; FaceROC needs exactly one float image input of rank 4",
                         path=str(path), hint="export the model with the image as its only input")
    inp = image_inputs[0]
    shape = tuple(_dim(d) for d in inp.shape)
    c1, c3 = shape[1], shape[3]
    if c1 in (1, 3):
        layout, channels, h, w = "NCHW", c1, shape[2], shape[3]
    elif c3 in (1, 3):
        layout, channels, h, w = "NHWC", c3, shape[1], shape[2]
    elif isinstance(c1, int) or isinstance(c3, int):
        raise ModelError(f"input {inp.name} {list(inp.shape)} has no 1- or 3-channel axis; FaceROC feeds colour "
                         f"or grey images", path=str(path))
    else:
        layout, channels, h, w = "NCHW", 3, shape[2], shape[3]
    h = h if isinstance(h, int) else None
    w = w if isinstance(w, int) else None
    fixed_batch = shape[0] if isinstance(shape[0], int) else None
    # dummy run: proves the model runs and gives the embedding size
    dh, dw = h or 112, w or 112
    dummy_shape = (fixed_batch or 1, channels, dh, dw) if layout == "NCHW" else (fixed_batch or 1, dh, dw, channels)
    try:
        outs = sess.run(None, {inp.name: np.zeros(dummy_shape, np.float32)})
    except Exception as e:
        raise ModelError(f"fails on a {list(dummy_shape)} input ({_first_line(e)})", path=str(path),
                         hint="give the input size the model expects (--size HxW)" if not (h and w) else None) from None
    out_meta = sess.get_outputs()
    pick = None
    for meta, arr in zip(out_meta, outs):
        if isinstance(arr, np.ndarray) and arr.ndim >= 2 and np.issubdtype(arr.dtype, np.floating):
            flat = int(np.prod(arr.shape[1:]))
            if flat >= 2:
                pick = (meta.name, flat)
                break
    if pick is None:
        desc = ", ".join(f"{o.name}{list(o.shape)}" for o in out_meta)
        raise ModelError(f"no embedding output among {desc}", path=str(path))
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    return OnnxInfo(
        input_name=inp.name, input_shape=shape, layout=layout, height=h, width=w, fixed_batch=fixed_batch,
        output_name=pick[0], embedding_dim=pick[1], n_parameters=_count_parameters(model), opset=opset,
        external_data=tuple(locs), channels=channels, ignored_inputs=tuple(ignored),
    )


def inline_external_data(model_bytes: bytes, side_files: dict[str, bytes], *, source: str = "model.onnx") -> bytes:
    """Fold uploaded external-data side files into a single-file ONNX (in memory).

    ``side_files`` maps the uploaded side files' names to their bytes; a
    tensor's ``location`` is only compared with those names, never opened.
    """
    import onnx
    from onnx import TensorProto

    try:
        model = onnx.load_from_string(model_bytes)
    except Exception as e:
        raise ModelError(f"not a valid ONNX file ({_first_line(e)})", path=source,
                         hint="upload the .onnx file written by torch.onnx.export or another exporter") from None
    by_base = {os.path.basename(k.replace("\\", "/")): v for k, v in side_files.items()}
    for t in _all_tensors(model):
        if t.data_location != TensorProto.EXTERNAL:
            continue
        info = {kv.key: kv.value for kv in t.external_data}
        loc = info.get("location", "")
        blob = by_base.get(os.path.basename(loc))
        if blob is None:
            raise ModelError(f"its weights are in a side file {loc!r} that was not uploaded", path=source,
                             hint=f"upload {os.path.basename(loc)} together with the .onnx")
        off, length = int(info.get("offset", 0) or 0), info.get("length")
        end = off + int(length) if length else len(blob)
        if end > len(blob):
            raise ModelError(f"side file {loc!r} is shorter than the model expects ({len(blob)} < {end} bytes)",
                             path=source, hint="upload the complete .onnx.data file")
        t.raw_data = blob[off:end]
        del t.external_data[:]
        t.data_location = TensorProto.DEFAULT
    return model.SerializeToString()


def model_hash(path) -> str:
    """SHA-256 of the model file and, for ONNX, of its external-data side files."""
    path = Path(path)
    h = hashlib.sha256(file_hash(path).encode())
    if path.suffix.lower() in ONNX_SUFFIXES:
        try:
            import onnx

            for loc in sorted(_external_locations(onnx.load(str(path), load_external_data=False))):
                side = path.parent / os.path.basename(loc)
                if side.is_file():
                    h.update(file_hash(side).encode())
        except Exception:
            pass
    return h.hexdigest()


# --------------------------------------------------------------------------- state_dicts
def load_state_dict(path) -> dict:
    """Load tensors from a ``.pth``/``.pt`` file with ``weights_only=True`` and unwrap it.

    Checkpoint dicts (``{"epoch": ..., "state_dict": {...}}`` and the like) are
    unwrapped; a prefix shared by every key (``module.``, ``model.``,
    ``trunk.``...) is stripped.
    """
    import pickle

    import torch

    path = Path(path)
    _check_file(path)
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        with open(path, "rb") as f:
            head = f.read(4)
        if not (head.startswith(b"PK\x03\x04") or head.startswith(b"\x80")):  # neither torch zip nor pickle
            raise _not_torch(path, e) from None
        raise ModelError("holds Python objects other than tensors, which FaceROC does not load (weights_only=True)",
                         path=str(path),
                         hint="save model.state_dict() (torch.save(model.state_dict(), 'model.pth')) or upload an ONNX export") from None
    except Exception as e:
        raise _not_torch(path, e) from None
    sd = _unwrap(obj)
    if sd is None:
        raise ModelError("holds no tensors (expected a state_dict: parameter names -> tensors)", path=str(path),
                         hint="save model.state_dict()")
    return _strip_prefixes(sd)


def _not_torch(path, e: Exception) -> ModelError:
    return ModelError(f"not a PyTorch state_dict file ({_first_line(e)})", path=str(path),
                      hint="upload a file written by torch.save(model.state_dict(), ...) or an .onnx")


def _is_tensor_dict(d) -> bool:
    import torch

    return isinstance(d, dict) and len(d) > 0 and all(isinstance(k, str) for k in d) and \
        sum(isinstance(v, torch.Tensor) for v in d.values()) >= max(1, len(d) // 2)


def _unwrap(obj):
    import torch

    if _is_tensor_dict(obj) and not any(k in obj for k in WRAPPER_KEYS if isinstance(obj.get(k), dict)):
        return {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    if isinstance(obj, dict):
        for k in WRAPPER_KEYS:
            inner = obj.get(k)
            if isinstance(inner, dict):
                got = _unwrap(inner)
                if got:
                    return got
    return None


def _strip_prefixes(sd: dict) -> dict:
    changed = True
    while changed:
        changed = False
        for p in STRIP_PREFIXES:
            if sd and all(k.startswith(p) for k in sd):
                sd = {k[len(p):]: v for k, v in sd.items()}
                changed = True
    return sd


def _is_bookkeeping(key: str) -> bool:
    return key.endswith("num_batches_tracked")


def _signature(shapes: dict[str, tuple]) -> str:
    lines = sorted(f"{k}:{','.join(map(str, s))}" for k, s in shapes.items() if not _is_bookkeeping(k))
    return hashlib.sha1("\n".join(lines).encode()).hexdigest()


def _timm_body_shapes(arch: str) -> tuple[dict[str, tuple], str | None, int]:
    """Key -> shape of ``arch`` without its classifier; the classifier's key prefix; its in_features."""
    import timm
    import torch

    with torch.device("meta"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = timm.create_model(arch, pretrained=False, num_classes=1)
    head = (getattr(m, "pretrained_cfg", None) or {}).get("classifier")
    clf = m.get_classifier()
    in_features = int(getattr(clf, "in_features", 0) or m.num_features)
    shapes = {k: tuple(v.shape) for k, v in m.state_dict().items()
              if not (head and k in (f"{head}.weight", f"{head}.bias"))}
    return shapes, head, in_features


def _index_path() -> Path:
    import timm

    return Path(__file__).with_name("data") / f"timm_index_{timm.__version__}.json"


def build_arch_index(families=FAMILIES) -> dict:
    """Map body signature -> [(arch, head, in_features), ...] over the timm families FaceROC matches."""
    import timm

    names = sorted(set(timm.list_models(list(families))))
    index: dict[str, list] = {}
    for name in names:
        try:
            shapes, head, nf = _timm_body_shapes(name)
        except Exception:
            continue
        index.setdefault(_signature(shapes), []).append([name, head, nf])
    return {"timm": timm.__version__, "families": list(families), "n_archs": len(names), "index": index}


@lru_cache(maxsize=1)
def arch_index() -> dict:
    """The signature index shipped with FaceROC for the installed timm; built (seconds) when missing."""
    p = _index_path()
    if p.is_file():
        try:
            return json.loads(p.read_text())
        except (OSError, ValueError):
            pass
    idx = build_arch_index()
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps(idx))
    except OSError:
        pass
    return idx


def _arch_preference(name: str) -> tuple:
    return (name.startswith("tf_"), "." in name, len(name), name)


def _head_candidates(sd: dict) -> list[tuple[str | None, dict]]:
    """(head prefix, body shapes) for every way of taking a Linear head off ``sd``."""
    shapes = {k: tuple(v.shape) for k, v in sd.items()}
    out: list[tuple[str | None, dict]] = []
    for head in HEAD_NAMES:
        w = shapes.get(f"{head}.weight")
        if w is not None and len(w) == 2:
            body = {k: s for k, s in shapes.items() if k not in (f"{head}.weight", f"{head}.bias")}
            out.append((head, body))
    out.append((None, shapes))
    return out


def infer_architecture(sd: dict, *, source: str = "") -> ArchMatch:
    """Find the timm architecture whose weights have exactly ``sd``'s names and shapes."""
    idx = arch_index()["index"]
    for head, body in _head_candidates(sd):
        hits = idx.get(_signature(body))
        if not hits:
            continue
        hits = [h for h in hits if h[1] == head or (head is None)]
        if not hits:
            continue
        hits.sort(key=lambda h: _arch_preference(h[0]))
        arch, h_name, nf = hits[0]
        if head is not None:
            emb, in_f = tuple(sd[f"{head}.weight"].shape)
            if in_f != nf:
                continue
        else:
            emb = nf
        return ArchMatch(arch=arch, head=head, in_features=nf, embedding_dim=int(emb),
                         also=tuple(h[0] for h in hits[1:]))
    n = len([k for k in sd if not _is_bookkeeping(k)])
    sample = ", ".join(list(sd)[:3])
    raise ModelError(
        f"its {n} weights (e.g. {sample}) match no timm architecture FaceROC knows "
        f"(EfficientNet, EfficientNetV2, ResNet, MobileNetV3, ConvNeXt families); it looks like a network defined outside timm",
        path=source or None,
        hint="export it to ONNX with the code that defines it (torch.onnx.export) and upload the .onnx, "
             "or give the timm name if it is a timm model",
    )


def build_timm_model(sd: dict, *, arch: str, embedding_dim: int | None = None, source: str = ""):
    """Build ``arch`` with a Linear head of the state_dict's size, load ``sd`` strictly, eval mode."""
    import timm

    if arch not in timm.list_models():
        close = timm.list_models(f"*{arch.split('_')[0]}*")[:5]
        raise ModelError(f"unknown timm architecture {arch!r}", path=source or None,
                         hint=f"similar names: {', '.join(close)}" if close else "see timm.list_models()")
    _, head, nf = _timm_body_shapes(arch)
    w = sd.get(f"{head}.weight") if head else None
    emb_from_sd = int(w.shape[0]) if w is not None and w.ndim == 2 else None
    if embedding_dim is not None and emb_from_sd is not None and embedding_dim != emb_from_sd:
        raise ModelError(f"embedding size {embedding_dim} was given but the head {head}.weight is {tuple(w.shape)}",
                         path=source or None, hint=f"use embedding size {emb_from_sd} or leave it empty")
    num_classes = emb_from_sd if emb_from_sd is not None else (embedding_dim or 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = timm.create_model(arch, pretrained=False, num_classes=num_classes)
    expected = model.state_dict()
    missing = [k for k in expected if k not in sd and not _is_bookkeeping(k)]
    unexpected = [k for k in sd if k not in expected]
    wrong = [f"{k} {tuple(sd[k].shape)} vs {tuple(v.shape)}" for k, v in expected.items()
             if k in sd and tuple(sd[k].shape) != tuple(v.shape)]
    if missing or unexpected or wrong:
        parts = []
        for label, items in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong)):
            if items:
                more = f" (+{len(items) - 4} more)" if len(items) > 4 else ""
                parts.append(f"{label}: {', '.join(items[:4])}{more}")
        raise ModelError(f"state_dict does not fit {arch}: " + "; ".join(parts), path=source or None,
                         hint="choose the architecture the model was trained with")
    model.load_state_dict({k: v for k, v in sd.items()}, strict=False)
    model.eval()
    return model


# --------------------------------------------------------------------------- export
def export_to_onnx(model, out_path, *, height: int, width: int, opset: int = DEFAULT_OPSET) -> Path:
    """Export ``model`` to a single-file ONNX with a dynamic batch axis.

    Uses the dynamo exporter with the weights inside the file; falls back to
    the TorchScript exporter if dynamo cannot trace the model.
    """
    import torch

    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    dummy = torch.randn(2, 3, height, width)
    errors = []
    with tempfile.TemporaryDirectory(dir=out_path.parent) as tmp:
        tmp_file = Path(tmp) / "model.onnx"
        for dynamo in (True, False):
            try:
                with warnings.catch_warnings(), torch.no_grad():
                    warnings.simplefilter("ignore")
                    kwargs = dict(input_names=["input"], output_names=["embedding"], opset_version=opset, dynamo=dynamo)
                    if dynamo:
                        kwargs.update(dynamic_shapes=({0: torch.export.Dim("batch", min=1, max=4096)},),
                                      external_data=False, verbose=False)
                    else:
                        kwargs.update(dynamic_axes={"input": {0: "batch"}, "embedding": {0: "batch"}})
                    torch.onnx.export(model, (dummy,), str(tmp_file), **kwargs)
                _make_single_file(tmp_file)
                os.replace(tmp_file, out_path)
                return out_path
            except Exception as e:
                errors.append(f"{'dynamo' if dynamo else 'torchscript'}: {_first_line(e)}")
                for f in Path(tmp).iterdir():
                    f.unlink() if f.is_file() else shutil.rmtree(f)
    raise ModelError("export to ONNX failed (" + "; ".join(errors) + ")")


def _make_single_file(path: Path) -> None:
    """Fold any external-data side file back into ``path``."""
    import onnx

    m = onnx.load(str(path), load_external_data=False)
    if _external_locations(m):
        m = onnx.load(str(path), load_external_data=True)
        onnx.save_model(m, str(path), save_as_external_data=False)
        for f in path.parent.iterdir():
            if f != path and f.is_file():
                f.unlink()


def verify_export(model, onnx_path, *, height: int, width: int, batch: int = 3, seed: int = 0) -> ExportCheck:
    """Max absolute difference between PyTorch and onnxruntime on a random batch."""
    import torch

    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, 3, height, width, generator=g)
    with torch.no_grad():
        ref = model(x).numpy()
    sess = make_session(onnx_path)
    got = sess.run(None, {sess.get_inputs()[0].name: x.numpy()})[0]
    if got.shape != ref.shape:
        raise ModelError(f"ONNX output shape {got.shape} differs from PyTorch's {ref.shape}", path=str(onnx_path))
    return ExportCheck(max_abs_diff=float(np.max(np.abs(got.astype(np.float64) - ref.astype(np.float64)))), batch=batch)


# --------------------------------------------------------------------------- entry point
def _export_checked(path: str, arch: str, embedding_dim: int | None, onnx_path: str, h: int, w: int) -> ExportCheck:
    """In a worker: load the state_dict, build the timm model, export it to ONNX and check it against PyTorch."""
    model = build_timm_model(load_state_dict(path), arch=arch, embedding_dim=embedding_dim, source=path)
    export_to_onnx(model, onnx_path, height=h, width=w)
    return verify_export(model, onnx_path, height=h, width=w)


def _inspect_guarded(path: Path, sessions: dict | None, limits) -> OnnxInfo:
    from .worker import GuardedSession

    gs = GuardedSession(path, limits=limits)
    if sessions is not None:
        sessions[str(path)] = gs
    else:
        gs.close()
    return gs.info


def prepare_model(path, *, name: str | None = None, arch: str | None = None, embedding_dim: int | None = None,
                  size: tuple[int, int] | None = None, cache_dir=None, progress=None,
                  sessions: dict | None = None, limits=None) -> PreparedModel:
    """Turn a model file into a :class:`PreparedModel` (exporting ``.pth`` files, cached by content hash).

    The ONNX model is inspected in a guarded worker process
    (:class:`faceroc_core.worker.GuardedSession`, under ``limits``).  When
    ``sessions`` is a dict, that worker is kept there under the ONNX path, for
    the embedding step to reuse; otherwise it is closed.
    """
    path = Path(path)
    _check_file(path)
    display = name or path.stem
    suffix = path.suffix.lower()
    if suffix in ONNX_SUFFIXES:
        info = _inspect_guarded(path, sessions, limits)
        if embedding_dim is not None and embedding_dim != info.embedding_dim:
            raise ModelError(f"embedding size {embedding_dim} was given but the model outputs {info.embedding_dim}",
                             path=str(path))
        return PreparedModel(name=display, source=str(path), kind="onnx", onnx_path=path, sha256=model_hash(path),
                             info=info)
    if suffix not in TORCH_SUFFIXES:
        raise ModelError(f"unsupported model file type {suffix or '(none)'}", path=str(path),
                         hint="upload an .onnx export or a PyTorch state_dict (.pth/.pt)")
    sha = file_hash(path)
    sd = load_state_dict(path)
    notes: list[str] = []
    if arch is None:
        match = infer_architecture(sd, source=str(path))
        arch = match.arch
        notes.append(f"architecture inferred from the weights: {arch}")
        if match.also:
            notes.append(f"the weights also fit {', '.join(match.also[:4])}; choose one if {arch} is wrong")
    h, w = size or (224, 224)
    if size is None:
        notes.append("input size not given: exported at 224x224 (timm's default); set the size the model was trained at")
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    emb_tag = embedding_dim if embedding_dim is not None else "auto"
    stem = f"{sha[:20]}_{arch}_{emb_tag}_{h}x{w}"
    onnx_path = cache_dir / "exports" / f"{stem}.onnx"
    meta_path = onnx_path.with_suffix(".json")
    check = None
    if onnx_path.is_file() and meta_path.is_file():
        try:
            meta = json.loads(meta_path.read_text())
            check = ExportCheck(max_abs_diff=float(meta["max_abs_diff"]), batch=int(meta["batch"]))
        except (OSError, ValueError, KeyError, TypeError):
            check = None
    if check is None:
        if progress:
            progress("export", 0, 1, display)
        from .worker import run_guarded

        # built, exported and checked in a guarded worker: the state_dict decides how big the network is
        check = run_guarded(_export_checked, (str(path), arch, embedding_dim, str(onnx_path), h, w), limits=limits,
                            path=str(path), imports=("torch", "timm", "onnxscript"))
        if not check.ok:
            onnx_path.unlink(missing_ok=True)
            raise ModelError(f"ONNX export disagrees with PyTorch (max abs difference {check.max_abs_diff:.2e} > "
                             f"{EXPORT_TOLERANCE:g})", path=str(path), hint="upload an ONNX export made by your own code")
        meta_path.write_text(json.dumps({"max_abs_diff": check.max_abs_diff, "batch": check.batch, "arch": arch}))
        if progress:
            progress("export", 1, 1, display)
    info = _inspect_guarded(onnx_path, sessions, limits)
    return PreparedModel(name=display, source=str(path), kind="pth", onnx_path=onnx_path, sha256=sha, info=info,
                         arch=arch, export_check=check, notes=tuple(notes))
