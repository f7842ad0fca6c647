"""--mlflow URI: each evaluation logged to MLflow (a local file store here): one run per evaluation, one nested run
per model with its metrics at its epoch, the HTML report as an artifact; a server that is down costs nothing."""
import json

import pytest
from helpers import make_faces, make_linear_onnx

from faceroc_core.cli import main
from faceroc_core.store import Store

mlflow = pytest.importorskip("mlflow", reason="the mlflow extra (mlflow-skinny) is not installed")


def test_evaluate_logs_each_model_and_the_report_to_mlflow(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    faces = make_faces(tmp_path / "f", n_ids=6, per_id=3)
    models = [make_linear_onnx(tmp_path / f"net_epoch{k}.onnx", seed=k) for k in (3, 12)]
    track = tmp_path / "mlruns"
    out = tmp_path / "o.json"
    assert main(["evaluate", "--images", str(faces), "--model", *map(str, models), "--json", str(out),
                 "--cache-dir", str(tmp_path / "c"), "--mlflow", str(track)]) == 0
    assert "logged to MLflow as run" in capsys.readouterr().err
    client = mlflow.MlflowClient(tracking_uri=track.as_uri())
    exp = client.get_experiment_by_name("faceroc")
    runs = client.search_runs([exp.experiment_id])
    parent = next(r for r in runs if "mlflow.parentRunId" not in r.data.tags)
    children = {r.info.run_name: r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id}
    written = {m["name"]: m for m in json.loads(out.read_text())["models"]}
    assert set(children) == set(written) == {"net_epoch3", "net_epoch12"}
    assert parent.data.tags["faceroc.run_id"] == Store().list()[0]["id"]
    for name, run in children.items():
        assert run.data.metrics["auc"] == written[name]["auc"]
        assert run.data.metrics["auc_low"] == written[name]["auc_interval"]["low"]
        assert run.data.params["epoch"] == str(written[name]["epoch"]) and run.data.params["sha256"]
        history = client.get_metric_history(run.info.run_id, "auc")
        assert [h.step for h in history] == [written[name]["epoch"]]
    arts = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert {"faceroc_report.html", "faceroc_metrics.json"} <= arts


def test_a_tracking_server_that_is_down_costs_nothing_and_its_password_is_never_shown(tmp_path, capsys,
                                                                                        monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "3")
    faces = make_faces(tmp_path / "f", n_ids=5, per_id=3)
    model = make_linear_onnx(tmp_path / "m.onnx", seed=1)
    assert main(["evaluate", "--images", str(faces), "--model", str(model), "--cache-dir", str(tmp_path / "c"),
                 "--mlflow", "http://lab:hunter2-Pw@127.0.0.1:9/", "-q", "--json", str(tmp_path / "o.json")]) == 0
    err = capsys.readouterr().err
    assert "could not log to MLflow" in err and "hunter2-Pw" not in err and "***" in err
    assert len(Store().list()) == 1  # the run itself is kept
