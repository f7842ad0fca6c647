"""InsightFace's ``.bin`` validation sets (``lfw.bin``, ``cfp_fp.bin``, ``agedb_30.bin``...), read without
unpickling anything arbitrary.

Such a file is a Python pickle of ``(bins, issame_list)``: ``bins`` the encoded JPEG/PNG images (``bytes``, or 1-D
``uint8`` numpy arrays in some converters), two per pair in pair order (``bins[2i]``, ``bins[2i + 1]``), and
``issame_list`` one bool per pair.  The unpickler here resolves no global but the three numpy needs for its
arrays (``numpy(._core|.core).multiarray._reconstruct``, ``numpy.ndarray``, ``numpy.dtype``; ``_frombuffer`` for
protocol 5) and, for ``bytes``
in a protocol-2 pickle, ``_codecs.encode(text, "latin1")`` (checked to be just that): a file that asks for
any other (``os.system``, ``builtins.eval``...) is refused before anything of it runs.  The result's shape is
checked (two items, ``len(bins) == 2 * len(issame)``, every image starting with the JPEG or PNG signature); the
images are decoded later under the usual image limits, as files are.

:func:`unpack_bin` writes the images to a folder (the encoded bytes as they are) with the pairs as a protocol
CSV, so that a ``.bin`` goes through the same measuring flow as a folder and a pair list.  There are no identities
in a ``.bin``: each pair gets its own people (a genuine pair one, ``p00012``; an impostor pair two, ``p00012a`` and
``p00012b``), so intervals "over people" are over pairs here.
"""
from __future__ import annotations

import io
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DatasetError

MAX_BIN_BYTES = 4 * 2**30  # lfw.bin is about 60 MB, the largest of InsightFace's sets a few hundred MB
JPEG, PNG = b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n"
_ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
            ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
            ("numpy._core.multiarray", "scalar"),
            ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer")}  # protocol-5 arrays


@dataclass(frozen=True, eq=False)
class BinSet:
    """The images (encoded, two per pair) and whether each pair is the same person."""

    images: tuple[bytes, ...]
    issame: np.ndarray  # bool (n_pairs,)

    @property
    def n_pairs(self) -> int:
        return int(self.issame.size)


class _Refused(Exception):
    pass


def _latin1(text, encoding="utf-8"):
    """``_codecs.encode`` as a protocol-2 pickle of ``bytes`` uses it (``encode(str, "latin1")``), and nothing else."""
    if not isinstance(text, str) or encoding != "latin1":
        raise _Refused("_codecs.encode with other arguments")
    return text.encode("latin1")


class _Unpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        if (module, name) == ("_codecs", "encode"):  # bytes in a protocol-2 pickle written by Python 3
            return _latin1
        raise _Refused(f"{module}.{name}"[:120])

    def persistent_load(self, pid):
        raise _Refused("a persistent reference")


def read_bin(path) -> BinSet:
    """Read a ``.bin`` validation set (see the module text); :class:`DatasetError` naming the file otherwise."""
    p = Path(path)
    name = p.name
    size = p.stat().st_size
    if size > MAX_BIN_BYTES:
        raise DatasetError(f"is {size / 2**30:.1f} GB (at most {MAX_BIN_BYTES // 2**30} GB)", path=name)
    return parse_bin(p.read_bytes(), name=name)


def parse_bin(data: bytes, *, name: str = "validation set") -> BinSet:
    """:func:`read_bin` of bytes already read (an upload)."""
    hint = "use an InsightFace validation set (lfw.bin, cfp_fp.bin, agedb_30.bin...): a pickle of (images, issame)"
    try:
        obj = _Unpickler(io.BytesIO(data), encoding="bytes").load()
    except _Refused as e:
        raise DatasetError(f"asks to run {e}, which a validation set never needs: refused without running it",
                           path=name, hint=hint) from None
    except Exception as e:
        raise DatasetError(f"is not a readable .bin validation set ({type(e).__name__})", path=name,
                           hint=hint) from None
    if not isinstance(obj, (tuple, list)) or len(obj) != 2:
        raise DatasetError(f"holds {type(obj).__name__} instead of (images, issame)", path=name, hint=hint)
    bins, same = obj
    if not isinstance(bins, (list, tuple)):
        raise DatasetError(f"its images are a {type(bins).__name__}, not a list", path=name, hint=hint)
    try:
        issame = np.asarray(same)
    except Exception:
        issame = np.zeros(0)
    if issame.ndim != 1 or issame.size == 0 or issame.dtype.kind not in "biu" or not np.isin(issame, (0, 1)).all():
        raise DatasetError("its issame list is not one bool per pair", path=name, hint=hint)
    if len(bins) != 2 * issame.size:
        raise DatasetError(f"has {len(bins):,} images for {issame.size:,} pairs (two per pair needed)", path=name,
                           hint=hint)
    images = []
    for k, b in enumerate(bins):
        if isinstance(b, np.ndarray) and b.ndim == 1 and b.dtype == np.uint8:
            b = b.tobytes()
        if not isinstance(b, (bytes, bytearray)) or not (bytes(b[:3]) == JPEG or bytes(b[:8]) == PNG):
            raise DatasetError(f"image {k} is not an encoded JPEG or PNG ({type(b).__name__})", path=name, hint=hint)
        images.append(bytes(b))
    issame = issame.astype(bool)
    if issame.all() or not issame.any():
        raise DatasetError(f"has {int(issame.sum())} same-person and {int((~issame).sum())} different-people pairs",
                           path=name, hint="a protocol needs both kinds of pair")
    return BinSet(images=tuple(images), issame=issame)


def unpack_bin(bs: BinSet, folder, *, name: str = "pairs.csv") -> tuple[Path, Path]:
    """Write the images to ``folder/faces`` (one sub-folder per made-up person, see the module text) and the pairs
    to ``folder/name`` (CSV ``a,b,label`` in the file's order; ``name``: what the protocol is called, e.g. the
    ``.bin``'s own name); returns both paths."""
    root = Path(folder) / "faces"
    rows = ["a,b,label"]
    for i, same in enumerate(bs.issame):
        names = (f"p{i:05d}", f"p{i:05d}") if same else (f"p{i:05d}a", f"p{i:05d}b")
        rel = []
        for k, person in zip((2 * i, 2 * i + 1), names):
            data = bs.images[k]
            path = root / person / f"{k:05d}{'.png' if data[:8] == PNG else '.jpg'}"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            rel.append(f"{person}/{path.name}")
        rows.append(f"{rel[0]},{rel[1]},{int(same)}")
    csv = Path(folder) / name
    csv.write_text("\n".join(rows) + "\n")
    return root, csv
