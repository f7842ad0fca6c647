"""``faceroc watch``: a folder of checkpoints beside a training job, evaluated as they arrive.

A model file (``.onnx``, ``.pth``, ``.pt``) is evaluated once its size and modification time have not changed for
``settle`` seconds (a checkpoint still being written is never read half-way), and again only if it changes.  Each
result is stored (:mod:`.store`) and one leaderboard line is printed per checkpoint ("epoch 42: AUC 0.9931,
TAR@1e-3 0.912 — best so far").
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .onnx_io import ONNX_SUFFIXES, TORCH_SUFFIXES


@dataclass(frozen=True)
class Arrival:
    path: Path
    size: int
    mtime_ns: int


def arrivals(folder, *, poll: float = 2.0, settle: float = 5.0, clock: Callable[[], float] = time.monotonic,
             sleep: Callable[[float], None] = time.sleep) -> Iterator[Arrival]:
    """Every model file of ``folder`` (not its sub-folders) once it has settled, and again after each change."""
    root = Path(folder)
    suffixes = {s.lower() for s in (*ONNX_SUFFIXES, *TORCH_SUFFIXES)}
    seen: dict[Path, tuple[int, int, float]] = {}  # path -> (size, mtime, when that state was first seen)
    done: dict[Path, tuple[int, int]] = {}
    while True:
        now = clock()
        for p in sorted(root.iterdir()) if root.is_dir() else []:
            if not p.is_file() or p.suffix.lower() not in suffixes:
                continue
            try:
                st = p.stat()
            except OSError:
                continue
            state = (st.st_size, st.st_mtime_ns)
            if seen.get(p, (None, None, 0.0))[:2] != state:
                seen[p] = (*state, now)
                continue
            if done.get(p) != state and now - seen[p][2] >= settle and st.st_size > 0:
                done[p] = state
                yield Arrival(path=p, size=st.st_size, mtime_ns=st.st_mtime_ns)
        sleep(poll)


def leaderboard_line(name: str, epoch: int | None, auc: float, tar: float | None, best_auc: float | None) -> str:
    """One line per checkpoint.

    >>> leaderboard_line("run_e042", 42, 0.99312, 0.912, 0.98)
    'epoch 42: AUC 0.9931, TAR@1e-3 0.912 — best so far'
    """
    head = f"epoch {epoch}" if epoch is not None else name
    tar_text = "—" if tar is None else f"{tar:.3f}"
    best = " — best so far" if best_auc is None or auc > best_auc else ""
    return f"{head}: AUC {auc:.4f}, TAR@1e-3 {tar_text}{best}"
