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
    return _find(name)[0]


def run_stem(name: str | Path) -> str:
    """A checkpoint's file name without its extension and its epoch: what the checkpoints of one training run
    share (``run3_epoch18.pth`` and ``run3_epoch60.pth``: ``run3``).

    >>> [run_stem(n) for n in ("run3_epoch18.pth", "run3-e060.pth", "best_model_169epoch_512diml.pth", "last.pth")]
    ['run3', 'run3', 'best_model_512diml', 'last']
    """
    stem, span = _find(name)[1:]
    if span is not None:
        stem = stem[: span[0]] + "_" + stem[span[1]:]
    return re.sub(r"[_\-. ]+", "_", stem).strip("_").lower()


def _find(name: str | Path) -> tuple[int | None, str, tuple[int, int] | None]:
    """(epoch, the name without its extension, where the epoch is in it)."""
    stem = Path(str(name)).name
    for suffix in (".onnx", ".pth", ".pt", ".ckpt", ".bin"):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    for p in _PATTERNS:
        m = p.search(stem)
        if m:
            return int(m.group(1)), stem, m.span()
    m = _TRAILING.match(stem)
    if m and not re.search(r"\d", m.group("stem").split("_")[-1].split("-")[-1]):
        # "checkpoint-18": a word then the number; "resnet-50"-like architecture names are kept out below
        if not re.search(r"(resnet|vit|efficientnet|mobilenet|convnext|iresnet|r)$", m.group("stem"), re.I):
            return int(m.group("n")), stem, m.span("n")
    return None, stem, None


def training_runs(rows: list[dict]) -> list[list[dict]]:
    """The rows with an epoch (dicts with ``epoch`` and ``source`` or ``name``, and ``folder`` where known), grouped
    into training runs: checkpoints in the same folder or with the same :func:`run_stem` belong together.  Each
    run is sorted by epoch; the runs with the most checkpoints come first.

    >>> rows = [{"source": "a/run1_e010.pth", "epoch": 10, "folder": "f1"}, {"source": "run1_e002.pth", "epoch": 2},
    ...         {"source": "B_epoch18.pth", "epoch": 18, "folder": "f1"}, {"source": "other_ep5.pth", "epoch": 5}]
    >>> [[r["epoch"] for r in run] for run in training_runs(rows)]
    [[2, 10, 18], [5]]
    """
    rows = [r for r in rows if r.get("epoch") is not None]
    parent = list(range(len(rows)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[tuple[str, str], int] = {}
    for i, r in enumerate(rows):
        keys = [("stem", run_stem(r.get("source") or r.get("name") or ""))]
        if r.get("folder"):
            keys.append(("folder", str(r["folder"])))
        for k in keys:
            if k in first:
                parent[root(i)] = root(first[k])
            else:
                first[k] = i
    groups: dict[int, list[dict]] = {}
    for i, r in enumerate(rows):
        groups.setdefault(root(i), []).append(r)
    runs = [sorted(g, key=lambda r: int(r["epoch"])) for g in groups.values()]
    return sorted(runs, key=lambda g: -len(g))


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
