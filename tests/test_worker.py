"""Guarded model runs: a looping, a memory-hungry and a broken model fail alone, with their reasons."""
import csv
import io
import json
import subprocess
import sys
import time

import numpy as np
import pytest
from helpers import ROOT, make_faces, make_hungry_onnx, make_linear_onnx, make_looping_onnx

from faceroc_core.errors import ModelError
from faceroc_core.worker import GuardedSession, Limits, release, shared_empty


def test_good_looping_and_hungry_models_on_the_cli(tmp_path):
    faces = make_faces(tmp_path / "faces")
    good = make_linear_onnx(tmp_path / "good.onnx")
    loop = make_looping_onnx(tmp_path / "loop.onnx")
    hungry = make_hungry_onnx(tmp_path / "hungry.onnx", gigabytes=3)
    out, table, page = tmp_path / "out.json", tmp_path / "out.csv", tmp_path / "out.html"
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "faceroc_core", "evaluate", "--images", str(faces), "--model", str(good),
                        str(loop), str(hungry), "--model-timeout", "8", "--model-memory", "1", "--json", str(out),
                        "--csv", str(table), "--html", str(page), "--cache-dir", str(tmp_path / "c"), "-q"],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert time.perf_counter() - t0 < 120
    assert r.returncode == 1, r.stderr  # some models failed, the rest are in the JSON
    d = json.loads(out.read_text())
    assert [m["name"] for m in d["models"]] == ["good"]
    why = {f["name"]: f["error"] for f in d["failures"]}
    assert "stopped after 8 s" in why["loop"]
    assert "needed more than 1 GB of memory" in why["hungry"]
    rows = {row["model"]: row for row in csv.DictReader(io.StringIO(table.read_text()))}
    assert rows["loop"]["error"] == why["loop"] and float(rows["good"]["auc"]) > 0.5
    html = page.read_text()
    assert "stopped after 8 s" in html and "Not compared, because they could not be evaluated: loop, hungry" in html
    assert "model loop skipped: " in r.stderr


def test_a_model_without_usable_embeddings_says_why(tmp_path):
    from faceroc_core.pipeline import ModelSpec, evaluate

    faces = make_faces(tmp_path / "faces")
    zero = make_linear_onnx(tmp_path / "zero.onnx", zero_rows=True)
    ev = evaluate(faces, [ModelSpec(zero), ModelSpec(make_linear_onnx(tmp_path / "ok.onnx"))],
                  cache_dir=tmp_path / "c", intervals=False)
    (f,) = ev.failures
    assert f.name == "zero" and "too few images embedded (0)" in f.error and "all zeros" in f.error
    assert "for 20 image(s)" in f.error and [m.name for m in ev.models] == ["ok"]


def test_worker_session_matches_onnxruntime_and_reads_shared_memory_without_copy(tmp_path):
    from faceroc_core.onnx_io import make_session

    p = make_linear_onnx(tmp_path / "m.onnx")
    x = shared_empty((5, 3, 32, 32))
    x[:] = np.random.default_rng(0).normal(size=x.shape)
    gs = GuardedSession(p)
    try:
        ref = make_session(p).run(["emb"], {"pixels": np.array(x)})[0]
        np.testing.assert_allclose(gs.run(["emb"], {"pixels": x[1:4]})[0], ref[1:4], rtol=1e-6)  # a view
        plain = np.array(x)  # not shared: goes through the pipe
        np.testing.assert_allclose(gs.run(["emb"], {"pixels": plain})[0], ref, rtol=1e-6)
        assert gs.info.input_name == "pixels" and gs.info.embedding_dim == 16
    finally:
        gs.close()
        release(x)


def test_a_crashing_worker_fails_its_model_only(tmp_path):
    p = make_linear_onnx(tmp_path / "m.onnx")
    gs = GuardedSession(p, limits=Limits(seconds=30))
    gs._proc.kill()  # as a segfault in the runtime would
    with pytest.raises(ModelError, match="process crashed"):
        gs.run(["emb"], {"pixels": np.zeros((1, 3, 32, 32), np.float32)})
    with pytest.raises(ModelError):  # and stays failed
        gs.run(["emb"], {"pixels": np.zeros((1, 3, 32, 32), np.float32)})


def test_limits_are_validated():
    assert Limits.of(0, 0) == Limits()
    assert Limits.of("40", "1").memory_bytes == 2**30
    with pytest.raises(ModelError):
        Limits(seconds=-1)


def test_a_warm_worker_serves_task_after_task_and_a_failing_task_takes_only_itself_down():
    import os

    from faceroc_core import worker as W

    W._WARM.clear()
    limits = Limits.of(seconds=2, memory_gb=1)
    first = W.run_guarded(os.getpid, limits=limits, imports=("json",), warm=True)
    assert W.run_guarded(os.getpid, limits=limits, imports=("json",), warm=True) == first != os.getpid()
    assert W.run_guarded(os.getpid, limits=limits, imports=("json",)) != first  # a cold one: its own process
    with pytest.raises(ModelError, match="stopped after 2 s"):  # the time limit is per task
        W.run_guarded(time.sleep, (30,), limits=limits, imports=("json",), warm=True, path="slow.pth")
    second = W.run_guarded(os.getpid, limits=limits, imports=("json",), warm=True)
    assert second != first  # a fresh worker after the failure
    with pytest.raises(ModelError, match="needed more than 1 GB"):
        W.run_guarded(bytearray, (4 * 2**30,), limits=limits, imports=("json",), warm=True, path="big.pth")
    third = W.run_guarded(os.getpid, limits=limits, imports=("json",), warm=True)
    assert third not in (first, second) and W.run_guarded(os.getpid, limits=limits, imports=("json",),
                                                          warm=True) == third
    for key in list(W._WARM):
        W._WARM.pop(key).close()
