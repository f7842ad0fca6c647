"""A checkpoint's epoch, from its file name — or none, never a wrong one.

Recognised (case-insensitive), in this order: ``epoch18`` / ``epoch_18`` / ``epoch-18`` / ``epoch=18`` (not right
after a number: ``169epoch_512d`` is epoch 169), ``169epoch``, ``_ep60`` /
``-ep60``, ``e018`` (an ``e`` and three or more digits, standing alone), and a trailing ``-18`` / ``_18`` before the
extension when the rest of the name is not a number.  A bare number elsewhere in the name (``my_23_best_model``,
``11%_my_24_best_model``) is a run or trial number as often as an epoch: no epoch.
"""
from __future__ import annotations

import re
from pathlib import Path

_PATTERNS = (
    re.compile(r"(?:^|[^a-z0-9])epoch[=_-]?(\d{1,6})(?!\d)", re.I),
    re.compile(r"(?<!\d)(\d{1,6})[_-]?epochs?(?:[^a-z]|$)", re.I),
    re.compile(r"(?:^|[_-])ep[_-]?(\d{1,6})(?!\d)", re.I),
    re.compile(r"(?:^|[_-])e(\d{3,6})(?:[_-]|$)", re.I),
)
_TRAILING = re.compile(r"^(?P<stem>.*[a-z].*?)[_-](?P<n>\d{1,6})$", re.I)


def epoch_of(name: str | Path) -> int | None:
    """The epoch in a checkpoint's file name (module text), or None.

    >>> [epoch_of(n) for n in ("best_model_169epoch_512diml.pth", "my_23_best_model.pth",
    ...                         "11%_my_24_best_model.pth", "A_epoch06.onnx", "run-e018.pth", "model_ep60.pth",
    ...                         "checkpoint-18.pth", "resnet50.pth")]
    [169, None, None, 6, 18, 60, 18, None]
    """
    stem = Path(str(name)).name
    for suffix in (".onnx", ".pth", ".pt", ".ckpt", ".bin"):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    for p in _PATTERNS:
        m = p.search(stem)
        if m:
            return int(m.group(1))
    m = _TRAILING.match(stem)
    if m and not re.search(r"\d", m.group("stem").split("_")[-1].split("-")[-1]):
        # "checkpoint-18": a word then the number; "resnet-50"-like architecture names are kept out below
        if not re.search(r"(resnet|vit|efficientnet|mobilenet|convnext|iresnet|r)$", m.group("stem"), re.I):
            return int(m.group("n"))
    return None


def epoch_in_checkpoint(obj) -> int | None:
    """The ``epoch`` entry of a loaded checkpoint dict (``{"epoch": 68, "state_dict": ...}``), when it is a
    whole number."""
    if isinstance(obj, dict):
        v = obj.get("epoch")
        if isinstance(v, int) and not isinstance(v, bool) and v >= 0:
            return v
        try:
            import torch

            if isinstance(v, torch.Tensor) and v.numel() == 1 and not v.is_floating_point():
                return int(v.item())
        except ImportError:
            return None
    return None
