"""faceroc_core never imports Streamlit (it is used from Python and the CLI too)."""
import ast
import subprocess
import sys

from helpers import ROOT


def test_no_streamlit_import_in_core_source():
    offenders = []
    for path in (ROOT / "faceroc_core").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] == "streamlit"]
    assert offenders == []


def test_importing_every_core_module_loads_no_streamlit():
    mods = [p.stem for p in (ROOT / "faceroc_core").glob("*.py") if p.stem != "__main__"]
    code = ("import importlib, sys\n" + "".join(f"importlib.import_module('faceroc_core.{m}')\n" for m in mods)
            + "print('streamlit' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
