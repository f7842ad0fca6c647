import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers import make_faces, make_linear_onnx  # noqa: E402


@pytest.fixture
def faces(tmp_path):
    return make_faces(tmp_path / "faces")


@pytest.fixture
def linear_onnx(tmp_path):
    return make_linear_onnx(tmp_path / "models" / "linear.onnx")


@pytest.fixture
def cache_dir(tmp_path):
    return tmp_path / "cache"
