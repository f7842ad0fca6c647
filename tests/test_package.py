"""FaceROC as a package people install: the wheel holds the engine, its data files and the ``faceroc`` command,
and the command works from any folder with the wheel's own copy (not the checkout)."""
import json
import os
import shutil
import subprocess
import sys
import zipfile

import pytest
from helpers import ROOT

import faceroc_core


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    src = tmp_path_factory.mktemp("src") / "faceroc"  # a copy: the build leaves nothing in the checkout
    src.mkdir()
    for f in ["pyproject.toml", "README.md", "requirements.txt", "requirements-dask.txt", "requirements-dev.txt"]:
        shutil.copy(ROOT / f, src / f)
    for d in ["faceroc_core", "ui"]:
        shutil.copytree(ROOT / d, src / d, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(src)],
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0 and "Could not find a version that satisfies the requirement setuptools" in r.stderr:
        pytest.skip("no package index to fetch the build backend from")
    assert r.returncode == 0, r.stderr[-2000:]
    [whl] = out.glob("faceroc-*.whl")
    return whl


def test_the_wheel_holds_the_engine_its_data_files_and_the_command(wheel):
    assert wheel.name.startswith(f"faceroc-{faceroc_core.__version__}-")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        meta = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        entry = z.read(meta).decode()
        requires = z.read(meta.replace("entry_points.txt", "METADATA")).decode()
    for f in ["faceroc_core/data/face_detection_yunet_2023mar_int8bq.onnx", "faceroc_core/data/timm_index_1.0.31.json",
              "faceroc_core/data/README.md", "faceroc_core/stream/_scan.py", "faceroc_core/stream/_kernels.py",
              "ui/components/folder_zip.js", "ui/components/fflate-0.8.3.umd.js", "ui/components/fflate-LICENSE"]:
        assert f in names, f
    assert "faceroc = faceroc_core.cli:main" in entry
    assert "Requires-Dist: torch==2.14.1" in requires and "extra == \"dask\"" in requires
    assert not any(n.startswith(("tests/", "benchmarks/", "demo/")) for n in names)


def test_the_installed_command_works_from_another_folder(wheel, tmp_path):
    site = tmp_path / "site"
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    env = {**os.environ, "PYTHONPATH": str(site), "FACEROC_CACHE": str(tmp_path / "cache")}
    work = tmp_path / "elsewhere"
    work.mkdir()
    where = subprocess.run([sys.executable, "-c", "import faceroc_core.align as a; print(a.DETECTOR_PATH)"],
                           cwd=work, env=env, capture_output=True, text=True, timeout=120)
    assert where.returncode == 0 and where.stdout.strip().startswith(str(site)), where.stdout + where.stderr
    out = work / "out.json"
    run = subprocess.run([str(site / "bin" / "faceroc"), "evaluate", "--images", str(ROOT / "demo" / "orl_faces"),
                          "--model", str(ROOT / "demo" / "models" / "A_epoch06.onnx"), "--json", "out.json", "-q"],
                         cwd=work, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    d = json.loads(out.read_text())
    assert d["faceroc_version"] == faceroc_core.__version__ and d["dataset"]["n_images"] == 400
    assert 0.5 < d["models"][0]["auc"] < 1 and d["models"][0]["roc"]["form"] == "bounded"
