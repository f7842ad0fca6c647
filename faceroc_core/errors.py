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
        super().__init__(self.line())

    def line(self, path: str | None = None) -> str:
        """The one-line message, naming ``path`` instead of the error's own path when given (a display name for
        a server folder): ``path: reason — hint``.

        >>> FaceROCError("no images", path="/srv/data/x", hint="add some").line("x.zip")
        'x.zip: no images — add some'
        """
        where = path if path is not None else self.path
        text = f"{where}: {self.reason}" if where else self.reason
        return f"{text} — {self.hint}" if self.hint else text


class ModelError(FaceROCError):
    """A model file that cannot be loaded, inspected, exported or run."""


class DatasetError(FaceROCError):
    """An image folder that cannot be evaluated (empty, one identity, no genuine pair)."""


class ImageError(FaceROCError):
    """One image that cannot be used; the run goes on without it."""


class ScoresError(FaceROCError):
    """A scores CSV or score arrays that cannot be measured."""
