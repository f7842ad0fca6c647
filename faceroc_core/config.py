"""The TOML config of ``faceroc evaluate --config`` and ``faceroc watch --config``: an optional ``[dataset]`` table
and ``[[model]]`` tables (each with a ``path`` and any model option), paths relative to the config file."""
from __future__ import annotations

import tomllib
from pathlib import Path

from .errors import FaceROCError
from .options import OPTION_NAMES


def read_toml(path) -> dict:
    p = Path(path)
    try:
        return tomllib.loads(p.read_text())
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise FaceROCError(f"cannot read the config ({e})", path=str(p)) from None


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


def load_config(path) -> list[dict]:
    """Per-model settings from TOML: ``[[model]]`` tables with ``path`` and any model option."""
    p = Path(path)
    data = read_toml(p)
    models = data.get("model") or data.get("models")
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
