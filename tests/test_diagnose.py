"""Why a model fails: hardest pairs, people, and test-set problems (against slow references and planted faults)."""
import shutil

import numpy as np
import pytest
from helpers import ROOT

from faceroc_core import diagnose as D
from faceroc_core import stream
from faceroc_core.stream import pair_scores
from faceroc_core.vectors import normalise


def clusters(n_ids=8, per=5, dim=16, spread=0.25, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_ids, dim))
    emb = np.repeat(centres, per, axis=0) + spread * rng.normal(size=(n_ids * per, dim))
    ids = np.repeat([f"p{k}" for k in range(n_ids)], per)
    paths = np.array([f"{i}/{k}.png" for i, k in zip(ids, np.tile(np.arange(per), n_ids))])
    return emb, ids, paths


def view(emb, ids, name="m"):
    e = normalise(emb)
    ps = pair_scores(e, ids)
    st = stream.scan(e, ids)
    return D.ModelView(name=name, emb=e, index=np.arange(len(ids)), threshold=float(np.median(ps.scores)), auc=0.99,
                       genuine_median=float(np.median(ps.scores[ps.genuine])),
                       impostor_median=float(np.median(ps.scores[~ps.genuine])), duplicates=st.duplicates)


def test_pair_rows_match_triu_order():
    for n in (2, 3, 7, 50):
        i, j = np.triu_indices(n, 1)
        got_i, got_j = D.pair_rows(np.arange(i.size), n)
        assert np.array_equal(got_i, i) and np.array_equal(got_j, j)


def test_hardest_pairs_equal_a_full_sort():
    emb, ids, _ = clusters(seed=1)
    ps = pair_scores(emb, ids)
    imp, gen = D.hardest_pairs(ps, k=7)
    order = np.argsort(-ps.scores, kind="stable")
    slow_imp = [k for k in order if not ps.genuine[k]][:7]
    slow_gen = [k for k in np.argsort(ps.scores, kind="stable") if ps.genuine[k]][:7]
    assert ps.scores[imp].tolist() == ps.scores[slow_imp].tolist()
    assert ps.scores[gen].tolist() == ps.scores[slow_gen].tolist()
    assert not ps.genuine[imp].any() and ps.genuine[gen].all()


def test_people_equal_a_brute_force():
    emb, ids, paths = clusters(seed=2)
    e = normalise(emb)
    got = {p.identity: p for p in D.people(stream.scan(emb, ids), ids, paths)}
    sim = e @ e.T
    for name in np.unique(ids):
        mine = np.flatnonzero(ids == name)
        others = np.flatnonzero(ids != name)
        g = [sim[a, b] for x, a in enumerate(mine) for b in mine[x + 1:]]
        p = got[name]
        assert p.genuine_mean == pytest.approx(np.mean(g)) and p.genuine_scores.size == len(g)
        worst = sim[np.ix_(mine, others)]
        assert p.worst_impostor == pytest.approx(worst.max())
        a, b = np.unravel_index(np.argmax(worst), worst.shape)
        assert p.worst_pair == (paths[mine[a]], paths[others[b]]) and p.worst_impostor_with == ids[others[b]]
        assert p.worst_impostor_with == ids[others[np.unravel_index(worst.argmax(), worst.shape)[1]]]
        thr = float(np.median(g))
        assert p.false_rejects(thr) == sum(s < thr for s in g)


def test_suspects_quiet_on_clean_clusters_and_find_each_planted_fault():
    emb, ids, paths = clusters(n_ids=10, per=6, seed=3)
    assert D.suspects([view(emb, ids), view(emb * 1.0 + 0.01, ids, "m2")], ids, paths) == ()
    ids = ids.copy()
    ids[ids == "p1"] = "p1_again"  # still its own identity: fine
    # plant: p2's images also filed as "twin"; one p3 image filed under p4; a p5 photo copied under p6
    twin = emb[ids == "p2"]
    moved = np.flatnonzero(ids == "p3")[0]
    ids[moved] = "p4"
    dup = emb[np.flatnonzero(ids == "p5")[0]][None]
    emb2 = np.vstack([emb, twin, dup])
    ids2 = np.r_[ids, ["twin"] * len(twin), ["p6"]]
    paths2 = np.r_[paths, [f"twin/{k}.png" for k in range(len(twin))], ["p6/copy.png"]]
    found = D.suspects([view(emb2, ids2)], ids2, paths2)
    kinds = {(s.kind, frozenset(s.identities)) for s in found}
    assert ("same_person_two_names", frozenset({"p2", "twin"})) in kinds
    assert ("wrong_identity", frozenset({"p4", "p3"})) in kinds
    assert ("duplicate_image", frozenset({"p5", "p6"})) in kinds
    assert len(found) == 3, [s.evidence for s in found]
    assert all(s.evidence for s in found)


def test_real_faces_planted_problems_found_and_json_carries_them(tmp_path):
    """ORL people the demo model never saw, with an identity copied under a second name, a photo moved to another
    person and a photo copied under another person: each is found; the clean set gives nothing."""
    import json

    from faceroc_core.pipeline import ModelSpec, evaluate
    from faceroc_core.report import to_json

    root = tmp_path / "faces"
    for k in range(21, 41):
        shutil.copytree(ROOT / "demo" / "orl_faces" / f"s{k}", root / f"s{k}")
    spec = [ModelSpec(ROOT / "demo" / "models" / "C_epoch60.onnx", name="C")]
    clean = evaluate(root, spec, labels="folder", cache_dir=tmp_path / "c", intervals=False)
    # one model of AUC 0.95 alone may take a photo or two of a hard person for someone else's (1% of 200 here)
    assert len(clean.dataset.suspects) <= 2
    shutil.copytree(root / "s21", root / "twin_of_s21")
    shutil.move(root / "s22" / "3.pgm", root / "s23" / "moved.pgm")
    shutil.copy(root / "s24" / "5.pgm", root / "s25" / "copy.pgm")
    ev = evaluate(root, spec, labels="folder", cache_dir=tmp_path / "c", intervals=False)
    kinds = {(s.kind, frozenset(s.identities)) for s in ev.dataset.suspects}
    assert ("same_person_two_names", frozenset({"s21", "twin_of_s21"})) in kinds
    assert ("wrong_identity", frozenset({"s23", "s22"})) in kinds
    assert ("duplicate_image", frozenset({"s24", "s25"})) in kinds
    d = json.loads(to_json(ev))
    assert {s["kind"] for s in d["dataset"]["suspects"]} >= {"same_person_two_names", "wrong_identity",
                                                             "duplicate_image"}
    m = d["models"][0]
    # the hardest impostor pairs are the planted copies (score 1)
    assert m["hardest_impostors"][0]["score"] == pytest.approx(1.0)
    assert {m["hardest_impostors"][0]["identity_a"], m["hardest_impostors"][0]["identity_b"]} in (
        {"s21", "twin_of_s21"}, {"s24", "s25"})
    # ... and the hardest genuine pairs are the misfiled photos against their supposed own people
    in_hardest = {p[k] for p in m["hardest_genuines"] for k in ("a", "b")}
    assert "s25/copy.pgm" in in_hardest
    assert len(m["det"]["fmr"]) == len(m["det"]["fnmr"]) and m["det"]["fnmr"][0] == 1.0
    assert {p["identity"] for p in m["people"]} >= {"s21", "twin_of_s21"}
    from faceroc_core.report import html_report

    page = html_report(ev, images_root=root)
    assert "Where the models go wrong" in page and "DET curves" in page and "One person under two names" in page
    assert page.count("class='face'") >= 8  # thumbnails of the hardest pairs and of the suspects

    # the CLI says so too, and writes the same lists
    from faceroc_core.cli import main

    out = tmp_path / "cli.json"
    assert main(["evaluate", "--images", str(root), "--model", str(ROOT / "demo" / "models" / "C_epoch60.onnx"),
                 "--json", str(out), "--cache-dir", str(tmp_path / "c"), "--no-intervals",
                 "--html", str(tmp_path / "r.html")]) == 0
    def kinds_of(susp):
        return [(s["kind"], s["identities"], s["images"]) for s in susp]

    assert kinds_of(json.loads(out.read_text())["dataset"]["suspects"]) == kinds_of(d["dataset"]["suspects"])
    assert "class='face'" in (tmp_path / "r.html").read_text()


def test_disagreements_equal_a_slow_reference():
    rng = np.random.default_rng(4)
    s1, s2 = rng.normal(size=500), rng.normal(size=500)
    pos = D.disagreements(s1, 0.2, s2, -0.1, k=10)
    slow = sorted((k for k in range(500) if (s1[k] >= 0.2) != (s2[k] >= -0.1)),
                  key=lambda k: -min(abs(s1[k] - 0.2), abs(s2[k] + 0.1)))[:10]
    assert pos.tolist() == slow


def test_streamed_disagreements_equal_a_slow_reference(monkeypatch):
    monkeypatch.setattr(stream._tiles, "TILE_ROWS", 16)  # several tiles and threads
    monkeypatch.setattr(stream._tiles, "TILE_COLS", 24)
    emb, ids, _ = clusters(n_ids=12, per=6, seed=5)
    rng = np.random.default_rng(5)
    e1, e2 = normalise(emb), normalise(emb + rng.normal(scale=0.6, size=emb.shape))
    s1, s2 = (e1 @ e1.T)[np.triu_indices(len(ids), 1)], (e2 @ e2.T)[np.triu_indices(len(ids), 1)]
    pos = D.disagreements(s1, 0.5, s2, 0.4, k=15)
    i, j = D.pair_rows(pos, len(ids))
    assert stream.disagreements(e1, e2, 0.5, 0.4, k=15) == tuple(zip(i.tolist(), j.tolist()))
