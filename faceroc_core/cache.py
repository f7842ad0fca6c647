"""On-disk embedding and face-landmark cache.

One SQLite file.  An embedding is keyed by the model's hash, the preprocessing
and the image's content hash, and holds the float32 embedding with a checksum.
A face detection (:class:`faceroc_core.align.Detection`, 18 float64 values) is
keyed by the detector with its settings and the image's content hash.  An entry
whose size, checksum or values are wrong is deleted and recomputed, never
trusted.
"""
from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import threading
from pathlib import Path

import numpy as np

_logger = logging.getLogger(__name__)


def default_cache_dir() -> Path:
    """Where embeddings, landmarks and ONNX exports are kept: ``$FACEROC_CACHE``, else ``~/.cache/faceroc``."""
    env = os.environ.get("FACEROC_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "faceroc"

SCHEMA = "CREATE TABLE IF NOT EXISTS emb (key TEXT PRIMARY KEY, dim INTEGER NOT NULL, data BLOB NOT NULL, sum TEXT NOT NULL)"
FACES_SCHEMA = "CREATE TABLE IF NOT EXISTS faces (key TEXT PRIMARY KEY, data BLOB NOT NULL, sum TEXT NOT NULL)"
FACE_VALUES = 18


def entry_key(model_hash: str, prep_key: str, image_hash: str) -> str:
    return hashlib.blake2b(f"{model_hash}|{prep_key}|{image_hash}".encode(), digest_size=16).hexdigest()


def _checksum(blob: bytes) -> str:
    return hashlib.blake2b(blob, digest_size=8).hexdigest()


class EmbeddingCache:
    """A small key -> embedding store (thread-safe, process-safe through SQLite)."""

    def __init__(self, directory):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / "embeddings.sqlite"
        self._lock = threading.Lock()
        self._con = self._open()
        self.discarded = 0

    def _open(self) -> sqlite3.Connection:
        try:
            con = sqlite3.connect(str(self.path), timeout=30, check_same_thread=False)
            con.execute(SCHEMA)
            con.execute(FACES_SCHEMA)
            con.execute("PRAGMA journal_mode=WAL")
            return con
        except sqlite3.DatabaseError as e:
            _logger.warning("the cache %s is corrupt (%s): starting a fresh one", self.path, e)
            self.path.unlink(missing_ok=True)
            con = sqlite3.connect(str(self.path), timeout=30, check_same_thread=False)
            con.execute(SCHEMA)
            con.execute(FACES_SCHEMA)
            return con

    def _fetch(self, table: str, keys: list[str], parse) -> dict[str, np.ndarray]:
        """Rows of ``table`` for ``keys``; ``parse(row)`` gives the array or None for an invalid row (deleted)."""
        found: dict[str, np.ndarray] = {}
        bad: list[str] = []
        with self._lock:
            for i in range(0, len(keys), 500):
                chunk = keys[i:i + 500]
                q = f"SELECT * FROM {table} WHERE key IN ({','.join('?' * len(chunk))})"
                try:
                    rows = self._con.execute(q, chunk).fetchall()
                except sqlite3.DatabaseError as e:  # unreadable: everything is computed again
                    _logger.warning("the cache %s could not be read (%s)", self.path, e)
                    return {}
                for row in rows:
                    v = parse(row)
                    if v is None:
                        bad.append(row[0])
                    else:
                        found[row[0]] = v
            if bad:
                self.discarded += len(bad)
                self._con.executemany(f"DELETE FROM {table} WHERE key = ?", [(k,) for k in bad])
                self._con.commit()
        return found

    def get_many(self, keys: list[str], dim: int) -> dict[str, np.ndarray]:
        """The valid embeddings among ``keys``; invalid ones are deleted."""
        def parse(row):
            _, d, blob, s = row
            if d != dim or not isinstance(blob, bytes) or len(blob) != dim * 4 or _checksum(blob) != s:
                return None
            v = np.frombuffer(blob, dtype=np.float32)
            return v if np.all(np.isfinite(v)) and np.any(v) else None

        return self._fetch("emb", keys, parse)

    def put_many(self, items: list[tuple[str, np.ndarray]]) -> None:
        rows = []
        for key, v in items:
            blob = np.ascontiguousarray(v, dtype=np.float32).tobytes()
            rows.append((key, int(v.size), blob, _checksum(blob)))
        self._store("INSERT OR REPLACE INTO emb (key, dim, data, sum) VALUES (?, ?, ?, ?)", rows)

    def _store(self, sql: str, rows: list[tuple]) -> None:
        with self._lock:
            try:
                self._con.executemany(sql, rows)
                self._con.commit()
            except sqlite3.DatabaseError as e:  # a cache that cannot be written is only slower
                _logger.warning("the cache %s could not be written (%s)", self.path, e)

    def get_faces(self, keys: list[str]) -> dict[str, np.ndarray]:
        """The valid face detections among ``keys`` (float64 arrays of FACE_VALUES); invalid ones are deleted."""
        def parse(row):
            _, blob, s = row
            if not isinstance(blob, bytes) or len(blob) != FACE_VALUES * 8 or _checksum(blob) != s:
                return None
            v = np.frombuffer(blob, dtype=np.float64)
            return v if np.all(np.isfinite(v)) else None

        return self._fetch("faces", keys, parse)

    def put_faces(self, items: list[tuple[str, np.ndarray]]) -> None:
        rows = []
        for key, v in items:
            blob = np.ascontiguousarray(v, dtype=np.float64).tobytes()
            rows.append((key, blob, _checksum(blob)))
        self._store("INSERT OR REPLACE INTO faces (key, data, sum) VALUES (?, ?, ?)", rows)

    def close(self) -> None:
        with self._lock:
            self._con.close()
