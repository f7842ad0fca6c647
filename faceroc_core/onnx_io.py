"""ONNX files: inspect what a model takes and gives, make runtime sessions, inline external data.

Everything here reads the file and reports what is in it (never guessed): the
data input (unread and initializer-backed inputs are ignored), its layout,
size and batch, the embedding output and its size.  A model onnxruntime
cannot run (block-quantised files) is run by OpenCV's DNN module instead.
Model files are size-checked by :func:`check_file` before anything reads them.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .errors import ModelError, first_line

_logger = logging.getLogger(__name__)

MAX_MODEL_BYTES = 2 * 1024**3
ONNX_SUFFIXES = (".onnx",)
TORCH_SUFFIXES = (".pth", ".pt", ".bin", ".ckpt")


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


def check_file(path: Path) -> None:
    """Refuse a model file that is missing, empty or over :data:`MAX_MODEL_BYTES`, naming it."""
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


def external_locations(model) -> list[str]:
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
    real: list = []
    ignored: list = []
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
        raise ModelError(f"onnxruntime cannot load it ({first_line(e)})", path=str(onnx_path),
                         hint="re-export the model (opset 13-20) and check it with onnx.checker") from None


@dataclass(frozen=True)
class SessionArg:
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

        self._inputs = [SessionArg(i.name, dims(i)) for i in model.graph.input if i.name in real]
        self._outputs = [SessionArg(o.name, dims(o)) for o in model.graph.output]
        try:
            self._net = cv2.dnn.readNetFromONNX(str(onnx_path))
        except cv2.error as e:
            raise ModelError(f"neither onnxruntime nor OpenCV can load it ({first_line(e)})", path=str(onnx_path),
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
    check_file(path)
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as e:
        raise ModelError(f"not a valid ONNX file ({first_line(e)})", path=str(path),
                         hint="upload the .onnx file written by torch.onnx.export or another exporter") from None
    locs = external_locations(model)
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
        raise ModelError(f"onnx.checker rejects it ({first_line(e)})", path=str(path),
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
        raise ModelError(f"fails on a {list(dummy_shape)} input ({first_line(e)})", path=str(path),
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
        raise ModelError(f"not a valid ONNX file ({first_line(e)})", path=source,
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
