"""faceroc_core never imports Streamlit (it is used from Python and the CLI too)."""
import ast
import subprocess
import sys
from pathlib import Path

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
    mods = sorted(m for m in _import_graph(ROOT / "faceroc_core") if m not in ("faceroc_core", "faceroc_core.__main__"))
    code = ("import importlib, sys\n" + "".join(f"importlib.import_module('{m}')\n" for m in mods)
            + "print('streamlit' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def _import_graph(package: Path) -> dict[str, set[str]]:
    """Module -> the project modules it imports (at any depth of the file: function-level imports count)."""
    mods = {}
    for p in package.rglob("*.py"):
        parts = list(p.relative_to(package.parent).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        mods[".".join(parts[:-1] if is_pkg else parts)] = (p, is_pkg)
    graph = {}
    for name, (p, is_pkg) in mods.items():
        base = name.split(".") if is_pkg else name.split(".")[:-1]
        deps = set()
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.ImportFrom):
                target = (".".join(base[:len(base) - node.level + 1] + ([node.module] if node.module else []))
                          if node.level else node.module or "")
                subs = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in mods]
                deps |= set(subs) if subs and len(subs) == len(node.names) else {target, *subs}
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names}
        graph[name] = {d for d in deps if d in mods and d != name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle_in_the_core():
    graph = _import_graph(ROOT / "faceroc_core")
    assert "faceroc_core.stream._scan" in graph and "faceroc_core.protocol" in graph
    assert _cycles(graph) == []


def test_the_cycle_check_finds_a_cycle(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from .b import g\n")
    (pkg / "b.py").write_text("from . import a\n")
    assert _cycles(_import_graph(pkg)) == [["pkg.a", "pkg.b"]]


def test_normalise_imports_nothing_of_the_project():
    assert _import_graph(ROOT / "faceroc_core")["faceroc_core.vectors"] == set()


def test_core_modules_stay_small():
    big = {p.name: n for p in (ROOT / "faceroc_core").rglob("*.py") if (n := len(p.read_text().splitlines())) > 600}
    assert big == {}
