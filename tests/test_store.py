"""The store of runs: a full evaluation round-trips; a killed writer leaves no partial run; concurrent writers;
an older schema is migrated; epochs from real-world file names; `faceroc history`."""
import json
import sqlite3
import subprocess
import sys

import pytest
from helpers import make_faces, make_linear_onnx

from faceroc_core.cli import main
from faceroc_core.epochs import epoch_in_checkpoint, epoch_of
from faceroc_core.errors import FaceROCError
from faceroc_core.store import _MIGRATIONS, SCHEMA_VERSION, Store


def test_an_evaluation_round_trips_and_runs_are_listed_newest_first(tmp_path, capsys):
    faces = make_faces(tmp_path / "f", n_ids=6, per_id=3)
    models = [make_linear_onnx(tmp_path / f"net_epoch{k}.onnx", seed=k) for k in (3, 12)]
    out = tmp_path / "o.json"
    for _ in range(2):
        assert main(["evaluate", "--images", str(faces), "--model", *map(str, models), "--json", str(out),
                     "--cache-dir", str(tmp_path / "c")]) == 0
    err = capsys.readouterr().err
    assert "stored as run " in err
    capsys.readouterr()
    assert main(["history", "list", "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)
    assert len(runs) == 2 and runs[0]["dataset"]["fingerprint"] == runs[1]["dataset"]["fingerprint"]
    assert set(runs[0]) == {"id", "created", "dataset", "models"} and runs[0]["dataset"]["n_images"] == 18
    assert [m["epoch"] for m in runs[0]["models"]] == [3, 12]
    assert set(runs[0]["models"][0]) == {"name", "sha256", "epoch", "auc", "tar_at_far"}
    written = json.loads(out.read_text())
    assert main(["history", "show", runs[0]["id"], "--json"]) == 0
    stored = json.loads(capsys.readouterr().out)
    assert [m["auc"] for m in stored["models"]] == [m["auc"] for m in written["models"]]
    assert stored["models"][0]["auc_interval"] == written["models"][0]["auc_interval"]
    assert main(["history", "rm", runs[1]["id"]]) == 0
    assert main(["history", "show", runs[1]["id"]]) == 2 and "no run" in capsys.readouterr().err
    assert main(["history", "show", "'; DROP TABLE runs; --"]) == 2 and "is not a run id" in capsys.readouterr().err
    assert len(Store().list()) == 1
    assert main(["evaluate", "--images", str(faces), "--model", str(models[0]), "--json", str(out), "--no-store",
                 "-q"]) == 0 and len(Store().list()) == 1


WRITER = """
import os, sys
from faceroc_core.store import Store
s = Store(sys.argv[1])
db = s._db
if sys.argv[2] == "kill":
    db.execute("BEGIN IMMEDIATE")
    db.execute("INSERT INTO runs (id, created, version, fingerprint, dataset_name, n_images, result) "
               "VALUES ('0' || hex(randomblob(15)) || '0', 'x', 'x', 'x', 'x', 0, '{}')")
    os._exit(9)  # killed in the middle of a run
for k in range(int(sys.argv[3])):
    s.save({"dataset": {"n_images": k}, "models": [{"name": "m", "auc": 0.9, "tar_at_far": {}}]},
           fingerprint=sys.argv[2], dataset_name="d")
"""


def test_a_killed_writer_leaves_nothing_and_concurrent_writers_all_land(tmp_path):
    db = tmp_path / "s.db"
    Store(db).close()
    r = subprocess.run([sys.executable, "-c", WRITER, str(db), "kill", "0"])
    assert r.returncode == 9 and Store(db).list() == []
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(db), f"w{k}", "15"]) for k in range(3)]
    assert all(p.wait(timeout=120) == 0 for p in procs)
    runs = Store(db).list()
    assert len(runs) == 45 and len({r["id"] for r in runs}) == 45
    assert sorted({r["dataset"]["fingerprint"] for r in runs}) == ["w0", "w1", "w2"]


def test_an_older_schema_is_migrated_in_place(tmp_path):
    db = tmp_path / "old.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    con.execute("INSERT INTO schema_version VALUES (1)")
    for sql in _MIGRATIONS[1]:
        con.execute(sql)
    con.execute("INSERT INTO runs VALUES ('" + "a" * 32 + "', '2026-01-01T00:00:00+00:00', '0.1', 'fp', 'old', 3, "
                "'{\"models\": []}')")
    con.commit()
    con.close()
    s = Store(db)
    assert s._db.execute("SELECT version FROM schema_version").fetchone()[0] == SCHEMA_VERSION == 3
    assert [r["id"] for r in s.list()] == ["a" * 32] and s.get("a" * 32) == {"models": []}
    assert {"protocol", "stamp"} <= {c[1] for c in s._db.execute("PRAGMA table_info(runs)")}
    s._db.execute("UPDATE schema_version SET version = 99")
    s.close()
    with pytest.raises(FaceROCError, match="newer FaceROC"):
        Store(db)


@pytest.mark.parametrize("name, epoch", [
    ("best_model_169epoch_512diml.pth", 169), ("my_23_best_model.pth", None), ("11%_my_24_best_model.pth", None),
    ("A_epoch06.onnx", 6), ("B_epoch18.pth", 18), ("C_epoch60.onnx", 60), ("run3-e018.pth", 18),
    ("model_ep60.pth", 60), ("checkpoint-18.pth", 18), ("epoch=12-step=3000.ckpt", 12), ("net_epochs_30.pth", 30),
    ("resnet-50.pth", None), ("w600k_r50.onnx", None), ("glintr100.onnx", None), ("iresnet_100.onnx", None),
    ("face_recognition_sface_2021dec.onnx", None), ("MobileFaceNet.onnx", None), ("last.pth", None),
])
def test_epochs_from_real_world_file_names(name, epoch):
    assert epoch_of(name) == epoch


def test_epoch_from_a_checkpoint_dict():
    import torch

    assert epoch_in_checkpoint({"epoch": 68, "state_dict": {}}) == 68
    assert epoch_in_checkpoint({"epoch": torch.tensor(7)}) == 7
    assert epoch_in_checkpoint({"epoch": 2.5}) is None and epoch_in_checkpoint({"epoch": True}) is None
    assert epoch_in_checkpoint({"state_dict": {}}) is None


def test_checkpoints_group_into_training_runs_by_folder_or_name_stem():
    from faceroc_core.epochs import run_stem, training_runs

    rows = [{"name": n, "source": n, "epoch": epoch_of(n), "folder": f} for n, f in [
        ("A_epoch06.onnx", "demo"), ("B_epoch18.pth", "demo"), ("C_epoch60.onnx", "demo"),  # one folder
        ("arcface_r50_e010.pth", None), ("arcface_r50_e002.pth", None), ("arcface_r50_e030.pth", None),  # one stem
        ("best_model_169epoch_512diml.pth", "seed"), ("my_23_best_model.pth", "seed"),  # the seed's: no epoch
        ("11%_my_24_best_model.pth", "seed")]]
    runs = training_runs(rows)
    assert [[r["epoch"] for r in run] for run in runs] == [[6, 18, 60], [2, 10, 30], [169]]
    assert [r["name"] for r in runs[0]] == ["A_epoch06.onnx", "B_epoch18.pth", "C_epoch60.onnx"]
    assert run_stem("arcface_r50_e010.pth") == run_stem("arcface_r50_e030.pth") == "arcface_r50"
    assert run_stem("A_epoch06.onnx") != run_stem("B_epoch18.pth")  # told apart by name, joined by their folder
