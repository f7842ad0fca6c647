"""InsightFace .bin validation sets: both forms round-trip, nothing else is ever run, and a .bin evaluates as its
own protocol (with the 10-fold accuracy) exactly as the same pairs given as a folder and a CSV."""
import io
import json
import os
import pickle

import numpy as np
import pytest
from helpers import make_faces, make_linear_onnx

from faceroc_core.binset import parse_bin, read_bin, unpack_bin
from faceroc_core.cli import main
from faceroc_core.errors import DatasetError


def encoded_faces(tmp_path, n_ids=6, per_id=4):
    root = make_faces(tmp_path / "faces", n_ids=n_ids, per_id=per_id)
    return {f"{p.parent.name}/{p.name}": p.read_bytes() for p in sorted(root.rglob("*.png"))}


def insightface_pairs(files, n_pairs=40, seed=0):
    """(a, b, same) pairs over the faces, genuine and impostor alternating in blocks, as a .bin's order."""
    rng = np.random.default_rng(seed)
    names = sorted(files)
    by_id: dict[str, list[str]] = {}
    for n in names:
        by_id.setdefault(n.split("/")[0], []).append(n)
    ids = sorted(by_id)
    pairs = []
    for k in range(n_pairs):
        if k % 2 == 0:
            i = ids[rng.integers(len(ids))]
            a, b = rng.choice(by_id[i], 2, replace=False)
        else:
            i, j = rng.choice(len(ids), 2, replace=False)
            a, b = rng.choice(by_id[ids[i]]), rng.choice(by_id[ids[j]])
        pairs.append((str(a), str(b), k % 2 == 0))
    return pairs


def dump_bin(files, pairs, *, numpy_form=False, protocol=pickle.HIGHEST_PROTOCOL) -> bytes:
    bins = []
    for a, b, _ in pairs:
        for x in (a, b):
            bins.append(np.frombuffer(files[x], np.uint8) if numpy_form else files[x])
    return pickle.dumps((bins, [s for _, _, s in pairs]), protocol=protocol)


@pytest.mark.parametrize("numpy_form, protocol", [(False, 5), (True, 5), (False, 4), (True, 4), (False, 2), (True, 2)])
def test_both_forms_round_trip(tmp_path, numpy_form, protocol):
    files = encoded_faces(tmp_path)
    pairs = insightface_pairs(files)
    bs = parse_bin(dump_bin(files, pairs, numpy_form=numpy_form, protocol=protocol))
    assert bs.n_pairs == 40 and bs.issame.tolist() == [s for _, _, s in pairs]
    assert bs.images[0] == files[pairs[0][0]] and bs.images[3] == files[pairs[1][1]]
    root, csv = unpack_bin(bs, tmp_path / "out", name="x.bin")
    lines = csv.read_text().splitlines()
    assert lines[0] == "a,b,label" and len(lines) == 41 and lines[1].endswith(",1") and lines[2].endswith(",0")
    a, b, _ = lines[1].split(",")
    assert (root / a).read_bytes() == files[pairs[0][0]] and a.split("/")[0] == b.split("/")[0]


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_a_pickle_that_would_run_anything_else_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "ran"
    data = pickle.dumps(([_Evil(marker), b"\xff\xd8\xff"], [True]))
    with pytest.raises(DatasetError) as e:
        parse_bin(data, name="evil.bin")
    assert not marker.exists()
    assert "refused without running it" in str(e.value) and "system" in str(e.value) and "evil.bin" in str(e.value)
    for bad in (pickle.dumps(eval), pickle.dumps(io.BytesIO)):
        with pytest.raises(DatasetError, match="refused without running it"):
            parse_bin(bad)


@pytest.mark.parametrize("obj, msg", [
    (([b"\xff\xd8\xff1", b"\xff\xd8\xff2", b"\xff\xd8\xff3"], [True, False]), "3 images for 2 pairs"),
    (([b"\xff\xd8\xff1", b"GIF89a"], [True]), "image 1 is not an encoded JPEG or PNG"),
    (({"a": 1}, [True]), "not a list"),
    (([b"\xff\xd8\xff1"] * 4, ["yes", "no"]), "not one bool per pair"),
    ((1, 2, 3), "instead of (images, issame)"),
    (([b"\xff\xd8\xff1"] * 4, [True, True]), "2 same-person and 0 different-people pairs"),
])
def test_a_wrong_shape_is_refused_with_the_reason(obj, msg):
    with pytest.raises(DatasetError, match=msg.replace("(", r"\(").replace(")", r"\)")):
        parse_bin(pickle.dumps(obj))
    with pytest.raises(DatasetError, match="not a readable .bin"):
        parse_bin(b"PK\x03\x04 a zip, not a pickle")


def test_a_bin_is_its_own_protocol_with_the_ten_fold_accuracy(tmp_path, capsys):
    files = encoded_faces(tmp_path, n_ids=8, per_id=5)
    pairs = insightface_pairs(files, n_pairs=60, seed=1)
    (tmp_path / "val.bin").write_bytes(dump_bin(files, pairs, numpy_form=True))
    model = make_linear_onnx(tmp_path / "m.onnx")
    out = tmp_path / "bin.json"
    assert main(["evaluate", "--images", str(tmp_path / "val.bin"), "--model", str(model), "--json", str(out),
                 "--cache-dir", str(tmp_path / "c")]) == 0
    err = capsys.readouterr().err
    d = json.loads(out.read_text())
    assert d["dataset"]["protocol"] == "val.bin" and d["dataset"]["n_images"] == 120
    m = d["models"][0]
    acc = m["accuracy_10fold"]
    assert len(acc["folds"]) == 10 and f"{100 * acc['mean']:.2f}% ± {100 * acc['std']:.2f}" in err
    # the same pairs as a folder and a CSV give the same numbers
    (tmp_path / "pairs.csv").write_text("a,b,label\n" + "".join(f"{a},{b},{int(s)}\n" for a, b, s in pairs))
    out2 = tmp_path / "csv.json"
    assert main(["evaluate", "--images", str(tmp_path / "faces"), "--model", str(model), "--pairs",
                 str(tmp_path / "pairs.csv"), "--json", str(out2), "--cache-dir", str(tmp_path / "c"), "-q"]) == 0
    m2 = json.loads(out2.read_text())["models"][0]
    assert m2["auc"] == m["auc"] and m2["accuracy_10fold"]["folds"] == acc["folds"]
    assert read_bin(tmp_path / "val.bin").n_pairs == 60
