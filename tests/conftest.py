import pytest
from helpers import make_faces, make_linear_onnx  # tests/ is on the path (pytest adds it); faceroc is installed


@pytest.fixture
def faces(tmp_path):
    return make_faces(tmp_path / "faces")


@pytest.fixture
def linear_onnx(tmp_path):
    return make_linear_onnx(tmp_path / "models" / "linear.onnx")


@pytest.fixture
def cache_dir(tmp_path):
    return tmp_path / "cache"


@pytest.fixture(autouse=True)
def _own_store(tmp_path, monkeypatch):
    """Every test keeps its runs in its own store (never the user's ~/.local/share/faceroc)."""
    monkeypatch.setenv("FACEROC_HOME", str(tmp_path / "faceroc-home"))
    monkeypatch.delenv("FACEROC_DB", raising=False)
