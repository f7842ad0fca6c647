"""1:N identification against brute force: the whole probe x gallery matrix held, loops over probes and people
(ties, several gallery images per person, people with no probes, non-mated probes)."""
import numpy as np
import pytest

from faceroc_core.errors import DatasetError
from faceroc_core.identify import FPIRS, RANKS, auto_split, identification, read_gallery_csv, search


def gallery_set(seed, n_people=12, per=4, ties=False):
    rng = np.random.default_rng(seed)
    codes = np.repeat(np.arange(n_people), per)
    e = rng.normal(size=(n_people, 8))[codes] * 1.2 + rng.normal(size=(codes.size, 8))
    if ties:  # four coordinates of +-1 each: every score is exactly a multiple of 1/4, however it is summed
        e = np.zeros((codes.size, 8))
        support = [rng.choice(8, 4, replace=False) for _ in range(n_people)]
        signs = rng.choice([-1.0, 1.0], size=(n_people, 4))
        for i, c in enumerate(codes):
            sg = signs[c] * np.where(rng.random(4) < 0.15, -1, 1)
            e[i, support[c]] = sg
    ids = np.array([f"p{c:02d}" for c in codes])
    gallery = np.zeros(codes.size, bool)
    probe = np.zeros(codes.size, bool)
    for p in range(n_people):
        rows = np.flatnonzero(codes == p)
        if p % 5 == 4:
            probe[rows] = True  # non-mated: never enrolled
        elif p % 5 == 3:
            gallery[rows] = True  # enrolled with every photo, no probes
        else:
            gallery[rows[:2]] = True  # two gallery photos: the best one counts
            probe[rows[2:]] = True
    return e, ids, gallery, probe


def brute(e, ids, gallery, probe, fpirs=FPIRS):
    u = e / np.linalg.norm(e, axis=1, keepdims=True)
    S = u @ u.T  # the whole matrix, held (equal scores stay equal however they are computed below)
    people = sorted(set(ids[gallery]))
    ranks, mates, tops, hit1 = [], [], [], []
    nonmated_tops = []
    for q in np.flatnonzero(probe):
        score = {p: max(float(S[q, g]) for g in np.flatnonzero(gallery & (ids == p))) for p in people}
        top = max(score.values())
        if ids[q] in score:
            m = score[ids[q]]
            r = 1 + sum(1 for p, v in score.items() if p != ids[q] and v > m)
            ranks.append(r)
            mates.append(m)
            hit1.append(r == 1)
        else:
            nonmated_tops.append(top)
        tops.append(top)
    ranks, mates, hit1 = np.array(ranks), np.array(mates), np.array(hit1)
    cmc = [float(np.mean(ranks <= k)) for k in range(1, RANKS + 1)]
    out = []
    for f in fpirs:
        if len(nonmated_tops) < round(1 / f):
            out.append((None, None))
            continue
        candidates = sorted(set(nonmated_tops)) + [np.inf]
        t = next(t for t in candidates if np.mean(np.array(nonmated_tops) >= t) <= f)
        fnir = 1 - np.mean(hit1 & (mates >= t))
        out.append((fnir, t))
    return cmc, out, len(nonmated_tops)


@pytest.mark.parametrize("seed, ties", [(0, False), (1, True), (2, True)])
def test_cmc_and_fnir_at_fpir_equal_brute_force(seed, ties):
    e, ids, gallery, probe = gallery_set(seed, n_people=60, per=4, ties=ties)
    from faceroc_core.identify import Roles

    roles = Roles(gallery=gallery, probe=probe, source="test")
    got = identification(search(e, ids, roles, tile_cells=50), fpirs=(0.1, 0.05, 0.01), identities=ids)
    cmc, points, n_nonmated = brute(e, ids, gallery, probe, fpirs=(0.1, 0.05, 0.01))
    assert got.cmc == pytest.approx(cmc, abs=1e-12) and got.nonmated == n_nonmated == 48
    for p, (fnir, t) in zip(got.fnir_at_fpir, points):
        if fnir is None:
            assert p.fnir is None and p.threshold is None
        else:
            assert p.fnir == pytest.approx(fnir, abs=1e-12) and p.threshold == pytest.approx(t, abs=1e-12)
    assert got.fnir_at_fpir[2].fnir is None  # 48 non-mated probes cannot measure an FPIR of 1%
    assert got.gallery_people == 48 and got.n_gallery == int(gallery.sum())
    iv = got.rank1_interval
    assert iv.low <= got.rank1 <= iv.high
    assert all(rank > 1 for _, rank, _, _, _ in got.misses)
    untiled = identification(search(e, ids, roles), fpirs=(0.1,))
    assert untiled.cmc == got.cmc


def test_the_gallery_csv_and_the_auto_split():
    rel = ["a/1.png", "a/2.png", "b/1.png", "c/1.png"]
    r = read_gallery_csv(b"image,role\na/1.png,gallery\na/2.png,probe\nc/1.png,probe\n", rel)
    assert r.gallery.tolist() == [True, False, False, False] and r.probe.tolist() == [False, True, False, True]
    with pytest.raises(DatasetError, match="is not among the faces"):
        read_gallery_csv(b"image,role\nz.png,gallery\n", rel)
    with pytest.raises(DatasetError, match="role 'enrol'"):
        read_gallery_csv(b"image,role\na/1.png,enrol\n", rel)
    with pytest.raises(DatasetError, match="the header"):
        read_gallery_csv(b"path,kind\n", rel)
    ids = [f"p{k:02d}" for k in range(20) for _ in range(3)]
    paths = [f"{p}/{j}.png" for k, p in enumerate(ids) for j in [k % 3]]
    s = auto_split(paths, ids)
    held_out = {"p09", "p19"}  # the 10th and 20th person by name
    ids_a = np.array(ids)
    assert not s.gallery[np.isin(ids_a, list(held_out))].any() and s.probe[np.isin(ids_a, list(held_out))].all()
    assert s.gallery.sum() == 18 and s.probe.sum() == 60 - 18


def test_the_cli_writes_identification_for_a_folder_and_for_embeddings(tmp_path, capsys):
    import json

    from faceroc_core.cli import main

    e, ids, gallery, probe = gallery_set(4, n_people=30, per=4)
    npz = tmp_path / "m.npz"
    np.savez(npz, embeddings=e, identities=ids)
    rows = "".join(f"#{k},{'gallery' if gallery[k] else 'probe'}\n" for k in range(ids.size) if gallery[k] or probe[k])
    (tmp_path / "g.csv").write_text("image,role\n" + rows)
    assert main(["embeddings", str(npz), "--gallery", str(tmp_path / "g.csv"), "--json", str(tmp_path / "o.json")]) == 0
    d = json.loads((tmp_path / "o.json").read_text())["models"][0]["identification"]
    from faceroc_core.identify import Roles

    want = identification(search(e, ids, Roles(gallery=gallery, probe=probe, source="t")))
    assert d["cmc"]["1"] == want.cmc[0] and d["mated"] == want.mated and d["nonmated"] == want.nonmated == 24
    assert set(d["fnir_at_fpir"]) == {"0.001", "0.01", "0.1"} and d["fnir_at_fpir"]["0.001"]["fnir"] is None
    assert "identification (1:N)" in capsys.readouterr().err
    assert main(["embeddings", str(npz), "--gallery", "auto", "--json", str(tmp_path / "a.json"), "-q"]) == 0
    auto = json.loads((tmp_path / "a.json").read_text())["models"][0]["identification"]
    assert auto["gallery_people"] == 27  # 30 people, every 10th kept out
