"""Pair lists (protocols): CSV and LFW pairs.txt, errors that name the line, and the same counting as all pairs."""
import json

import numpy as np
import pytest
from helpers import LFW, ROOT, SHARED_REASON
from sklearn.metrics import roc_auc_score

from faceroc_core.cli import main
from faceroc_core.dataset import scan_folder
from faceroc_core.errors import DatasetError
from faceroc_core.pipeline import ModelSpec, evaluate
from faceroc_core.protocol import read_pair_list

FACES = ROOT / "demo" / "orl_faces"
MODEL = ROOT / "demo" / "models" / "C_epoch60.onnx"
IDS = [f"s{k}" for k in range(21, 31)]


def test_csv_and_lfw_formats_and_errors_that_name_the_line():
    paths = ["ann/ann_0001.jpg", "ann/ann_0002.jpg", "bob/bob_0001.jpg"]
    ids = ["ann", "ann", "bob"]
    pl = read_pair_list("a,b,label\nann/ann_0001.jpg,ann/ann_0002.jpg,1\nann/ann_0002.jpg,bob/bob_0001.jpg,0\n",
                        paths, ids)
    assert (pl.a.tolist(), pl.b.tolist(), pl.genuine.tolist()) == ([0, 1], [1, 2], [True, False])
    lfw = read_pair_list("1\t2\nann\t1\t2\nann\t2\tbob\t1\n", paths, ids)
    assert (lfw.a.tolist(), lfw.b.tolist(), lfw.genuine.tolist()) == ([0, 1], [1, 2], [True, False])
    with pytest.raises(DatasetError, match="line 3: 'ann/ann_0009.jpg' is not among the faces") as e:
        read_pair_list(b"a,b\nann/ann_0001.jpg,bob/bob_0001.jpg\nann/ann_0009.jpg,bob/bob_0001.jpg\n", paths, ids,
                       source="p.csv")
    assert "relative to the faces folder" in e.value.hint and "p.csv" in str(e.value)
    with pytest.raises(DatasetError, match="line 2: ann_0007 is not among the faces"):
        read_pair_list("1 1\nann 1 7\n", paths, ids)
    with pytest.raises(DatasetError, match="header"):
        read_pair_list("x,y\n1,2\n", paths, ids)
    with pytest.raises(DatasetError, match="1 same-person and 0 different-people"):
        read_pair_list("a,b\nann/ann_0001.jpg,ann/ann_0002.jpg\n", paths, ids)


def test_a_protocol_of_every_pair_gives_the_all_pairs_numbers(tmp_path):
    ds = scan_folder(FACES, labels="folder", identities=IDS)
    rel = [r.relpath for r in ds.images]
    i, j = np.triu_indices(len(rel), 1)
    f = tmp_path / "all.csv"
    f.write_text("a,b\n" + "".join(f"{rel[a]},{rel[b]}\n" for a, b in zip(i, j)))
    ev_every = evaluate(ds, [ModelSpec(MODEL)], cache_dir=tmp_path / "c")
    every = ev_every.models[0]
    listed = evaluate(ds, [ModelSpec(MODEL)], cache_dir=tmp_path / "c", pairs=f)
    m = listed.models[0]
    assert (m.n_genuine, m.n_impostor) == (every.n_genuine, every.n_impostor)
    assert m.auc == pytest.approx(every.auc, abs=1e-12) and m.eer.eer == pytest.approx(every.eer.eer, abs=1e-12)
    assert m.tar(1e-2).tar == every.tar(1e-2).tar
    assert listed.dataset.protocol == "all.csv" and listed.auc_intervals[m.name].low < m.auc
    a, b = listed.intervals[m.name], ev_every.intervals[every.name]  # the same people on the same pairs
    for x, y in ((a.auc, b.auc), (a.eer, b.eer), (a.tar_at(1e-2), b.tar_at(1e-2))):
        assert (x.low, x.high) == pytest.approx((y.low, y.high), abs=1e-9)


def test_cli_with_a_short_protocol_scores_only_its_pairs(tmp_path):
    ds = scan_folder(FACES, labels="folder", identities=IDS)
    rel = [r.relpath for r in ds.images]
    rng = np.random.default_rng(0)
    lines, truth = ["a,b,label"], []
    for _ in range(60):
        a, b = rng.choice(len(rel), 2, replace=False)
        lab = int(rel[a].split("/")[0] == rel[b].split("/")[0])
        lines.append(f"{rel[a]},{rel[b]},{lab}")
        truth.append(lab)
    for k in range(0, 40, 4):  # some same-person pairs for sure
        lines.append(f"{rel[k]},{rel[k + 1]},1")
        truth.append(1)
    f = tmp_path / "p.csv"
    f.write_text("\n".join(lines) + "\n")
    out = tmp_path / "o.json"
    assert main(["evaluate", "--images", str(FACES), "--model", str(MODEL), "--pairs", str(f), "--json", str(out),
                 "--cache-dir", str(tmp_path / "c"), "-q"]) == 0
    d = json.loads(out.read_text())
    m = d["models"][0]
    assert d["dataset"]["protocol"] == "p.csv"
    assert (m["n_genuine"], m["n_impostor"]) == (sum(truth), len(truth) - sum(truth))
    used = {p for ln in lines[1:] for p in ln.split(",")[:2]}
    assert d["dataset"]["n_images"] == len(used)  # only the listed images were embedded


@pytest.mark.skipif(not LFW.is_dir(), reason=SHARED_REASON)
def test_lfw_pairs_txt_on_real_lfw_photos(tmp_path):
    names = sorted(p.name for p in LFW.iterdir() if p.is_dir())[:6]
    rows = []
    for n in names:
        rows.append(f"{n}\t1\t2")
    for a, b in zip(names, names[1:]):
        rows.append(f"{a}\t1\t{b}\t2")
    f = tmp_path / "pairs.txt"
    f.write_text(f"1\t{len(names)}\n" + "\n".join(rows) + "\n")
    ev = evaluate(LFW, [ModelSpec(MODEL, align=True)], cache_dir=tmp_path / "c", pairs=f)
    m = ev.models[0]
    assert (m.n_genuine, m.n_impostor) == (len(names), len(names) - 1) and ev.dataset.n_images == 2 * len(names)
    s = [p.score for p in m.hardest_genuines] + [p.score for p in m.hardest_impostors]
    y = [1] * len(m.hardest_genuines) + [0] * len(m.hardest_impostors)
    assert m.auc == pytest.approx(roc_auc_score(y, s))  # every listed pair is among the hardest (fewer than 20)
