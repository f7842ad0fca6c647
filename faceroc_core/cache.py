"""On-disk embedding cache.

One SQLite file; an entry is keyed by the model's hash, the preprocessing and
the image's content hash, and holds the float32 embedding with a checksum.  An
entry whose size, checksum or values are wrong is deleted and recomputed,
never trusted.
"""
from __future__ import annotations

import hashlib
import sqlite3
import threading
from pathlib import Path

import numpy as np

SCHEMA = "CREATE TABLE IF NOT EXISTS emb (key TEXT PRIMARY KEY, dim INTEGER NOT NULL, data BLOB NOT NULL, sum TEXT NOT NULL)"


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
            con.execute("PRAGMA journal_mode=WAL")
            return con
        except sqlite3.DatabaseError:
            # the file itself is corrupt: start a fresh one
            self.path.unlink(missing_ok=True)
            con = sqlite3.connect(str(self.path), timeout=30, check_same_thread=False)
            con.execute(SCHEMA)
            return con

    def get_many(self, keys: list[str], dim: int) -> dict[str, np.ndarray]:
        """The valid entries among ``keys``; invalid ones are deleted."""
        found: dict[str, np.ndarray] = {}
        bad: list[str] = []
        with self._lock:
            for i in range(0, len(keys), 500):
                chunk = keys[i:i + 500]
                q = f"SELECT key, dim, data, sum FROM emb WHERE key IN ({','.join('?' * len(chunk))})"
                try:
                    rows = self._con.execute(q, chunk).fetchall()
                except sqlite3.DatabaseError:
                    return {}
                for key, d, blob, s in rows:
                    if d != dim or not isinstance(blob, bytes) or len(blob) != dim * 4 or _checksum(blob) != s:
                        bad.append(key)
                        continue
                    v = np.frombuffer(blob, dtype=np.float32)
                    if not np.all(np.isfinite(v)) or not np.any(v):
                        bad.append(key)
                        continue
                    found[key] = v
            if bad:
                self.discarded += len(bad)
                self._con.executemany("DELETE FROM emb WHERE key = ?", [(k,) for k in bad])
                self._con.commit()
        return found

    def put_many(self, items: list[tuple[str, np.ndarray]]) -> None:
        rows = []
        for key, v in items:
            blob = np.ascontiguousarray(v, dtype=np.float32).tobytes()
            rows.append((key, int(v.size), blob, _checksum(blob)))
        with self._lock:
            try:
                self._con.executemany("INSERT OR REPLACE INTO emb (key, dim, data, sum) VALUES (?, ?, ?, ?)", rows)
                self._con.commit()
            except sqlite3.DatabaseError:
                pass  # a cache that cannot be written is only slower

    def close(self) -> None:
        with self._lock:
            self._con.close()
