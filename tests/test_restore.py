"""A stored run comes back as an Evaluation (faceroc_core.restore): the same numbers, intervals, comparisons and
histograms; its report is written by `faceroc history show ID --html`; the Python API keeps its runs."""
import json

import numpy as np
import pytest
from helpers import make_faces, make_linear_onnx

from faceroc_core.cli import main
from faceroc_core.errors import FaceROCError
from faceroc_core.options import spec_from_options
from faceroc_core.pipeline import evaluate
from faceroc_core.report import html_report, to_dict
from faceroc_core.restore import evaluation_from_dict
from faceroc_core.store import Store


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("restore")
    faces = make_faces(tmp / "people", n_ids=8, per_id=4)
    models = [make_linear_onnx(tmp / f"net_epoch{k}.onnx", seed=k) for k in (4, 9)]
    ev = evaluate(faces, [spec_from_options(p) for p in models], cache_dir=tmp / "c", store=False)
    return ev, faces, tmp


def test_a_stored_run_comes_back_with_its_numbers(evaluated):
    ev, _, _ = evaluated
    back = evaluation_from_dict(json.loads(json.dumps(to_dict(ev))))
    assert [r.name for r in back.ranked()] == [r.name for r in ev.ranked()]
    for a, b in zip(ev.models, back.models):
        assert b.auc == a.auc and b.eer == a.eer and b.epoch == a.epoch
        assert [(p.far_target, p.tar, p.threshold) for p in b.operating_points] == \
               [(p.far_target, p.tar, p.threshold) for p in a.operating_points]
        assert np.array_equal(b.genuine_hist, a.genuine_hist) and np.array_equal(b.impostor_hist, a.impostor_hist)
        assert (b.n_genuine, b.n_impostor) == (a.n_genuine, a.n_impostor)
        # the stored (bounded) curve: its TAR at any FAR within 1e-4 of the full curve's, and its thresholds true
        for far in (0.5, 0.1, 0.03, 0.01):
            assert b.measurement.tar(far).tar == pytest.approx(a.measurement.tar(far).tar, abs=1e-4)
        assert set(b.roc.thresholds[1:]) <= set(a.roc.thresholds[1:])
        assert b.hardest_impostors[0].score == pytest.approx(a.hardest_impostors[0].score)
        ia, ib = ev.intervals[a.name], back.intervals[b.name]
        assert (ib.auc.low, ib.auc.high) == (ia.auc.low, ia.auc.high) and ib.eer == ia.eer
    assert [(c.better, c.worse, c.delta, c.p_better) for c in back.comparisons] == \
           [(c.better, c.worse, c.delta, c.p_better) for c in ev.comparisons]
    again = to_dict(back)  # and it writes the same JSON again (the curve in its stored form)
    assert [m["auc_interval"] for m in again["models"]] == [m["auc_interval"] for m in to_dict(ev)["models"]]
    assert [m["tar_at_far"] for m in again["models"]] == [m["tar_at_far"] for m in to_dict(ev)["models"]]
    with pytest.raises(FaceROCError, match="not a FaceROC run"):
        evaluation_from_dict({"dataset": {}})


def test_the_python_api_keeps_its_runs_without_paths_and_history_show_writes_the_report(evaluated, tmp_path, capsys):
    _, faces, tmp = evaluated
    model = make_linear_onnx(tmp_path / "deep" / "dir" / "mine_ep12.onnx", seed=3)
    ev = evaluate(faces, [spec_from_options(model)], cache_dir=tmp / "c")
    assert ev.run_id and [r["id"] for r in Store().list()] == [ev.run_id]
    stored = Store().get(ev.run_id)
    assert stored["dataset"]["root"] == "people" and stored["models"][0]["source"] == "mine_ep12.onnx"
    assert str(tmp_path) not in json.dumps(stored) and stored["models"][0]["epoch"] == 12
    assert Store().list()[0]["models"][0]["epoch"] == 12
    assert evaluate(faces, [spec_from_options(model)], cache_dir=tmp / "c", store=False).run_id is None
    assert len(Store().list()) == 1
    out = tmp_path / "report.html"
    assert main(["history", "show", ev.run_id, "--html", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and "mine_ep12" in page and "<svg" in page and "people" in page
    assert str(tmp_path) not in page
    html_ja = html_report(evaluation_from_dict(stored), lang="ja")
    assert "lang='ja'" in html_ja


def test_a_checkpoints_own_epoch_entry_is_its_epoch(tmp_path):
    import timm
    import torch

    faces = make_faces(tmp_path / "f", n_ids=5, per_id=3)
    torch.manual_seed(0)
    net = timm.create_model("resnet18", pretrained=False, num_classes=16).eval()
    torch.save({"epoch": 68, "state_dict": net.state_dict(), "best_acc": 0.91}, tmp_path / "last.pth")
    ev = evaluate(faces, [spec_from_options(tmp_path / "last.pth", size=(32, 32))], cache_dir=tmp_path / "c")
    assert not ev.failures and ev.models[0].epoch == 68
    assert Store().list()[0]["models"][0]["epoch"] == 68
    again = evaluate(faces, [spec_from_options(tmp_path / "last.pth", size=(32, 32))], cache_dir=tmp_path / "c",
                     store=False)  # the export comes from the cache: the epoch still from the checkpoint
    assert again.models[0].epoch == 68


def test_runs_of_your_own_scores_and_embeddings_are_kept_and_come_back(tmp_path, capsys):
    rng = np.random.default_rng(0)
    y = np.r_[np.ones(200), np.zeros(2000)].astype(int)
    csv = tmp_path / "scores.csv"
    csv.write_text("label,score,model\n" + "".join(f"{a},{s:.6f},{m}\n" for m in ("mine", "theirs")
                                                   for a, s in zip(y, rng.normal(y * (2 if m == "mine" else 1), 1))))
    out = tmp_path / "s.json"
    assert main(["scores", str(csv), "--json", str(out)]) == 0
    assert "stored as run" in capsys.readouterr().err
    ids = np.repeat([f"p{k}" for k in range(6)], 4)
    npz = tmp_path / "emb.npz"
    np.savez(npz, embeddings=rng.normal(size=(24, 8)) + np.repeat(rng.normal(size=(6, 8)), 4, axis=0) * 2,
             identities=ids)
    assert main(["embeddings", str(npz), "--json", str(tmp_path / "e.json"), "-q"]) == 0
    assert main(["scores", str(csv), "--json", str(out), "--no-store", "-q"]) == 0
    runs = Store().list()
    assert [r["dataset"]["name"] for r in runs] == ["embeddings", "scores.csv"]
    for r in runs:
        back = evaluation_from_dict(Store().get(r["id"]))
        assert [m.auc for m in back.models] == [m["auc"] for m in r["models"]]
    scores = evaluation_from_dict(Store().get(runs[1]["id"]))
    assert scores.dataset.label_mode == "scores" and len(scores.models) == 2
    assert "<svg" in html_report(scores)
