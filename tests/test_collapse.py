"""Collapsed models (random-init checkpoints of a training run, as in the seed article) are named as such and
raise no false alarms: the test-set check of ORL stays quiet, and they are ranked after informative models."""
import json

import numpy as np
import pytest
import timm
import torch
from helpers import ROOT

from faceroc_core import metrics as M
from faceroc_core.cli import main
from faceroc_core.verdict import model_verdict


@pytest.fixture(scope="module")
def random_checkpoints(tmp_path_factory):
    """Two untrained checkpoints (random weights, a 512-d Linear head), as a training run's first saves."""
    out = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        net = timm.create_model("mobilenetv3_small_050", pretrained=False)
        net.classifier = torch.nn.Linear(net.classifier.in_features, 512)
        p = tmp_path_factory.mktemp("ckpt") / f"my_{seed}_best_model.pth"
        torch.save(net.state_dict(), p)
        out.append(p)
    return out


def test_random_init_checkpoints_are_collapsed_and_raise_no_labelling_alarms(random_checkpoints, tmp_path):
    ids = ", ".join(repr(f"s{k}") for k in range(21, 41))
    real = ROOT / "demo" / "models" / "C_epoch60.onnx"

    def run(models, name):
        (tmp_path / f"{name}.toml").write_text(
            f'[dataset]\npath = "{ROOT / "demo" / "orl_faces"}"\nidentities = [{ids}]\n'
            + "".join(f'[[model]]\npath = "{p}"\n' + ('arch = "mobilenetv3_small_050"\nsize = "112x96"\n'
                                                      if p.suffix == ".pth" else "") for p in models))
        out = tmp_path / f"{name}.json"
        assert main(["evaluate", "--config", str(tmp_path / f"{name}.toml"), "--json", str(out), "--cache-dir",
                     str(tmp_path / "cache"), "-q", "--no-intervals"]) == 0
        return json.loads(out.read_text())

    only = run(random_checkpoints, "random")
    assert only["dataset"]["suspects"] == []  # 56 "likely labelling problems" before: none on this clean set
    for m in only["models"]:
        assert any("collapsed" in n for n in m["notes"])
    mixed, alone = run([*random_checkpoints, real], "mixed"), run([real], "real")
    assert mixed["dataset"]["suspects"] == alone["dataset"]["suspects"]  # the collapsed models change nothing


def test_score_spread_tells_collapsed_from_weak_models():
    rng = np.random.default_rng(0)
    y = np.r_[np.ones(200), np.zeros(2000)]
    weak = M.roc_curve(rng.normal(0.1 + 0.1 * y, 0.2), y)
    flat = M.roc_curve(0.999 + rng.normal(0.0002 * y, 0.0005), y)
    assert M.score_spread(weak) > 0.5 and M.score_spread(flat) < M.COLLAPSED_SPREAD


def test_a_collapsed_models_verdict_says_so():
    from faceroc_core.pipeline import evaluate_scores

    rng = np.random.default_rng(1)
    y = np.r_[np.ones(300), np.zeros(3000)]
    ev = evaluate_scores({"flat": (0.999 + rng.normal(0.0003 * y, 0.0005), y),
                          "real": (rng.normal(0.6 * y, 0.2), y)})
    flat = next(r for r in ev.models if r.name == "flat")
    assert flat.collapsed and ev.ranked()[-1].name == "flat"
    v = model_verdict(flat, ev.dataset)
    assert v.grade == "collapsed" and "have collapsed" in v.sentences[0]
    assert "崩壊" in model_verdict(flat, ev.dataset, lang="ja").headline
