"""Log an evaluation to an MLflow tracking server (``--mlflow URI``), where many trainers already track.

One MLflow run per evaluation (tagged with FaceROC's run id and the dataset's fingerprint and name), and one
nested run per model: its metrics (``auc``, ``eer``, ``tar_at_far_0.001``... and their 95% intervals over people
as ``auc_low``/``auc_high``...; the step is the checkpoint's epoch when it has one), its parameters (file name,
sha256, epoch, architecture), and the HTML report and JSON as artifacts of the evaluation's run.  Needs the
``mlflow`` extra (``pip install "faceroc[mlflow]"``, MLflow's ``mlflow-skinny``).  A local folder or ``file:``
URI is MLflow's file store (allowed here with ``MLFLOW_ALLOW_FILE_STORE``); a URL's password is never shown.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import FaceROCError
from .jsonparts import far_key
from .store import redacted

EXPERIMENT = "faceroc"


def log_to_mlflow(ev, uri: str, *, html: str | None = None, experiment: str = EXPERIMENT,
                  dataset_name: str | None = None, fingerprint: str | None = None) -> str:
    """Log ``ev`` (an :class:`~faceroc_core.results.Evaluation`) to the tracking server ``uri``; the MLflow run id
    of the evaluation (module text)."""
    try:
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise FaceROCError("--mlflow needs MLflow, which is not installed",
                           hint='pip install "faceroc[mlflow]" (mlflow-skinny), or leave out --mlflow') from None
    from .report import to_json

    if "://" not in uri or uri.startswith("file:"):  # a folder: MLflow's file store
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        if "://" not in uri:
            uri = Path(uri).resolve().as_uri()
    try:
        client = MlflowClient(tracking_uri=uri)
        exp = client.get_experiment_by_name(experiment)
        exp_id = exp.experiment_id if exp is not None else client.create_experiment(experiment)
        tags = {"faceroc.run_id": ev.run_id or "", "faceroc.dataset": dataset_name or str(ev.dataset.root),
                "faceroc.fingerprint": fingerprint or "", "faceroc.version": _version()}
        parent = client.create_run(exp_id, run_name=f"FaceROC · {dataset_name or Path(str(ev.dataset.root)).name}",
                                   tags={k: v for k, v in tags.items() if v}).info.run_id
        best = ev.best()
        if best is not None:
            client.log_metric(parent, "best_auc", float(best.auc))
        for r in ev.models:
            child = client.create_run(exp_id, run_name=r.name, tags={"mlflow.parentRunId": parent}).info.run_id
            step = r.epoch if r.epoch is not None else 0
            for key, value in _metrics(r, ev.intervals.get(r.name)).items():
                client.log_metric(child, key, value, step=step)
            for key, value in {"source": Path(str(r.source)).name, "sha256": r.sha256, "epoch": r.epoch,
                               "arch": r.arch, "kind": r.kind}.items():
                if value not in (None, ""):
                    client.log_param(child, key, str(value))
            client.set_terminated(child)
        with tempfile.TemporaryDirectory(prefix="faceroc-mlflow-") as tmp:
            (Path(tmp) / "faceroc_metrics.json").write_text(to_json(ev, indent=1), encoding="utf-8")
            if html is not None:
                (Path(tmp) / "faceroc_report.html").write_text(html, encoding="utf-8")
            for f in sorted(Path(tmp).iterdir()):
                client.log_artifact(parent, str(f))
        client.set_terminated(parent)
        return parent
    except FaceROCError:
        raise
    except Exception as e:  # a server that is down, a refused login: said with the URL's password hidden
        text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise FaceROCError(f"could not log to MLflow at {redacted(uri)}: {redacted(text)}",
                           hint="check the --mlflow URI and that the tracking server is running") from None


def _metrics(r, mi) -> dict[str, float]:
    out = {"auc": float(r.auc), "eer": float(r.eer.eer)}
    for p in r.operating_points:
        if p.tar is not None:
            out[f"tar_at_far_{far_key(p.far_target)}"] = float(p.tar)
    if mi is not None:
        for name, iv in (("auc", mi.auc), ("eer", mi.eer)):
            if iv is not None:
                out[f"{name}_low"], out[f"{name}_high"] = float(iv.low), float(iv.high)
        for far, iv in mi.tar:
            if iv is not None:
                out[f"tar_at_far_{far_key(far)}_low"], out[f"tar_at_far_{far_key(far)}_high"] = float(iv.low), float(iv.high)
    return out


def _version() -> str:
    from . import __version__

    return __version__


__all__ = ["log_to_mlflow", "EXPERIMENT"]
