"""A stored run back as an :class:`~faceroc_core.results.Evaluation`: what the report, the charts, the verdicts and
the dashboard's Compare and Report pages read, rebuilt from the run's JSON (:func:`faceroc_core.report.to_dict`).

What comes back is what the JSON holds: each model's ROC in its stored form (bounded: TAR within 1e-4 of the full
curve at any FAR, exact at each decade), its AUC, EER and operating points exactly as measured, the intervals over
people, the paired comparisons, the score histograms, the hardest pairs, the test set's suspects, subgroups and
failures.  Not the images, previews or per-person rows: those are never stored.

>>> ev = evaluation_from_dict({"dataset": {"n_images": 4, "n_identities": 2, "n_genuine": 2, "n_impostor": 4},
...     "models": [{"name": "m", "source": "m.onnx", "kind": "onnx", "auc": 0.75, "eer": 0.5, "eer_threshold": 0.5,
...                 "tar_at_far": {}, "operating_points": [], "n_images": 4, "n_genuine": 2, "n_impostor": 4,
...                 "roc": {"fpr": [0, 0.25, 1], "tpr": [0, 0.5, 1], "thresholds": [None, 0.9, 0.1]}}]})
>>> r = ev.models[0]
>>> r.roc.tps.tolist(), r.roc.fps.tolist(), r.roc.thresholds.tolist()
([0, 1, 2], [0, 1, 4], [inf, 0.9, 0.1])
"""
from __future__ import annotations

import math

import numpy as np

from . import metrics as M
from .dataset import Skipped
from .diagnose import HardPair, Suspect
from .errors import FaceROCError
from .groups import GroupResult
from .results import DatasetSummary, Evaluation, FaceSummary, Measurement, ModelFailure, ModelResult
from .stream import HIST_BINS
from .uncertainty import METHOD, Interval, MetricIntervals, PairedComparison


def evaluation_from_dict(d: dict) -> Evaluation:
    """The :class:`Evaluation` a run's JSON describes (module text); :class:`FaceROCError` when it holds no ROC."""
    if not isinstance(d, dict) or not isinstance(d.get("models"), list):
        raise FaceROCError("not a FaceROC run (no models)", hint="faceroc history list shows the stored runs")
    models = tuple(model_from_dict(m) for m in d["models"])
    fars = tuple(float(p["far_target"]) for p in (d["models"][0].get("operating_points") or [])) if models else ()
    return Evaluation(
        dataset=_dataset(d.get("dataset") or {}), models=models,
        failures=tuple(ModelFailure(name=f.get("name", ""), source=f.get("source", ""), reason=f.get("reason") or
                                    f.get("error", ""), hint=f.get("hint")) for f in d.get("failures") or []),
        fars=fars or M.DEFAULT_FARS,
        intervals={m["name"]: mi for m in d["models"] if (mi := _intervals(m)) is not None},
        comparisons=tuple(PairedComparison(better=c["better"], worse=c["worse"], delta=float(c["auc_difference"]),
                                           interval=iv, p_better=_float(c.get("p_better"), math.nan))
                          for c in d.get("comparisons") or [] if (iv := _interval(c.get("interval"))) is not None),
        uncertainty_note=d.get("uncertainty_note"))


def _float(x, default: float) -> float:
    return default if x is None else float(x)


def _dataset(ds: dict) -> DatasetSummary:
    faces = ds.get("faces")
    return DatasetSummary(
        root=str(ds.get("root") or ""), label_mode=str(ds.get("labels") or ("folder" if ds.get("n_images") else "scores")),
        n_images=int(ds.get("n_images", 0)), n_identities=int(ds.get("n_identities", 0)),
        n_genuine=int(ds.get("n_genuine", 0)), n_impostor=int(ds.get("n_impostor", 0)),
        skipped=tuple(Skipped(path=s["path"], reason=s["reason"]) for s in ds.get("skipped") or []),
        faces=FaceSummary(n_checked=int(faces["checked"]), no_face=tuple(faces["no_face"]),
                          several_faces=tuple(faces["several_faces"]), seconds=float(faces.get("seconds", 0)))
        if faces else None,
        suspects=tuple(Suspect(kind=s["kind"], identities=tuple(s["identities"]), images=tuple(s["images"]),
                               evidence=s["evidence"]) for s in ds.get("suspects") or []),
        protocol=ds.get("protocol"), compared_on=ds.get("compared_on"))


def _roc(m: dict) -> M.RocCurve:
    roc = m.get("roc")
    if not roc or not roc.get("fpr"):
        raise FaceROCError(f"the run holds no ROC for {m.get('name')!r}",
                           hint="runs are stored with their curves; this one was written without (--roc none)")
    n_gen, n_imp = int(m["n_genuine"]), int(m["n_impostor"])
    tps = np.maximum.accumulate(np.rint(np.asarray(roc["tpr"], dtype=float) * n_gen).astype(np.int64))
    fps = np.maximum.accumulate(np.rint(np.asarray(roc["fpr"], dtype=float) * n_imp).astype(np.int64))
    thr = np.array([math.inf if t is None else float(t) for t in roc["thresholds"]], dtype=np.float64)
    thr[0] = math.inf
    return M.RocCurve(thresholds=thr, tps=tps, fps=fps, n_genuine=n_gen, n_impostor=n_imp)


def model_from_dict(m: dict) -> ModelResult:
    """One model of a run's JSON as a :class:`ModelResult` (its stored curve, histograms, pairs, subgroups)."""
    roc = _roc(m)
    hist = m.get("score_histogram") or {}
    edges = np.asarray(hist.get("edges") or np.linspace(-1, 1, HIST_BINS + 1), dtype=np.float64)
    empty = np.zeros(edges.size - 1, dtype=np.int64)
    ops = tuple(M.OperatingPoint(far_target=float(p["far_target"]), far=p.get("far"), tar=p.get("tar"),
                                 threshold=math.inf if p.get("threshold") is None and p.get("tar") is not None
                                 else p.get("threshold"))
                for p in m.get("operating_points") or [])
    measurement = Measurement(
        roc=roc, auc=float(m["auc"]),
        eer=M.EqualErrorRate(eer=float(m["eer"]), threshold=_float(m.get("eer_threshold"), math.inf)),
        operating_points=ops, genuine_hist=np.asarray(hist.get("genuine", empty), dtype=np.int64),
        impostor_hist=np.asarray(hist.get("impostor", empty), dtype=np.int64), hist_edges=edges)
    return ModelResult(
        name=m["name"], source=m.get("source", ""), kind=m.get("kind", "onnx"), measurement=measurement,
        n_images=int(m.get("n_images", 0)), notes=tuple(m.get("notes") or ()),
        skipped=tuple(Skipped(path=s["path"], reason=s["reason"]) for s in m.get("skipped") or []),
        hardest_impostors=tuple(_pair(p) for p in m.get("hardest_impostors") or []),
        hardest_genuines=tuple(_pair(p) for p in m.get("hardest_genuines") or []),
        subgroups=tuple(GroupResult(attribute=g["attribute"], value=g["value"], n_people=g["n_people"],
                                    n_genuine=g["n_genuine"], n_impostor=g["n_impostor"], auc=g.get("auc"),
                                    interval=_interval(g.get("auc_interval")), threshold=g.get("threshold"),
                                    fmr=g.get("fmr"), fnmr=g.get("fnmr"), too_small=bool(g.get("too_small")))
                        for g in m.get("subgroups") or []))


def _pair(p: dict) -> HardPair:
    return HardPair(a=p["a"], b=p["b"], identity_a=p["identity_a"], identity_b=p["identity_b"],
                    score=_float(p.get("score"), math.nan), others=tuple((k, v) for k, v in (p.get("others") or {}).items()))


def _interval(iv: dict | None) -> Interval | None:
    if not iv or iv.get("low") is None or iv.get("high") is None:
        return None
    return Interval(low=float(iv["low"]), high=float(iv["high"]), level=float(iv.get("level", 0.95)),
                    n_people=int(iv.get("n_people", 0)), method=iv.get("method") or METHOD)


def _intervals(m: dict) -> MetricIntervals | None:
    if m.get("auc_interval") is None and not m.get("tar_at_far_interval") and m.get("eer_interval") is None:
        return None
    return MetricIntervals(auc=_interval(m.get("auc_interval")),
                           tar=tuple((float(k), _interval(v)) for k, v in (m.get("tar_at_far_interval") or {}).items()),
                           eer=_interval(m.get("eer_interval")))
