"""Real browser: streamlit run app.py + Debian's chromium driven by playwright.

Uploads a folder of faces and two models through the real file inputs, runs
the comparison and checks the ROC chart (one line per model) and the AUC table.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from helpers import ROOT

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing; `make test` installs Debian's chromium", pytrace=False)
    pytest.skip(f"{CHROMIUM} is missing (make test installs it with apt-get)", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(tmp_path, **extra):
    """``streamlit run app.py`` on a free port (its caches in ``tmp_path``); its URL, until the caller is done."""
    port = free_port()
    env = dict(os.environ, FACEROC_CACHE=str(tmp_path / "cache"), FACEROC_SESSION_DIR=str(tmp_path / "sessions"),
               **extra)
    log = open(tmp_path / "server.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.5)
        else:
            raise RuntimeError("streamlit did not start:\n" + (tmp_path / "server.log").read_text())
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


@pytest.fixture
def server(tmp_path):
    yield from _serve(tmp_path)


def open_demo(p, server):
    """Open the app and wait for the demo's chart; returns (browser, page, the sidebar's page links)."""
    from playwright.sync_api import expect

    browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    page = browser.new_page(viewport={"width": 1400, "height": 3200})
    page.goto(server)
    nav = page.locator('[data-testid="stSidebarNav"]')
    expect(page.locator('[data-testid="stVegaLiteChart"] svg.marks g.mark-line path').first).to_be_attached()
    return browser, page, nav


def open_demo_and_upload_faces(p, server, folder, summary):
    """Open the app (the demo's chart on screen), upload ``folder`` on Faces, wait for its ``summary``."""
    from playwright.sync_api import expect

    browser, page, nav = open_demo(p, server)
    nav.get_by_text("Faces", exact=True).click()
    page.get_by_text("Upload a folder", exact=True).click()
    # the folder is packed into one zip in the browser and sent once (no chip per file)
    page.locator(".st-key-faces_dir input[type=file]").set_input_files(str(folder))
    expect(page.get_by_text(summary)).to_be_visible()
    assert page.locator('[data-testid="stFileUploaderFile"]').count() == 0
    return browser, page, nav


def test_upload_folder_and_two_models_then_compare(server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=180_000)
    faces = tmp_path / "my_faces"
    for k in range(21, 31):  # 10 people the demo models never saw
        shutil.copytree(ROOT / "demo" / "orl_faces" / f"s{k}", faces / f"s{k}")
    (faces / "notes.txt").write_text("not an image")
    models = [ROOT / "demo" / "models" / "C_epoch60.onnx", ROOT / "demo" / "models" / "B_epoch18.pth"]

    with sync_playwright() as p:
        browser, page, nav = open_demo_and_upload_faces(p, server, faces, "100 images of 10 people")
        expect(page.get_by_text("Skipped files (1)")).to_be_visible()

        nav.get_by_text("Models", exact=True).click()
        page.locator(".st-key-model_upload input[type=file]").set_input_files([str(m) for m in models])
        expect(page.get_by_text("C_epoch60 — C_epoch60.onnx")).to_be_visible()
        expect(page.get_by_text("B_epoch18 — B_epoch18.pth")).to_be_visible()
        expect(page.get_by_text("architecture inferred from the weights: mobilenetv3_small_050").first).to_be_attached()

        # the sidebar counted the upload at once
        expect(page.locator('[data-testid="stSidebar"]').get_by_text("2 model(s) · my_faces")).to_be_visible()
        nav.get_by_text("Compare", exact=True).click()
        # new models and faces wait for the Run button
        expect(page.get_by_text("Press “Run the comparison” to start", exact=False)).to_be_visible()
        page.get_by_role("button", name="Run the comparison").click()
        expect(page.get_by_text("Evaluated 2 model(s)")).to_be_visible()
        expect(page.locator('[data-testid="stProgress"]')).to_have_count(0)  # progress bars cleared
        chart = page.locator('[data-testid="stVegaLiteChart"]').first
        lines = chart.locator("svg.marks g.mark-line path")
        expect(chart.get_by_text("C_epoch60 (AUC", exact=False)).to_be_visible()
        # one ROC line per model + the chance diagonal
        expect(lines).to_have_count(3)
        scores = page.locator('[data-testid="stDataFrame"]').first  # the metrics table (more tables follow)
        cells = scores.locator("[role=gridcell]")
        expect(cells.filter(has_text="C_epoch60")).to_have_count(1)
        rows = scores.locator("[role=row]").filter(has=page.locator("[role=gridcell]"))
        table = [[c.text_content().strip() for c in row.locator("[role=gridcell]").all()] for row in rows.all()]
        table = [r for r in table if r]
        # columns: model, AUC, EER, TAR@FAR..., pairs — one row per model, best (highest AUC) first
        assert sorted(r[0] for r in table) == ["B_epoch18", "C_epoch60"]
        aucs = [float(r[1]) for r in table]
        assert aucs == sorted(aucs, reverse=True) and all(0.5 < a <= 1 for a in aucs)
        # why the models fail: the hardest pairs with their faces, the people, the test-set check, DET
        expect(page.get_by_text("Where the models go wrong")).to_be_visible()
        expect(page.get_by_text("Different people it finds most alike", exact=False)).to_be_visible()
        expect(page.get_by_text("Check your test set")).to_be_visible()
        page.locator(".st-key-curve_kind").get_by_text("DET", exact=True).click()
        expect(page.locator('[data-testid="stVegaLiteChart"]').first.get_by_text("DET curves", exact=False)).to_be_visible()
        page.screenshot(path=str(tmp_path / "compare.png"), full_page=True)
        assert (tmp_path / "compare.png").stat().st_size > 10_000
        browser.close()


def test_raw_photos_get_the_alignment_suggestion_and_the_model_view(server, tmp_path):
    from helpers import make_raw_photos
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=180_000)
    photos = make_raw_photos(tmp_path / "photos", n_ids=5)
    with sync_playwright() as p:
        browser, page, nav = open_demo_and_upload_faces(p, server, photos, "20 images of 5 people")
        expect(page.get_by_text("These look like photos, not face crops", exact=False)).to_be_visible()
        page.locator(".st-key-align_all_toggle label").click()
        expect(page.get_by_text("Alignment is on", exact=False)).to_be_visible()
        expect(page.get_by_text("Before and after alignment")).to_be_visible()
        page.screenshot(path=str(tmp_path / "faces.png"), full_page=True)

        nav.get_by_text("Models", exact=True).click()
        expect(page.get_by_text("What this model sees").first).to_be_visible()
        expect(page.get_by_text("aligned (5 landmarks", exact=False).first).to_be_visible()
        strips = page.locator('[data-testid="stImage"] img')
        expect(strips).to_have_count(3)  # one strip per demo model
        page.screenshot(path=str(tmp_path / "models.png"), full_page=True)

        nav.get_by_text("Compare", exact=True).click()
        page.get_by_role("button", name="Run the comparison").click()
        expect(page.get_by_text("Faces were detected in 20 images", exact=False)).to_be_visible()
        expect(page.get_by_text("Evaluated 3 model(s)")).to_be_visible()
        browser.close()


def test_a_slow_model_can_be_cancelled_and_the_app_stays_up(server, tmp_path):
    from helpers import make_looping_onnx
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=180_000)
    slow = make_looping_onnx(tmp_path / "slow.onnx", trips=10**6, h=112, w=112)  # seconds per batch
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 2400})
        page.goto(server)
        nav = page.locator('[data-testid="stSidebarNav"]')
        expect(page.get_by_text("Evaluated 3 model(s)")).to_be_visible()
        nav.get_by_text("Models", exact=True).click()
        page.locator(".st-key-model_upload input[type=file]").set_input_files(str(slow))
        expect(page.get_by_text("slow — slow.onnx")).to_be_visible()
        nav.get_by_text("Compare", exact=True).click()
        page.get_by_role("button", name="Run the comparison").click()
        page.get_by_role("button", name="Cancel").click()
        expect(page.get_by_text("The comparison was cancelled", exact=False)).to_be_visible()
        expect(page.get_by_text("Evaluated 1 model(s)")).to_have_count(0)
        nav.get_by_text("About", exact=True).click()  # the server is still there
        expect(page.get_by_text("Olivetti Research Laboratory", exact=False)).to_be_visible()
        browser.close()


def test_a_folder_of_1580_photos_arrives_as_one_upload_and_the_report_opens_with_downloads(server, tmp_path):
    """The folder is packed in the browser and sent once; the Report page opens without making its files; a
    download is made when pressed.  (Times are printed by benchmarks/bench_browser.py, not asserted here.)"""
    from helpers import make_photo_folder
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=240_000)
    photos = make_photo_folder(tmp_path / "lfw_like")
    (photos / ".DS_Store").write_bytes(b"\0" * 10)
    with sync_playwright() as p:
        t0 = time.perf_counter()
        browser, page, nav = open_demo_and_upload_faces(p, server, photos, "1,580 images of 158 people")
        print(f"1,580-photo folder upload to the Faces summary: {time.perf_counter() - t0:.1f} s (with app start)")
        expect(page.get_by_text("Loaded now: “lfw_like”", exact=False)).to_be_visible()
        nav.get_by_text("Compare", exact=True).click()
        expect(page.get_by_text("Press “Run the comparison” to start", exact=False)).to_be_visible()
        # back to the demo's result: the Report page opens on it, files are made on request
        page.locator('[data-testid="stSidebar"]').get_by_role("button", name="Back to the demo").click()
        expect(page.get_by_text("Demo loaded", exact=False)).to_be_visible()
        expect(page.get_by_text("Evaluated 3 model(s)")).to_be_visible()  # the demo alone starts by itself
        nav.get_by_text("Report", exact=True).click()
        expect(page.get_by_text("Best model on these faces: C · epoch 60.")).to_be_visible()
        with page.expect_download() as got:
            page.get_by_role("button", name="Metrics (JSON)", exact=True).click()
        body = Path(got.value.path()).read_text()
        assert '"form": "bounded"' in body and len(body) < 2_000_000
        with page.expect_download() as got:
            page.get_by_role("button", name="Chart (PNG)", exact=True).click()
        assert Path(got.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        browser.close()


def test_a_bin_gives_the_ten_fold_accuracy_and_a_gallery_the_cmc_chart(server, tmp_path):
    """Issue #16 in a real browser: an InsightFace .bin uploaded on Faces gives the 10-fold accuracy on Compare;
    back on the demo's faces, the automatic gallery gives the CMC chart."""
    import pickle

    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=180_000)
    people = [ROOT / "demo" / "orl_faces" / f"s{k}" for k in range(21, 31)]
    from PIL import Image

    def png(path):  # the .bin holds encoded PNG/JPEG
        import io

        buf = io.BytesIO()
        Image.open(path).convert("RGB").save(buf, format="PNG")
        return buf.getvalue()

    bins, same = [], []
    for k in range(40):
        a = people[k % 10]
        b = a if k % 2 == 0 else people[(k + 3) % 10]
        bins += [png(a / "1.pgm"), png(b / ("2.pgm" if b == a else "3.pgm"))]
        same.append(a == b)
    (tmp_path / "val.bin").write_bytes(pickle.dumps((bins, same)))
    with sync_playwright() as p:
        browser, page, nav = open_demo(p, server)
        nav.get_by_text("Faces", exact=True).click()
        page.get_by_text("An InsightFace .bin (lfw.bin…)", exact=True).click()
        page.locator(".st-key-faces_bin input[type=file]").set_input_files(str(tmp_path / "val.bin"))
        expect(page.get_by_text("80 images of", exact=False)).to_be_visible()
        nav.get_by_text("Compare", exact=True).click()
        page.get_by_role("button", name="Run the comparison").click()
        expect(page.get_by_text("10-fold accuracy (as the field reports it)")).to_be_visible()
        expect(page.get_by_text("(10 folds)", exact=False).first).to_be_visible()

        nav.get_by_text("Faces", exact=True).click()
        page.get_by_text("Demo: ORL faces, 20 unseen people", exact=True).click()
        page.get_by_text("Automatic (every 10th person unknown, first photo enrolled)", exact=True).click()
        nav.get_by_text("Compare", exact=True).click()
        run = page.get_by_role("button", name="Run the comparison")
        run.click()
        expect(page.get_by_text("Identification (1:N)")).to_be_visible()
        expect(page.locator('[data-testid="stVegaLiteChart"]').get_by_text("CMC curves", exact=False)).to_be_visible()
        page.screenshot(path=str(tmp_path / "ident.png"), full_page=True)
        browser.close()


@pytest.fixture
def history_server(tmp_path):
    """Two command-line runs of the demo's three checkpoints on its faces (the store of this test), then the app
    of a single-user install (FACEROC_HISTORY=all, as make run starts it)."""
    for _ in range(2):
        r = subprocess.run([sys.executable, "-m", "faceroc_core", "evaluate", "--config", "demo/demo.toml",
                            "--cache-dir", str(tmp_path / "cache"), "-q", "--json", str(tmp_path / "cli.json")],
                           cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stderr
    yield from _serve(tmp_path, FACEROC_HISTORY="all")


def test_a_reload_keeps_the_result_cli_runs_are_on_history_and_a_link_opens_a_run_elsewhere(history_server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    from faceroc_core.store import Store

    expect.set_options(timeout=180_000)
    cli_runs = Store().list()
    assert len(cli_runs) == 2 and cli_runs[0]["dataset"]["fingerprint"] == cli_runs[1]["dataset"]["fingerprint"]
    with sync_playwright() as p:
        browser, page, nav = open_demo(p, history_server)  # the demo's own run is stored too, and linked
        expect(page.get_by_text("Link to this result", exact=False)).to_be_visible()
        assert "run=" in page.url
        page.reload()  # a reload keeps the result that was on screen: the stored run, read-only
        expect(page.get_by_text("A stored run, read-only", exact=False)).to_be_visible()
        expect(page.locator('[data-testid="stVegaLiteChart"]').first.locator("svg.marks g.mark-line path")
               ).to_have_count(4)

        nav.get_by_text("History", exact=True).click()
        expect(page.get_by_text("Leaderboard on these faces", exact=False)).to_be_visible()
        grids = page.locator('[data-testid="stDataFrame"]')
        expect(grids.first.locator("[role=gridcell]").filter(has_text=cli_runs[0]["id"][:8])).to_have_count(1)
        board = grids.nth(1)  # two CLI runs and the demo's own: one leaderboard, each model once
        expect(board.locator("[role=row]").filter(has=page.locator("[role=gridcell]"))).to_have_count(3)
        curve = page.locator('[data-testid="stVegaLiteChart"]').filter(has_text="over the training run")
        expect(curve).to_have_count(1)
        points = curve.locator('path[aria-roledescription="point"]')
        expect(points.first).to_be_attached()
        labels = [points.nth(k).get_attribute("aria-label") or "" for k in range(points.count())]
        epochs = [int(x.split("epoch: ")[1].split(";")[0]) for x in labels if "epoch: " in x and "model: " in x]
        assert epochs[:3] == [6, 18, 60], labels  # the AUC panel's line: the demo's three epochs in order

        other = browser.new_context(viewport={"width": 1400, "height": 2400})  # a colleague, with the link
        theirs = other.new_page()
        theirs.goto(f"{history_server}/?run={cli_runs[1]['id']}")
        expect(theirs.get_by_text("A stored run, read-only", exact=False)).to_be_visible()
        chart = theirs.locator('[data-testid="stVegaLiteChart"]').first
        expect(chart.locator("svg.marks g.mark-line path")).to_have_count(4)  # three models + the chance line
        other.close()

        browser.close()
