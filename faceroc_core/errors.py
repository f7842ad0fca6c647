"""User-facing errors.

Every error the engine raises on bad input is a :class:`FaceROCError`. Its
message is one line that names the file (when there is one), what arrived and
what to do about it, so that the CLI can print it as is and the dashboard can
show it beside the file it concerns.
"""
from __future__ import annotations


def first_line(e: Exception) -> str:
    """The first line of an exception's text (at most 300 characters), or its type's name."""
    text = str(e).strip().splitlines()
    return (text[0] if text else type(e).__name__)[:300]


class FaceROCError(Exception):
    """Bad input the user can fix. ``str(err)`` is the whole, one-line message."""

    def __init__(self, message: str, *, path: str | None = None, hint: str | None = None):
        self.path = path
        self.hint = hint
        self.reason = message
        text = f"{path}: {message}" if path else message
        if hint:
            text = f"{text} — {hint}"
        super().__init__(text)


class ModelError(FaceROCError):
    """A model file that cannot be loaded, inspected, exported or run."""


class DatasetError(FaceROCError):
    """An image folder that cannot be evaluated (empty, one identity, no genuine pair)."""


class ImageError(FaceROCError):
    """One image that cannot be used; the run goes on without it."""


class ScoresError(FaceROCError):
    """A scores CSV or score arrays that cannot be measured."""
