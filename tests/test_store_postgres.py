"""The run store on a real PostgreSQL server, started by the test itself in a temporary folder (Debian's
postgresql: initdb, pg_ctl; ``make test`` installs it), skipped with the reason when it cannot be had."""
import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from helpers import make_faces, make_linear_onnx

from faceroc_core.cli import main
from faceroc_core.errors import FaceROCError
from faceroc_core.store import SCHEMA_VERSION, Store

PASSWORD = "s3cret-Pw"


def _tool(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def pg_url():
    """``postgresql://faceroc:PASSWORD@127.0.0.1:PORT/postgres`` of a server that lives for this module."""
    pytest.importorskip("psycopg", reason="the postgres extra (psycopg) is not installed")
    initdb, pg_ctl = _tool("initdb"), _tool("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.skip("PostgreSQL's initdb/pg_ctl are not installed (Debian: apt-get install postgresql)")
    as_user: list[str] = []
    base = Path(tempfile.mkdtemp(prefix="faceroc-pg-"))
    if os.geteuid() == 0:  # initdb refuses root: the server runs as Debian's postgres user
        if not shutil.which("runuser"):
            pytest.skip("running as root without runuser: cannot start PostgreSQL as another user")
        try:
            shutil.chown(base, "postgres")
        except (LookupError, PermissionError) as e:
            pytest.skip(f"no postgres user to run the server as ({e})")
        as_user = ["runuser", "-u", "postgres", "--"]
    (base / "pw").write_text(PASSWORD)
    if as_user:
        shutil.chown(base / "pw", "postgres")
    port = _free_port()
    data = base / "data"
    subprocess.run([*as_user, initdb, "-D", str(data), "-U", "faceroc", "--auth=scram-sha-256",
                    f"--pwfile={base / 'pw'}", "-E", "UTF8"], check=True, capture_output=True, timeout=120)
    subprocess.run([*as_user, pg_ctl, "-D", str(data), "-l", str(base / "log"), "-w", "-t", "60", "-o",
                    f"-p {port} -k {base} -c listen_addresses=127.0.0.1", "start"],
                   check=True, capture_output=True, timeout=120)
    try:
        yield f"postgresql://faceroc:{PASSWORD}@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"], capture_output=True,
                       timeout=120)
        shutil.rmtree(base, ignore_errors=True)


def test_the_cli_keeps_its_runs_in_postgresql(pg_url, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FACEROC_DB", pg_url)
    faces = make_faces(tmp_path / "f", n_ids=5, per_id=3)
    models = [make_linear_onnx(tmp_path / f"net_epoch{k}.onnx", seed=k) for k in (2, 9)]
    out = tmp_path / "o.json"
    for _ in range(2):
        assert main(["evaluate", "--images", str(faces), "--model", *map(str, models), "--json", str(out),
                     "--cache-dir", str(tmp_path / "c")]) == 0
    err = capsys.readouterr().err
    assert "stored as run" in err and PASSWORD not in err
    assert main(["history", "list", "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)
    mine = [r for r in runs if r["dataset"]["n_images"] == 15]
    assert len(mine) == 2 and mine[0]["dataset"]["fingerprint"] == mine[1]["dataset"]["fingerprint"]
    assert [m["epoch"] for m in mine[0]["models"]] == [2, 9]
    written = json.loads(out.read_text())
    assert main(["history", "show", mine[0]["id"], "--json"]) == 0
    stored = json.loads(capsys.readouterr().out)
    assert [m["auc"] for m in stored["models"]] == [m["auc"] for m in written["models"]]  # exact: double precision
    assert stored["models"][0]["tar_at_far_interval"] == written["models"][0]["tar_at_far_interval"]
    assert main(["history", "rm", mine[1]["id"]]) == 0
    assert main(["history", "show", mine[1]["id"]]) == 2 and "no run" in capsys.readouterr().err
    with Store() as s:
        assert s.postgres and PASSWORD not in s.where and mine[1]["id"] not in [r["id"] for r in s.list()]
        assert s._sql("SELECT count(*) FROM models WHERE run_id = ?", (mine[1]["id"],)).fetchone()[0] == 0
        assert s._sql("SELECT version FROM schema_version").fetchone()[0] == SCHEMA_VERSION


WRITER = """
import os, sys
from faceroc_core.store import Store
s = Store(sys.argv[1])
if sys.argv[2] == "kill":
    s._db.execute("BEGIN")
    s._sql("INSERT INTO runs (id, created, version, fingerprint, dataset_name, n_images, result) "
           "VALUES (?, 'x', 'x', 'killed', 'x', 0, '{}')", ("f" * 32,))
    os._exit(9)  # killed in the middle of a run
for k in range(int(sys.argv[3])):
    s.save({"dataset": {"n_images": k}, "models": [{"name": "m", "auc": 0.9, "tar_at_far": {}}]},
           fingerprint=sys.argv[2], dataset_name="d")
"""


def test_postgresql_a_killed_writer_leaves_nothing_and_concurrent_writers_all_land(pg_url):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    r = subprocess.run([sys.executable, "-c", WRITER, pg_url, "kill", "0"], env=env)
    assert r.returncode == 9
    time.sleep(0.5)  # the server notices the dropped connection and rolls its transaction back
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, pg_url, f"pw{k}", "10"], env=env) for k in range(3)]
    assert all(p.wait(timeout=180) == 0 for p in procs)
    with Store(pg_url) as s:
        runs = s.list()
    assert not [r for r in runs if r["dataset"]["fingerprint"] == "killed"]
    ours = [r for r in runs if r["dataset"]["fingerprint"].startswith("pw")]
    assert len(ours) == 30 and len({r["id"] for r in ours}) == 30
    assert [r["dataset"]["n_images"] for r in ours if r["dataset"]["fingerprint"] == "pw0"] == list(range(9, -1, -1))


def test_a_wrong_password_is_never_shown(pg_url):
    wrong = pg_url.replace(PASSWORD, "not-the-Pw-42")
    with pytest.raises(FaceROCError) as e:
        Store(wrong)
    text = str(e.value) + str(getattr(e.value, "hint", ""))
    assert "not-the-Pw-42" not in text and PASSWORD not in text and "***" in text and "127.0.0.1" in text
