"""Benchmark: what a first-time user waits for, measured in a real browser (Debian's chromium + playwright).

1. A fresh server on a fresh cache, after the set-up step (``demo/precompute.py``): seconds from opening the
   app to the demo's ROC chart on screen (target < 5 s).
2. A folder of 1,580 photos (250x250 JPEG, ~10 KB each, like LFW) through the Faces page's folder picker, which
   packs the folder in the browser and sends one zip: seconds from choosing it to the Faces summary (target
   < 60 s; Streamlit's own directory uploader took 262 s for such a folder).  The same photos as a .zip upload,
   for reference.
3. The Report page after a comparison: seconds from the click to its verdict (target < 3 s), then each download
   (made when its button is pressed).

Run: python benchmarks/bench_browser.py [--photos 1580]
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def start_server(tmp: Path, env: dict) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=open(tmp / "server.log", "w"), stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    for _ in range(240):
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                return proc, url
        except OSError:
            time.sleep(0.25)
    raise RuntimeError("streamlit did not start")


def main() -> int:
    from helpers import make_photo_folder
    from playwright.sync_api import expect, sync_playwright

    ap = argparse.ArgumentParser()
    ap.add_argument("--photos", type=int, default=1580)
    ns = ap.parse_args()
    n_people = ns.photos // 10
    expect.set_options(timeout=600_000)
    tmp = Path(tempfile.mkdtemp(prefix="faceroc-bench-browser-"))
    env = dict(os.environ, FACEROC_CACHE=str(tmp / "cache"), FACEROC_SESSION_DIR=str(tmp / "sessions"))
    t = time.perf_counter()
    subprocess.run([sys.executable, "demo/precompute.py"], cwd=ROOT, env=env, check=True, capture_output=True)
    print(f"set-up step (demo results, fresh cache): {time.perf_counter() - t:.1f} s")
    photos = make_photo_folder(tmp / "photos", n_people=n_people)
    size = sum(p.stat().st_size for p in photos.rglob("*.jpg"))
    zpath = tmp / "photos.zip"
    with zipfile.ZipFile(zpath, "w") as z:
        for p in sorted(photos.rglob("*.jpg")):
            z.write(p, p.relative_to(photos.parent).as_posix())
    print(f"{n_people * 10:,} photos, {size / 1e6:.1f} MB")
    proc, url = start_server(tmp, env)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 2000})
            t = time.perf_counter()
            page.goto(url)
            expect(page.locator('[data-testid="stVegaLiteChart"] svg.marks g.mark-line path').first).to_be_attached()
            first = time.perf_counter() - t
            print(f"open the app -> demo ROC chart on screen: {first:.2f} s (target < 5 s)")
            nav = page.locator('[data-testid="stSidebarNav"]')
            summary = f"{n_people * 10:,} images of {n_people} people"

            nav.get_by_text("Faces", exact=True).click()
            page.get_by_text("Upload a folder", exact=True).click()
            page.locator(".st-key-faces_dir input[type=file]").wait_for(state="attached")
            t = time.perf_counter()
            page.locator(".st-key-faces_dir input[type=file]").set_input_files(str(photos))
            expect(page.get_by_text(summary)).to_be_visible()
            folder_s = time.perf_counter() - t
            print(f"folder of {n_people * 10:,} photos -> Faces summary: {folder_s:.1f} s (target < 60 s)")

            page.get_by_text("Upload a .zip", exact=True).click()
            page.locator(".st-key-faces_zip input[type=file]").wait_for(state="attached")
            shutil.copy(zpath, tmp / "photos2.zip")  # another file: a new upload
            t = time.perf_counter()
            page.locator(".st-key-faces_zip input[type=file]").set_input_files(str(tmp / "photos2.zip"))
            expect(page.get_by_text("Loaded now: “photos2.zip”", exact=False)).to_be_visible()
            expect(page.get_by_text(summary)).to_be_visible()
            print(f"the same photos as one .zip -> Faces summary: {time.perf_counter() - t:.1f} s")

            page.locator('[data-testid="stSidebar"]').get_by_role("button", name="Back to the demo").click()
            expect(page.get_by_text("Demo loaded", exact=False)).to_be_visible()
            nav.get_by_text("Compare", exact=True).click()
            expect(page.get_by_text("Evaluated 3 model(s)")).to_be_visible()
            t = time.perf_counter()
            nav.get_by_text("Report", exact=True).click()
            expect(page.get_by_text("Best model on these faces", exact=False)).to_be_visible()
            expect(page.get_by_role("button", name="Chart (SVG)", exact=True)).to_be_visible()
            print(f"Report page opened: {time.perf_counter() - t:.2f} s (target < 3 s)")
            for label in ("Report (HTML, opens offline)", "Metrics (JSON)", "ROC points (CSV)", "Chart (PNG)"):
                t = time.perf_counter()
                with page.expect_download() as got:
                    page.get_by_role("button", name=label, exact=True).click()
                n = Path(got.value.path()).stat().st_size
                print(f"  download {label}: {time.perf_counter() - t:.2f} s, {n / 1e3:,.0f} kB")
            browser.close()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
