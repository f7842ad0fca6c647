"""The TOML config of ``faceroc evaluate --config`` and ``faceroc watch --config``: an optional ``[dataset]`` table
and ``[[model]]`` tables (each with a ``path`` and any model option), paths relative to the config file."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from .errors import FaceROCError
from .options import OPTION_NAMES


def read_toml(path) -> dict:
    p = Path(path)
    try:
        return tomllib.loads(p.read_text())
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise FaceROCError(f"cannot read the config ({e})", path=str(p)) from None


@dataclass(frozen=True)
class Faces:
    """The faces a command evaluates: ``--images`` or the config's ``[dataset]`` path, its labels and identities,
    and the name runs are stored under (the folder's or file's own name)."""

    images: str | Path | None
    labels: str
    identities: tuple[str, ...] | None
    name: str


def faces_of(images, labels: str, config) -> Faces:
    """:class:`Faces` from a command's ``--images`` and ``--labels`` and its ``--config`` (None: no config); the
    command line wins over the config."""
    ds = load_dataset_config(config) if config else {}
    images = images or ds.get("path")
    ids = ds.get("identities")
    return Faces(images=images, labels=labels if labels != "auto" else ds.get("labels", "auto"),
                 identities=tuple(str(i) for i in ids) if ids is not None else None,
                 name=Path(str(images)).name if images else "")


def load_dataset_config(path) -> dict:
    """The optional ``[dataset]`` table: ``path`` (relative to the config), ``labels``, ``identities``."""
    p = Path(path)
    ds = read_toml(p).get("dataset") or {}
    if not isinstance(ds, dict):
        raise FaceROCError("[dataset] must be a table", path=str(p))
    out = dict(ds)
    if "path" in out:
        dp = Path(out["path"])
        out["path"] = dp if dp.is_absolute() else p.parent / dp
    return out


def load_config(path, *, required: bool = True) -> list[dict]:
    """Per-model settings from TOML: ``[[model]]`` tables with ``path`` and any model option (none: refused, or
    ``[]`` when not ``required``)."""
    p = Path(path)
    data = read_toml(p)
    models = data.get("model") or data.get("models")
    if not required and not models:
        return []
    if not isinstance(models, list) or not models:
        raise FaceROCError("the config needs [[model]] tables, each with a path", path=str(p))
    out = []
    for i, m in enumerate(models):
        if not isinstance(m, dict) or "path" not in m:
            raise FaceROCError(f"[[model]] number {i + 1} has no path", path=str(p))
        unknown = set(m) - set(OPTION_NAMES) - {"path"}
        if unknown:
            raise FaceROCError(f"[[model]] number {i + 1} has unknown keys {sorted(unknown)}; "
                               f"allowed: path, {', '.join(OPTION_NAMES)}", path=str(p))
        mp = Path(m["path"])
        if not mp.is_absolute():
            mp = p.parent / mp
        out.append({**m, "path": mp})
    return out
