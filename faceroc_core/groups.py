"""Subgroups: how each model does for the people of each group (age band, glasses, camera...).

The groups come from a metadata CSV with one row per person: an ``identity``
column (the folder name or filename prefix) and one column per attribute.  For
each attribute value, a model is measured on the pairs *within* that group (both
people in it): AUC with an interval over people, and the false match and
false non-match rates at **one global threshold** (the one that gives FMR =
1e-3 on all pairs), which is how NIST reports demographic differentials.
A group with too few people or pairs to tell is marked ``too_small`` and never
ranked.
"""
from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import metrics as M
from .errors import FaceROCError
from .uncertainty import Interval

_logger = logging.getLogger(__name__)

MAX_CSV_BYTES = 5 * 2**20
MAX_ATTRIBUTES = 20
MAX_VALUES = 50  # per attribute
GLOBAL_FMR = M.DECISION_FAR  # the one decision FAR (faceroc_core.metrics)
MIN_PEOPLE = 5  # fewer people than this in a group: too small to tell
MIN_GENUINE = 20


@dataclass(frozen=True)
class GroupTable:
    """Attribute values per identity: ``values[attribute][identity] = value``."""

    attributes: tuple[str, ...]
    values: dict
    unknown: tuple[str, ...] = ()  # identities in the CSV that are not in the faces (reported, not used)

    def of(self, attribute: str, identities) -> np.ndarray:
        """The value of ``attribute`` for each identity ('' when the CSV does not say)."""
        col = self.values[attribute]
        return np.array([col.get(str(i), "") for i in identities], dtype=object)


@dataclass(frozen=True)
class GroupResult:
    """One model on the pairs within one group."""

    attribute: str
    value: str
    n_people: int
    n_genuine: int
    n_impostor: int
    auc: float | None
    interval: Interval | None
    threshold: float  # the global threshold (FMR = 1e-3 on all pairs)
    fmr: float | None  # at the global threshold; None when too few impostor pairs to measure it
    fnmr: float | None
    too_small: bool


def read_groups_csv(data, *, source: str = "groups.csv", known=None) -> GroupTable:
    """Parse a metadata CSV (bytes, text or a path): ``identity,<attribute>,...``, one row per person.

    Raises:
        FaceROCError: naming the file and the line, with what to do.
    """
    if isinstance(data, Path) or (isinstance(data, str) and "\n" not in data and len(data) < 4096):
        if not Path(data).is_file():
            raise FaceROCError("file not found", path=str(data), hint="give the metadata CSV's path")
        source = Path(data).name
        data = Path(data).read_bytes()
    raw = data.encode() if isinstance(data, str) else bytes(data)
    if len(raw) > MAX_CSV_BYTES:
        raise FaceROCError(f"{len(raw) / 2**20:.1f} MB is more than {MAX_CSV_BYTES // 2**20} MB", path=source,
                           hint="one row per person is enough")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FaceROCError("not UTF-8 text", path=source, hint="save the CSV as UTF-8") from None
    rows = list(csv.reader(io.StringIO(text)))
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise FaceROCError("empty", path=source, hint="write a header line: identity,<attribute>,...")
    head = [h.strip() for h in rows[0]]
    if not head or head[0].lower() != "identity" or len(head) < 2:
        raise FaceROCError(f"the header must start with identity and name at least one attribute, got {','.join(head)!r}",
                           path=source, hint="e.g. identity,age_band,glasses")
    attrs = head[1:]
    if len(attrs) > MAX_ATTRIBUTES or len(set(attrs)) != len(attrs) or any(not a for a in attrs):
        raise FaceROCError(f"{len(attrs)} attribute columns: at most {MAX_ATTRIBUTES}, each named once", path=source)
    values: dict[str, dict[str, str]] = {a: {} for a in attrs}
    for line, r in enumerate(rows[1:], start=2):
        if len(r) != len(head):
            raise FaceROCError(f"line {line}: {len(r)} cells, the header has {len(head)}", path=source)
        ident = r[0].strip()
        if not ident:
            raise FaceROCError(f"line {line}: the identity is empty", path=source)
        for a, v in zip(attrs, r[1:]):
            if v.strip():
                values[a][ident] = v.strip()[:80]
    for a in attrs:
        n = len(set(values[a].values()))
        if n > MAX_VALUES:
            raise FaceROCError(f"attribute {a!r} has {n} different values (at most {MAX_VALUES})", path=source,
                               hint="group the values into bands (e.g. ages 20-29, 30-39)")
    unknown = ()
    if known is not None:
        known = {str(k) for k in known}
        unknown = tuple(sorted({i for col in values.values() for i in col} - known))
    return GroupTable(attributes=tuple(attrs), values=values, unknown=unknown)


def subgroup_results(identities: np.ndarray, table: GroupTable, measure_group, *, threshold: float,
                     fmr: float = GLOBAL_FMR) -> tuple[GroupResult, ...]:
    """Every attribute value's results for one model.

    Args:
        identities: the identity of each image the model embedded.
        table: the groups.
        measure_group: ``measure_group(inside)`` for a boolean mask of those images: ``(roc, auc, interval)`` of
            the model on the pairs within them (``roc`` exact at ``threshold``), or None without both kinds of pair.
        threshold: the model's global decision threshold (FMR = ``fmr`` on all pairs).
    """
    names, codes = np.unique(identities, return_inverse=True)
    out = []
    for attr in table.attributes:
        per_image = table.of(attr, identities)
        for value in sorted({v for v in per_image if v}):
            inside = per_image == value
            people = np.unique(codes[inside])
            got = measure_group(inside)
            n_gen = n_imp = 0
            auc_v = iv = fm = fnm = None
            if got is not None:
                roc, auc_v, iv = got
                n_gen, n_imp = roc.n_genuine, roc.n_impostor
                m = M.threshold_metrics(roc, threshold)
                fm = m.far if n_imp * fmr >= 1 else None
                fnm = m.frr
            small = people.size < MIN_PEOPLE or n_gen < MIN_GENUINE or n_imp * fmr < 1
            out.append(GroupResult(attribute=attr, value=str(value), n_people=int(people.size), n_genuine=n_gen,
                                   n_impostor=n_imp, auc=auc_v, interval=iv, threshold=float(threshold), fmr=fm,
                                   fnmr=fnm, too_small=bool(small)))
    return tuple(out)
