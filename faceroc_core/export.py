"""Export a PyTorch model to one self-contained ONNX file and check it against PyTorch.

``torch.onnx.export`` may write the weights to a side ``.onnx.data`` file; the
export is folded back into a single file.  :func:`verify_export` runs PyTorch and
onnxruntime on the same random batch: an export is only used when they agree
within :data:`EXPORT_TOLERANCE`.
"""
from __future__ import annotations

import logging
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ModelError, first_line
from .onnx_io import external_locations, make_session

_logger = logging.getLogger(__name__)

EXPORT_TOLERANCE = 1e-3
DEFAULT_OPSET = 18


@dataclass(frozen=True)
class ExportCheck:
    """PyTorch vs onnxruntime on the same random batch."""

    max_abs_diff: float
    batch: int
    tolerance: float = EXPORT_TOLERANCE

    @property
    def ok(self) -> bool:
        return self.max_abs_diff <= self.tolerance


def export_to_onnx(model, out_path, *, height: int, width: int, opset: int = DEFAULT_OPSET) -> Path:
    """Export ``model`` to a single-file ONNX with a dynamic batch axis.

    Uses the TorchScript exporter (0.7 s for an EfficientNetV2-B0 here, against 7-13 s for the dynamo exporter,
    with the same outputs: both are checked against PyTorch by :func:`verify_export`); falls back to the dynamo
    exporter (weights inside the file) when TorchScript cannot trace the model.
    """
    import torch

    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    dummy = torch.randn(2, 3, height, width)
    errors = []
    with tempfile.TemporaryDirectory(dir=out_path.parent) as tmp:
        tmp_file = Path(tmp) / "model.onnx"
        for dynamo in (False, True):
            try:
                with warnings.catch_warnings(), torch.no_grad():
                    warnings.simplefilter("ignore")
                    kwargs: dict[str, Any] = dict(input_names=["input"], output_names=["embedding"], opset_version=opset, dynamo=dynamo)
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
                errors.append(f"{'dynamo' if dynamo else 'torchscript'}: {first_line(e)}")
                for f in Path(tmp).iterdir():
                    f.unlink() if f.is_file() else shutil.rmtree(f)
    raise ModelError("export to ONNX failed (" + "; ".join(errors) + ")")


def _make_single_file(path: Path) -> None:
    """Fold any external-data side file back into ``path``."""
    import onnx

    m = onnx.load(str(path), load_external_data=False)
    if external_locations(m):
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
