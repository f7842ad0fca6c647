"""``faceroc verify``: two photos, one model and a threshold file — the decision the evaluation would make.

The entry for the model is found by the model file's content hash (sha256, as the evaluation computed it), never
by its name alone; ``name`` picks among several entries made from the same file.  The photos are embedded exactly
as in the evaluation (the entry's own preprocessing: size, normalisation, alignment, flip test), scored by cosine,
and accepted as the same person iff ``score >= threshold``; the calibration gives the probability.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .errors import FaceROCError

MAX_THRESHOLD_FILE_BYTES = 10 * 2**20


def _entry(doc: dict, sha: str, name: str | None, source: str) -> dict:
    entries = doc.get("models") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise FaceROCError("is not a FaceROC threshold file (no models)", path=source,
                           hint="write one with faceroc evaluate ... --threshold-file t.json")
    mine = [e for e in entries if isinstance(e, dict) and e.get("model", {}).get("sha256") == sha]
    if not mine:
        raise FaceROCError("has no entry for this model file (no sha256 matches)", path=source,
                           hint="use the threshold file made from this very model, or evaluate it again")
    if name is not None:
        mine = [e for e in mine if e["model"].get("name") == name]
        if not mine:
            raise FaceROCError(f"has no entry named {name!r} for this model file", path=source)
    if len(mine) > 1:
        names = ", ".join(str(e["model"].get("name")) for e in mine)
        raise FaceROCError(f"has {len(mine)} entries for this model file ({names})", path=source,
                           hint="pick one with --name")
    return mine[0]


def verify(threshold_file, model, a, b, *, name: str | None = None, cache_dir=None) -> dict:
    """``{"same", "score", "threshold", "probability", "model"}`` for photos ``a`` and ``b`` (module text)."""
    from .calibrate import Calibration
    from .dataset import ImageRecord
    from .embed import embed
    from .models import prepare_model
    from .preprocess import Preprocessing

    tf = Path(threshold_file)
    if tf.stat().st_size > MAX_THRESHOLD_FILE_BYTES:
        raise FaceROCError("is too large for a threshold file", path=tf.name)
    try:
        doc = json.loads(tf.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise FaceROCError(f"is not JSON ({type(e).__name__})", path=tf.name) from None
    pm = prepare_model(model, cache_dir=cache_dir)
    entry = _entry(doc, pm.sha256, name, tf.name)
    fields = dict(entry["model"]["input"])
    for k in ("mean", "std", "crop", "center_crop"):
        if fields.get(k) is not None:
            fields[k] = tuple(fields[k])
    prep = Preprocessing(**fields)
    records = [ImageRecord(path=Path(p), identity=str(k), relpath=Path(p).name) for k, p in enumerate((a, b))]
    run = embed(records, [(pm, prep)], cache=None)
    res = run.results[0]
    if res.error or not res.valid.all():
        why = res.error or "; ".join(f"{s.path}: {s.reason}" for s in (*run.unreadable, *res.failed)) \
            or "a photo could not be used"
        raise FaceROCError(f"cannot compare the photos: {why}")
    emb = res.embeddings.astype(np.float64)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    score = float(emb[0] @ emb[1])
    threshold = float(entry["threshold"])
    cal = entry.get("calibration")
    prob = None
    if cal:
        c = Calibration(slope=cal["slope"], offset=cal["offset"], prior=cal["prior"])
        prob = float(c.probability(score))
    return {"same": score >= threshold, "score": score, "threshold": threshold, "probability": prob,
            "model": entry["model"]["name"]}
