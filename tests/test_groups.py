"""Subgroups from a metadata CSV: parsing, results against a slow reference, too-small groups, the CLI."""
import json

import numpy as np
import pytest
from helpers import ROOT
from sklearn.metrics import roc_auc_score

from faceroc_core import metrics as M
from faceroc_core.diagnose import pair_rows
from faceroc_core.errors import FaceROCError
from faceroc_core.groups import GLOBAL_FMR, read_groups_csv
from faceroc_core.pipeline import evaluate_embeddings
from faceroc_core.stream import pair_scores


def test_csv_is_read_and_bad_ones_name_file_and_line():
    t = read_groups_csv(b"identity,glasses,age\nalice,yes,20-29\nbob,no,\n", known=["alice", "bob", "carol"])
    assert t.attributes == ("glasses", "age") and t.values["glasses"] == {"alice": "yes", "bob": "no"}
    assert t.of("age", ["alice", "bob", "zed"]).tolist() == ["20-29", "", ""]
    for data, msg in ((b"name,glasses\na,b\n", "header must start with identity"),
                      (b"identity,glasses\na\n", "line 2: 1 cells, the header has 2"),
                      (b"identity,g\n,yes\n", "line 2: the identity is empty"),
                      (b"\xff\xfe", "not UTF-8")):
        with pytest.raises(FaceROCError, match=msg) as e:
            read_groups_csv(data, source="groups.csv")
        assert "groups.csv" in str(e.value)


def test_subgroup_results_equal_a_slow_reference():
    rng = np.random.default_rng(0)
    n_ids, per = 24, 5
    ids = np.repeat([f"p{k}" for k in range(n_ids)], per)
    centres = rng.normal(size=(n_ids, 8))
    emb = np.repeat(centres, per, axis=0) + rng.normal(scale=np.where(np.arange(n_ids * per) < 60, 0.6, 1.2)[:, None],
                                                        size=(n_ids * per, 8))
    ps = pair_scores(emb, ids)
    pa, pb = pair_rows(np.arange(ps.scores.size), ids.size)
    csv_text = "identity,half\n" + "".join(f"p{k},{'first' if k < 12 else 'second'}\n" for k in range(n_ids))
    csv_text += "p0x,unused\n"
    table = read_groups_csv(csv_text)
    roc = M.roc_curve(ps.scores, ps.genuine)
    (res,) = evaluate_embeddings({"m": (emb, ids)}, groups=table).models
    got = {g.value: g for g in res.subgroups}
    thr = M.tar_at_far(roc, GLOBAL_FMR).threshold
    for value, members in (("first", {f"p{k}" for k in range(12)}), ("second", {f"p{k}" for k in range(12, 24)})):
        inside = [k for k in range(ps.scores.size) if ids[pa[k]] in members and ids[pb[k]] in members]
        s, g = ps.scores[inside], ps.genuine[inside]
        r = got[value]
        assert r.auc == pytest.approx(roc_auc_score(g, s), abs=1e-15) and r.n_people == 12
        assert r.fnmr == pytest.approx(np.mean(s[g] < thr)) and r.threshold == thr
        assert r.fmr is None or r.fmr == pytest.approx(np.mean(s[~g] >= thr))
        assert r.interval.low <= r.auc <= r.interval.high
    assert got["first"].auc > got["second"].auc  # the tighter clusters are easier
    small = read_groups_csv("identity,tiny\np0,x\np1,x\n")
    (r,) = evaluate_embeddings({"m": (emb, ids)}, groups=small, intervals=False).models[0].subgroups
    assert r.too_small and r.n_people == 2 and r.interval is None


def test_cli_groups_on_real_faces(tmp_path):
    from faceroc_core.cli import main

    groups = tmp_path / "groups.csv"
    groups.write_text("identity,shelf\n" + "".join(f"s{k},{'low' if k < 31 else 'high'}\n" for k in range(21, 41)))
    out = tmp_path / "o.json"
    assert main(["evaluate", "--config", str(ROOT / "demo" / "demo.toml"), "--model",
                 str(ROOT / "demo" / "models" / "C_epoch60.onnx"), "--groups", str(groups), "--json", str(out),
                 "--cache-dir", str(tmp_path / "c"), "-q"]) == 0
    m = json.loads(out.read_text())["models"][0]
    by = {g["value"]: g for g in m["subgroups"]}
    assert set(by) == {"low", "high"} and by["low"]["n_people"] == 10 and by["high"]["n_people"] == 10
    assert all(0.5 < g["auc"] <= 1 and g["auc_interval"]["low"] <= g["auc"] for g in by.values())
    assert by["low"]["threshold"] == by["high"]["threshold"]  # one global threshold
    from faceroc_core.pipeline import ModelSpec, evaluate
    from faceroc_core.report import html_report

    ev = evaluate(ROOT / "demo" / "orl_faces", [ModelSpec(ROOT / "demo" / "models" / "C_epoch60.onnx")],
                  labels="folder", identities=[f"s{k}" for k in range(21, 41)], cache_dir=tmp_path / "c", intervals=False,
                  groups=read_groups_csv(groups))
    page = html_report(ev, lang="ja")
    assert "人物のグループ" in page and page.count("<td class='text'>shelf</td>") == 2
