"""The JSON forms shared by the exports: finite numbers, FAR keys, intervals, and the field's and the threshold's
sections of a model (``accuracy_10fold``, ``identification``, ``decision``) and the threshold file."""
from __future__ import annotations

import math
from datetime import UTC, datetime

from . import __version__


def _num(x):
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def far_key(f: float) -> str:
    return repr(float(f))  # 0.1, 0.01, 0.001, 0.0001


def _interval(iv) -> dict | None:
    if iv is None:
        return None
    return {"low": _num(iv.low), "high": _num(iv.high), "level": iv.level, "n_people": iv.n_people,
            "method": iv.method}


def decision_dict(dc) -> dict:
    """A dev/eval threshold (:mod:`.decide`) as the threshold file and the JSON write it."""
    def side(x, ci: bool) -> dict:
        d = {"far": _num(x.far), "frr": _num(x.frr), "people": x.people, "n_genuine": x.n_genuine,
             "n_impostor": x.n_impostor}
        if ci:
            d.update(far_ci=list(x.far_ci) if x.far_ci else None, frr_ci=list(x.frr_ci) if x.frr_ci else None)
        return d

    return {"threshold": _num(dc.threshold), "target": dc.target,
            "split": ({"dev_fraction": dc.dev_fraction, "seed": dc.seed, "by": "people"} if dc.dev_fraction is not None
                      else {"by": "dev_images"}),
            "dev": side(dc.dev, False), "eval": side(dc.eval, True),
            "calibration": dc.calibration.as_dict() if dc.calibration else None, "note": dc.note}


def threshold_file(ev) -> dict:
    """The threshold file (``--threshold-file``): one entry per model with a dev/eval threshold — what a
    deployment needs (the model's hash and exact preprocessing, the threshold, its eval rates with intervals, the
    calibration) and what ``faceroc verify`` reads."""
    from dataclasses import asdict

    entries = []
    for r in ev.models:
        if r.decision is None or r.model is None:
            continue
        prep = r.model.preprocessing
        entries.append({"model": {"name": r.name, "sha256": r.sha256, "preprocessing": prep.describe(),
                                  "align": prep.align, "flip": prep.flip, "input": asdict(prep)},
                        **decision_dict(r.decision)})
    return {"faceroc_version": __version__, "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "models": entries}


def _identification(idn) -> dict:
    """``identification`` as issue #16 names it: gallery, people, mated/non-mated probes, CMC(1..20), FNIR at each
    FPIR target (null when too few non-mated probes), the rank-1 interval, the curve and the hardest searches."""
    return {"gallery": idn.n_gallery, "gallery_people": idn.gallery_people, "mated": idn.mated,
            "nonmated": idn.nonmated, "cmc": {str(k + 1): _num(v) for k, v in enumerate(idn.cmc)},
            "fnir_at_fpir": {far_key(p.fpir): {"fnir": _num(p.fnir), "threshold": _num(p.threshold)}
                             for p in idn.fnir_at_fpir},
            "rank1_interval": _interval(idn.rank1_interval),
            "curve": {"fpir": idn.curve_fpir.tolist(), "fnir": idn.curve_fnir.tolist(),
                      "threshold": [_num(t) for t in idn.curve_threshold.tolist()]},
            "misses": [{"probe": q, "rank": rk, "mate_score": _num(ms), "best_other": who,
                        "other_score": _num(os_)} for q, rk, ms, who, os_ in idn.misses],
            "false_hits": [{"probe": q, "person": who, "score": _num(sc)} for q, who, sc in idn.false_hits]}


def _tenfold(tf) -> dict:
    """``accuracy_10fold`` as the field reports it; thresholds as cosine-score thresholds (``1 - d / 2``)."""
    return {"mean": tf.mean, "std": tf.std, "folds": list(tf.folds), "thresholds": list(tf.thresholds),
            "flip": tf.flip, "val_at_far": {"far": 1e-3, "val": _num(tf.val), "std": _num(tf.val_std),
                                            "far_reached": _num(tf.far)}}
