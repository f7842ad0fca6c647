"""The long steps of an evaluation, as reported to a progress callback.

``progress(stage, done, total, model)`` is called with one of :class:`Stage`'s
members (a ``str``: ``Stage.EMBED == "embed"``), counts so far and in all, and
the model's display name (None for the steps shared by every model).
"""
from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum


class Stage(StrEnum):
    READ = "read"  # reading and hashing every image file (counts: images)
    FACES = "faces"  # finding faces and landmarks, once per image for every aligned model (images)
    EXPORT = "export"  # exporting a .pth model to ONNX and checking it (steps)
    EMBED = "embed"  # one model's forward passes (images)
    SCORE = "score"  # one model's pair scores and metrics (steps)


IMAGE_STAGES = frozenset({Stage.READ, Stage.FACES, Stage.EMBED})  # stages counted in images

Progress = Callable[[Stage, int, int, "str | None"], None]
