"""The optional Dask extra: a LocalCluster with 2 workers counts the pairs, and every number equals the single
process's (the CLI's JSON, field by field)."""
import json

import numpy as np
import pytest

from faceroc_core.cli import main
from faceroc_core.errors import FaceROCError

pytest.importorskip("distributed", reason="the optional Dask extra (requirements-dask.txt) is not installed")


def test_local_cluster_equals_the_single_process(tmp_path):
    rng = np.random.default_rng(2)
    ids = np.repeat([f"p{k}" for k in range(300)], 6)
    centres = rng.normal(size=(300, 32))
    emb = centres[np.repeat(np.arange(300), 6)] + rng.normal(size=(ids.size, 32))
    npz = tmp_path / "model.npz"
    np.savez(npz, embeddings=emb.astype(np.float32), identities=ids)
    here, there = tmp_path / "here.json", tmp_path / "there.json"
    assert main(["embeddings", str(npz), "--json", str(here), "-q"]) == 0
    assert main(["embeddings", str(npz), "--json", str(there), "-q", "--dask", "local"]) == 0
    a, b = json.loads(here.read_text()), json.loads(there.read_text())
    for d in (a, b):
        d.pop("seconds", None), d.pop("created", None)  # when it ran, not what it found
    assert a == b and a["models"][0]["n_impostor"] == ids.size * (ids.size - 1) // 2 - 300 * 15


def test_an_unreachable_scheduler_is_a_clear_error():
    from faceroc_core.cluster import dask_client

    with pytest.raises(FaceROCError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9") as e:
        with dask_client("tcp://127.0.0.1:9", timeout="2s"):
            pass
    assert "scheduler is running" in e.value.hint


def test_evaluate_embeds_in_shards_on_the_workers_and_gives_the_same_results(tmp_path):
    from helpers import ROOT

    base = ["evaluate", "--config", str(ROOT / "demo" / "demo.toml"), "--no-cache", "-q"]
    here, there = tmp_path / "here.json", tmp_path / "there.json"
    assert main(base + ["--json", str(here)]) == 0
    assert main(base + ["--json", str(there), "--dask", "local"]) == 0
    a, b = json.loads(here.read_text()), json.loads(there.read_text())
    assert [m["name"] for m in a["models"]] == [m["name"] for m in b["models"]] and len(a["models"]) == 3
    for x, y in zip(a["models"], b["models"]):
        assert y["auc"] == pytest.approx(x["auc"], abs=1e-6) and y["eer"] == pytest.approx(x["eer"], abs=1e-6)
        assert (y["n_genuine"], y["n_impostor"]) == (x["n_genuine"], x["n_impostor"])
    assert a["dataset"]["n_images"] == b["dataset"]["n_images"] == 200
