"""`faceroc watch`: a checkpoint copied in slowly is evaluated once, after it is complete; arrivals settle first."""
import os
import subprocess
import sys
import time

from helpers import make_faces, make_linear_onnx

from faceroc_core.watch import arrivals


def test_a_growing_checkpoint_is_evaluated_once_after_it_is_complete(tmp_path):
    faces = make_faces(tmp_path / "f", n_ids=6, per_id=3)
    data = make_linear_onnx(tmp_path / "src.onnx", seed=4).read_bytes()
    ckpts = tmp_path / "ckpts"
    ckpts.mkdir()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "faceroc_core", "watch", str(ckpts), "--images", str(faces),
                             "--poll", "0.2", "--settle", "1.5", "--exit-after", "2", "--cache-dir",
                             str(tmp_path / "c")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        target = ckpts / "run_e007.onnx"
        with open(target, "wb") as f:  # written in three pieces, a second apart: never read half-way
            for k in range(3):
                f.write(data[k * len(data) // 3:(k + 1) * len(data) // 3])
                f.flush()
                time.sleep(1.0)
        time.sleep(3.0)
        (ckpts / "run_e012.onnx").write_bytes(make_linear_onnx(tmp_path / "b.onnx", seed=5).read_bytes())
        out, err = proc.communicate(timeout=180)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    lines = [x for x in out.splitlines() if x.strip()]
    assert len(lines) == 2 and lines[0].startswith("epoch 7: AUC ") and lines[0].endswith("best so far")
    assert lines[1].startswith("epoch 12: AUC ") and "not a valid" not in err and "Traceback" not in err


def test_arrivals_wait_for_a_file_to_settle_and_come_again_after_a_change(tmp_path):
    now = [0.0]
    (tmp_path / "a.onnx").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("not a model")
    it = arrivals(tmp_path, poll=1.0, settle=2.0, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    first = next(it)
    assert first.path.name == "a.onnx" and now[0] >= 2.0
    (tmp_path / "a.onnx").write_bytes(b"xy")  # changed: comes again, after settling
    t = now[0]
    again = next(it)
    assert again.size == 2 and now[0] - t >= 2.0


def test_watch_takes_the_faces_and_the_options_from_a_config(tmp_path, capsys):
    from faceroc_core.cli import main
    from faceroc_core.store import Store

    faces = make_faces(tmp_path / "faces", n_ids=6, per_id=3)
    ckpts = tmp_path / "ckpts"
    ckpts.mkdir()
    make_linear_onnx(ckpts / "net_ep4.onnx", seed=2)
    (tmp_path / "watch.toml").write_text(
        '[dataset]\npath = "faces"\nlabels = "folder"\nidentities = ["id00", "id01", "id02", "id03", "id04"]\n\n'
        '[[model]]\npath = "ckpts"\nsize = "32x32"\n')
    assert sorted(p.name for p in faces.iterdir())[:2] == ["id00", "id01"]
    assert main(["watch", str(ckpts), "--config", str(tmp_path / "watch.toml"), "--poll", "0.1", "--settle", "0.2",
                 "--exit-after", "1", "--cache-dir", str(tmp_path / "c")]) == 0
    assert capsys.readouterr().out.startswith("epoch 4: AUC ")
    run = Store().list()[0]
    assert run["dataset"]["name"] == "faces" and run["dataset"]["n_images"] == 15  # five of the six people
    assert main(["watch", str(ckpts), "--exit-after", "1"]) == 2 and "no faces given" in capsys.readouterr().err
