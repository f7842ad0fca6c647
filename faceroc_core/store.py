"""Every evaluation remembered: an embedded SQLite store of runs (a small repository layer, versioned schema).

Where: ``$FACEROC_DB`` (a path or ``sqlite:///path``), else ``$FACEROC_HOME/faceroc.db``, else the per-user data
folder ``~/.local/share/faceroc/faceroc.db`` (``$XDG_DATA_HOME`` respected).  A run holds its id (random, 128
bits, 32 hex digits), time, FaceROC version, the dataset's fingerprint (content hashes of the images with their
identities, and the protocol when there is one) and display name, and the evaluation's JSON (every metric, the
compact ROC, intervals, hardest pairs as relative paths, failures) — never the files themselves.  Each model's
name, sha256, epoch (:mod:`.epochs`), AUC and TAR@FAR are also columns, for leaderboards.

Writes are atomic (one transaction per run: a killed writer leaves no partial run) and concurrent writers wait
for each other (WAL journal, a busy timeout); every query is parameterised.  ``SCHEMA_VERSION`` and
:data:`_MIGRATIONS` upgrade an older store in place.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from .errors import FaceROCError

SCHEMA_VERSION = 2
_MIGRATIONS = {  # version -> statements that bring the previous version to it
    1: ["CREATE TABLE runs (id TEXT PRIMARY KEY, created TEXT NOT NULL, version TEXT NOT NULL, "
        "fingerprint TEXT NOT NULL, dataset_name TEXT NOT NULL, n_images INTEGER NOT NULL, result TEXT NOT NULL)",
        "CREATE TABLE models (run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE, position INTEGER NOT NULL, "
        "name TEXT NOT NULL, sha256 TEXT, epoch INTEGER, auc REAL, tar_at_far TEXT NOT NULL, "
        "PRIMARY KEY (run_id, position))",
        "CREATE INDEX runs_by_fingerprint ON runs(fingerprint)"],
    2: ["ALTER TABLE runs ADD COLUMN protocol TEXT",
        "CREATE INDEX models_by_sha ON models(sha256)"],
}
RUN_ID = re.compile(r"^[0-9a-f]{32}$")


def default_path() -> Path:
    """The store's file (module text)."""
    url = os.environ.get("FACEROC_DB")
    if url:
        if url.startswith(("postgresql:", "postgres:")):
            raise FaceROCError("a PostgreSQL store is not supported by this version",
                               hint="unset FACEROC_DB to use the embedded SQLite store")
        return Path(url.removeprefix("sqlite:///"))
    home = os.environ.get("FACEROC_HOME")
    if home:
        return Path(home) / "faceroc.db"
    data = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return data / "faceroc" / "faceroc.db"


def fingerprint(items: Iterable[tuple[str, str, str]], protocol: str | None = None) -> str:
    """The dataset's fingerprint: ``(content hash, identity, relative path)`` of every image, sorted, and the
    protocol's name."""
    h = hashlib.sha256()
    for digest, identity, rel in sorted(items):
        h.update(f"{digest}\0{identity}\0{rel}\n".encode())
    if protocol:
        h.update(f"protocol\0{protocol}".encode())
    return h.hexdigest()


def dataset_fingerprint(ds, protocol: str | None = None) -> str:
    """:func:`fingerprint` of a :class:`~faceroc_core.dataset.Dataset`'s images (their contents read and hashed):
    the one fingerprint the command line and the dashboard store runs under."""
    return fingerprint(((file_digest(r.path), r.identity, r.relpath) for r in ds.images), protocol=protocol)


def file_digest(path: Path) -> str:
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class Store:
    """The runs in one SQLite file (module text)."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path is not None else default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        self._db.execute("PRAGMA foreign_keys = ON")
        self._db.execute("PRAGMA journal_mode = WAL")
        self._migrate()

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _migrate(self) -> None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = db.execute("SELECT version FROM schema_version").fetchone()
            have = row[0] if row else 0
            if have > SCHEMA_VERSION:
                raise FaceROCError(f"the store was written by a newer FaceROC (schema {have})", path=self.path.name,
                                   hint="upgrade FaceROC, or point FACEROC_HOME elsewhere")
            for v in range(have + 1, SCHEMA_VERSION + 1):
                for sql in _MIGRATIONS[v]:
                    db.execute(sql)
            if row is None:
                db.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
            else:
                db.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def save(self, result: dict, *, fingerprint: str, dataset_name: str, epochs: dict | None = None) -> str:
        """Store one evaluation (its JSON, :func:`faceroc_core.report.to_dict`) in one transaction; its id."""
        from . import __version__

        run_id = secrets.token_hex(16)
        ds = result.get("dataset", {})
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("INSERT INTO runs (id, created, version, fingerprint, dataset_name, n_images, result, protocol) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (run_id, datetime.now(UTC).isoformat(timespec="seconds"), __version__, fingerprint,
                        dataset_name, int(ds.get("n_images", 0)), json.dumps(result), ds.get("protocol")))
            for k, m in enumerate(result.get("models", [])):
                db.execute("INSERT INTO models (run_id, position, name, sha256, epoch, auc, tar_at_far) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?)",
                           (run_id, k, m["name"], m.get("sha256"), (epochs or {}).get(m["name"]), m.get("auc"),
                            json.dumps(m.get("tar_at_far", {}))))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return run_id

    def list(self) -> list[dict]:
        """Every run, newest first, as ``faceroc history list --json`` writes them."""
        runs = self._db.execute("SELECT id, created, fingerprint, dataset_name, n_images FROM runs "
                                "ORDER BY created DESC, rowid DESC").fetchall()
        out = []
        for run_id, created, fp, name, n in runs:
            models = self._db.execute("SELECT name, sha256, epoch, auc, tar_at_far FROM models WHERE run_id = ? "
                                      "ORDER BY position", (run_id,)).fetchall()
            out.append({"id": run_id, "created": created,
                        "dataset": {"fingerprint": fp, "name": name, "n_images": n},
                        "models": [{"name": mn, "sha256": sha, "epoch": ep, "auc": auc, "tar_at_far": json.loads(t)}
                                   for mn, sha, ep, auc, t in models]})
        return out

    def get(self, run_id: str) -> dict:
        """The stored evaluation JSON of one run (:class:`FaceROCError` for an id that is not a run)."""
        row = self._db.execute("SELECT result FROM runs WHERE id = ?", (_checked(run_id),)).fetchone()
        if row is None:
            raise FaceROCError(f"no run {run_id}", hint="faceroc history list shows the runs")
        return json.loads(row[0])

    def remove(self, run_id: str) -> None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            n = db.execute("DELETE FROM runs WHERE id = ?", (_checked(run_id),)).rowcount
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        if n == 0:
            raise FaceROCError(f"no run {run_id}", hint="faceroc history list shows the runs")


def _checked(run_id: str) -> str:
    if not RUN_ID.match(str(run_id)):
        raise FaceROCError(f"{str(run_id)[:40]!r} is not a run id", hint="a run id is 32 hex digits (faceroc history list)")
    return str(run_id)
