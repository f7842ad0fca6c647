"""Every evaluation remembered: a store of runs (a small repository layer, versioned schema) in an embedded SQLite
file — or, for a lab server, a PostgreSQL database.

Where: ``$FACEROC_DB`` (a path, ``sqlite:///path``, or ``postgresql://user:password@host:port/database``: the
``postgres`` extra, ``pip install "faceroc[postgres]"``), else ``$FACEROC_HOME/faceroc.db``, else the per-user
data folder ``~/.local/share/faceroc/faceroc.db`` (``$XDG_DATA_HOME`` respected).  A run holds its id (random,
128 bits, 32 hex digits), time, FaceROC version, the dataset's fingerprint (content hashes of the images with
their identities, and the protocol when there is one) and display name, and the evaluation's JSON (every
metric, the compact ROC, intervals, hardest pairs as relative paths, failures) — never the files themselves.
Each model's name, sha256, epoch (:mod:`.epochs`), AUC and TAR@FAR are also columns, for leaderboards.

Writes are atomic (one transaction per run: a killed writer leaves no partial run) and concurrent writers wait
for each other (SQLite: WAL journal and a busy timeout; PostgreSQL: its own transactions, and an advisory lock
around migrations); every query is parameterised.  ``SCHEMA_VERSION`` and :data:`_MIGRATIONS` upgrade an older
store in place.  A database URL's password is never shown: :func:`redacted` is what messages print.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from .errors import FaceROCError

SCHEMA_VERSION = 3
_MIGRATIONS = {  # version -> statements that bring the previous version to it
    1: ["CREATE TABLE runs (id TEXT PRIMARY KEY, created TEXT NOT NULL, version TEXT NOT NULL, "
        "fingerprint TEXT NOT NULL, dataset_name TEXT NOT NULL, n_images INTEGER NOT NULL, result TEXT NOT NULL)",
        "CREATE TABLE models (run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE, position INTEGER NOT NULL, "
        "name TEXT NOT NULL, sha256 TEXT, epoch INTEGER, auc REAL, tar_at_far TEXT NOT NULL, "
        "PRIMARY KEY (run_id, position))",
        "CREATE INDEX runs_by_fingerprint ON runs(fingerprint)"],
    2: ["ALTER TABLE runs ADD COLUMN protocol TEXT",
        "CREATE INDEX models_by_sha ON models(sha256)"],
    3: ["ALTER TABLE runs ADD COLUMN stamp REAL"],  # seconds since 1970: runs of the same second in order
}
RUN_ID = re.compile(r"^[0-9a-f]{32}$")
_PG = ("postgresql:", "postgres:", "postgresql+psycopg:")
_MIGRATION_LOCK = 0x46524F43  # "FROC": PostgreSQL advisory lock held while the schema is checked and upgraded


def redacted(url: str) -> str:
    """A database URL as it may be shown: its password replaced by ``***``.

    >>> redacted("postgresql://lab:s3cret@db.example:5432/faceroc")
    'postgresql://lab:***@db.example:5432/faceroc'
    """
    url = re.sub(r"(://[^/:@]*:)[^/@]*@", r"\1***@", str(url))
    return re.sub(r"(?i)(password=)[^&\s]*", r"\1***", url)


def default_location() -> str:
    """Where the store is (module text): a PostgreSQL URL, or the SQLite file's path."""
    url = os.environ.get("FACEROC_DB", "").strip()
    if url:
        return url.removeprefix("sqlite:///") if not url.startswith(_PG) else url
    home = os.environ.get("FACEROC_HOME")
    if home:
        return str(Path(home) / "faceroc.db")
    data = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return str(data / "faceroc" / "faceroc.db")


def default_path() -> Path:
    """The SQLite store's file (:func:`default_location`; a PostgreSQL store has none)."""
    return Path(default_location())


def fingerprint(items: Iterable[tuple[str, str, str]], protocol: str | None = None) -> str:
    """The dataset's fingerprint: ``(content hash, identity, relative path)`` of every image, sorted, and the
    protocol's name."""
    h = hashlib.sha256()
    for digest, identity, rel in sorted(items):
        h.update(f"{digest}\0{identity}\0{rel}\n".encode())
    if protocol:
        h.update(f"protocol\0{protocol}".encode())
    return h.hexdigest()


def array_fingerprint(kind: str, *arrays) -> str:
    """The fingerprint of bring-your-own embeddings or scores: their kind and the content of their labels.

    >>> array_fingerprint("scores", [1, 0, 1]) == array_fingerprint("scores", [1, 0, 1]) != array_fingerprint("scores", [1, 1, 0])
    True
    """
    import numpy as np

    h = hashlib.sha256(f"{kind}\0".encode())
    for a in arrays:
        a = np.asarray(a)
        h.update(f"{a.dtype.kind}{a.shape}\0".encode())
        h.update("\n".join(map(str, a.ravel().tolist())).encode())
    return h.hexdigest()


def dataset_fingerprint(ds, protocol: str | None = None) -> str:
    """:func:`fingerprint` of a :class:`~faceroc_core.dataset.Dataset`'s images (their contents read and hashed):
    the one fingerprint the command line and the dashboard store runs under."""
    return fingerprint(((file_digest(r.path), r.identity, r.relpath) for r in ds.images), protocol=protocol)


def remember(ev, ds=None, *, name: str | None = None, fingerprint: str | None = None) -> str | None:
    """Keep an :class:`~faceroc_core.results.Evaluation` of the dataset ``ds`` (or of arrays: their
    ``fingerprint``, :func:`array_fingerprint`) in the store (its JSON with a bounded ROC, the fingerprint, each
    model's epoch); its run id — or None, with a warning, when the store cannot be written: a run never loses its
    own results over the store."""
    import logging

    from .report import to_dict

    try:
        fp = fingerprint or dataset_fingerprint(ds, protocol=getattr(ev.dataset, "protocol", None))
        name = name or (Path(ds.root).name if ds is not None else "arrays")
        with Store() as s:
            return s.save(public(to_dict(ev), name), fingerprint=fp, dataset_name=name)
    except Exception as e:  # sqlite3.Error, a database that is down: the results are still returned
        logging.getLogger(__name__).warning("the run was not stored: %s: %s", type(e).__name__, e)
        return None


def public(result: dict, name: str, folders: dict | None = None) -> dict:
    """A run's JSON as it is stored: the faces' folder is shown by its name and each model by its file name (the
    runs of a shared store are read by others: never a path of the machine that made them).  Each model gets a
    ``folder``: :func:`folder_key` of the folder its file is in (``folders[name]`` when given, else from its
    source path), which tells the checkpoints of one training run without showing where they are."""
    out = {**result, "dataset": {**result.get("dataset", {}), "root": name}}
    out["models"] = [{**m, "source": Path(str(m.get("source", ""))).name,
                      "folder": folders.get(m["name"]) if folders is not None else folder_key(m.get("source"))}
                     for m in result.get("models", [])]
    out["failures"] = [{**f, "source": Path(src).name, "error": str(f.get("error", "")).replace(src, Path(src).name)}
                       for f in result.get("failures", []) if (src := str(f.get("source", ""))) or True]
    return out


def folder_key(path) -> str | None:
    """A short hash of the folder a file is in (None without a file): equal for files of one folder, and it
    shows nothing of the path."""
    if not path or str(path).startswith("<"):
        return None
    return hashlib.blake2b(str(Path(str(path)).resolve().parent).encode(), digest_size=8).hexdigest()


def file_digest(path: Path) -> str:
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class Store:
    """The runs in one store (module text): ``Store()`` opens :func:`default_location`; ``Store(path_or_url)``
    another."""

    def __init__(self, path: str | Path | None = None):
        where = str(path) if path is not None else default_location()
        self.postgres = where.startswith(_PG)
        self.where = redacted(where) if self.postgres else Path(where).name  # what messages may show
        self.path = None if self.postgres else Path(where)
        self._db = _connect_postgres(where) if self.postgres else self._connect_sqlite()
        self._migrate()

    def _connect_sqlite(self):
        assert self.path is not None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("PRAGMA journal_mode = WAL")
        return db

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _sql(self, sql: str, params: tuple = ()):
        """One parameterised statement (``?`` placeholders; ``%s`` and DOUBLE PRECISION on PostgreSQL)."""
        if self.postgres:
            sql = sql.replace("?", "%s").replace(" REAL", " DOUBLE PRECISION")
        return self._db.execute(sql, params)

    @contextmanager
    def _transaction(self, *, migrating: bool = False) -> Iterator[None]:
        """All of it or nothing (SQLite: ``BEGIN IMMEDIATE``, one writer at a time)."""
        if self.postgres:
            with self._db.transaction():
                if migrating:
                    self._sql("SELECT pg_advisory_xact_lock(?)", (_MIGRATION_LOCK,))
                yield
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _migrate(self) -> None:
        with self._transaction(migrating=True):
            self._sql("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = self._sql("SELECT version FROM schema_version").fetchone()
            have = row[0] if row else 0
            if have > SCHEMA_VERSION:
                raise FaceROCError(f"the store was written by a newer FaceROC (schema {have})", path=self.where,
                                   hint="upgrade FaceROC, or point FACEROC_HOME elsewhere")
            for v in range(have + 1, SCHEMA_VERSION + 1):
                for sql in _MIGRATIONS[v]:
                    self._sql(sql)
            if row is None:
                self._sql("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
            else:
                self._sql("UPDATE schema_version SET version = ?", (SCHEMA_VERSION,))

    def save(self, result: dict, *, fingerprint: str, dataset_name: str) -> str:
        """Store one evaluation (its JSON, :func:`faceroc_core.report.to_dict`) in one transaction; its id.
        Each model's ``epoch`` column is its JSON's (:attr:`~faceroc_core.results.ModelResult.epoch`)."""
        from . import __version__

        run_id = secrets.token_hex(16)
        ds = result.get("dataset", {})
        with self._transaction():
            self._sql("INSERT INTO runs (id, created, version, fingerprint, dataset_name, n_images, result, protocol, "
                      "stamp) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      (run_id, datetime.now(UTC).isoformat(timespec="seconds"), __version__, fingerprint,
                       dataset_name, int(ds.get("n_images", 0)), json.dumps(result), ds.get("protocol"), time.time()))
            for k, m in enumerate(result.get("models", [])):
                self._sql("INSERT INTO models (run_id, position, name, sha256, epoch, auc, tar_at_far) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?)",
                          (run_id, k, m["name"], m.get("sha256"), m.get("epoch"), m.get("auc"),
                           json.dumps(m.get("tar_at_far", {}))))
        return run_id

    def list(self) -> list[dict]:
        """Every run, newest first, as ``faceroc history list --json`` writes them."""
        runs = self._sql("SELECT id, created, fingerprint, dataset_name, n_images FROM runs "
                         "ORDER BY COALESCE(stamp, 0) DESC, created DESC, id").fetchall()
        models: dict[str, list] = {}
        for row in self._sql("SELECT run_id, name, sha256, epoch, auc, tar_at_far FROM models "
                             "ORDER BY run_id, position").fetchall():
            models.setdefault(row[0], []).append(row[1:])
        return [{"id": run_id, "created": created, "dataset": {"fingerprint": fp, "name": name, "n_images": n},
                 "models": [{"name": mn, "sha256": sha, "epoch": ep, "auc": auc, "tar_at_far": json.loads(t)}
                            for mn, sha, ep, auc, t in models.get(run_id, [])]}
                for run_id, created, fp, name, n in runs]

    def get(self, run_id: str) -> dict:
        """The stored evaluation JSON of one run (:class:`FaceROCError` for an id that is not a run)."""
        row = self._sql("SELECT result FROM runs WHERE id = ?", (_checked(run_id),)).fetchone()
        if row is None:
            raise FaceROCError(f"no run {run_id}", hint="faceroc history list shows the runs")
        return json.loads(row[0])

    def remove(self, run_id: str) -> None:
        """Delete a run (its models with it) from every view."""
        with self._transaction():
            self._sql("DELETE FROM models WHERE run_id = ?", (_checked(run_id),))
            n = self._sql("DELETE FROM runs WHERE id = ?", (run_id,)).rowcount
        if n == 0:
            raise FaceROCError(f"no run {run_id}", hint="faceroc history list shows the runs")


def _connect_postgres(url: str):
    """A psycopg connection in autocommit mode (each :meth:`Store._transaction` its own); errors never show the
    URL's password."""
    try:
        import psycopg
    except ImportError:
        raise FaceROCError("FACEROC_DB names a PostgreSQL database, but the PostgreSQL driver is not installed",
                           hint='pip install "faceroc[postgres]" (psycopg), or unset FACEROC_DB for the SQLite store') from None
    conninfo = url.replace("postgresql+psycopg:", "postgresql:", 1)
    try:
        return psycopg.connect(conninfo, autocommit=True, connect_timeout=20)
    except psycopg.Error as e:
        secret = re.search(r"://[^/:@]*:([^/@]*)@", url)
        text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if secret and secret.group(1):
            text = text.replace(secret.group(1), "***")
        raise FaceROCError(f"cannot open the run store {redacted(url)}: {text}",
                           hint="check FACEROC_DB (postgresql://user:password@host:port/database) and that the "
                                "server is running") from None


def _checked(run_id: str) -> str:
    if not RUN_ID.match(str(run_id)):
        raise FaceROCError(f"{str(run_id)[:40]!r} is not a run id", hint="a run id is 32 hex digits (faceroc history list)")
    return str(run_id)
