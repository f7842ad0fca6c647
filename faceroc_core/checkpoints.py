"""PyTorch checkpoints: load a state_dict safely and unwrap it.

A ``.pth``/``.pt`` file is read only with ``torch.load(..., weights_only=True)``
(no code in the file runs).  Training checkpoints (``{"epoch": ..., "state_dict":
{...}}`` and the like) are unwrapped, and wrapper prefixes (``module.``,
``_orig_mod.``...) are stripped.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from .errors import ModelError, first_line
from .onnx_io import check_file

_logger = logging.getLogger(__name__)

WRAPPER_KEYS = ("state_dict", "net_state_dict", "model_state_dict", "model", "net", "state_dict_ema", "model_ema", "weights")
STRIP_PREFIXES = ("module.", "_orig_mod.", "model.", "trunk.", "backbone.", "net.", "encoder.")


@dataclass(frozen=True)
class Checkpoint:
    """What a checkpoint file holds that FaceROC uses: its tensors, and its own ``epoch`` entry when it has one."""

    state_dict: dict
    epoch: int | None = None


def load_state_dict(path) -> dict:
    """The tensors of a checkpoint file (:func:`load_checkpoint`)."""
    return load_checkpoint(path).state_dict


def load_checkpoint(path) -> Checkpoint:
    """Load tensors from a ``.pth``/``.pt`` file with ``weights_only=True`` and unwrap it.

    Checkpoint dicts (``{"epoch": ..., "state_dict": {...}}`` and the like) are
    unwrapped; a prefix shared by every key (``module.``, ``model.``,
    ``trunk.``...) is stripped.
    """
    import pickle

    import torch

    path = Path(path)
    check_file(path)
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
    from .epochs import epoch_in_checkpoint

    sd = _unwrap(obj)
    if sd is None:
        raise ModelError("holds no tensors (expected a state_dict: parameter names -> tensors)", path=str(path),
                         hint="save model.state_dict()")
    return Checkpoint(state_dict=_strip_prefixes(sd), epoch=epoch_in_checkpoint(obj))


def _not_torch(path, e: Exception) -> ModelError:
    return ModelError(f"not a PyTorch state_dict file ({first_line(e)})", path=str(path),
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
