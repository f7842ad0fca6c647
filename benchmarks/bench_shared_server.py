"""Benchmark: a shared server, four people pressing Run at once and a fifth opening the app (issue #18).

A fresh server (after the set-up step, so the demo's result is stored), ``FACEROC_HISTORY=all``.  Four browser
sessions each upload their own 10 ORL people (different people, so nothing is cached between them) and press
"Run the comparison" within a second; meanwhile a fifth session opens the app.  Printed: each of the four's
seconds from the click to its result, where each stood in line, and the fifth's seconds to the demo's first chart —
once with ``FACEROC_MAX_RUNS=4`` (everyone at once: no line, as before) and once with the default (half the cores).

Run: python benchmarks/bench_shared_server.py
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_browser import ARGS, CHROMIUM, ROOT, start_server  # noqa: E402

CHART = '[data-testid="stVegaLiteChart"] svg.marks g.mark-line path'


def one_round(max_runs: str | None) -> dict:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=300_000)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        env = dict(os.environ, FACEROC_CACHE=str(tmp / "cache"), FACEROC_SESSION_DIR=str(tmp / "sessions"),
                   FACEROC_HOME=str(tmp / "home"), FACEROC_HISTORY="all")
        env.pop("FACEROC_MAX_RUNS", None)
        if max_runs:
            env["FACEROC_MAX_RUNS"] = max_runs
        subprocess.run([sys.executable, "demo/precompute.py"], cwd=ROOT, env=env, check=True, capture_output=True)
        folders = []
        for k in range(4):  # each person's own faces: ORL people 1-10, 11-20, 21-30, 31-40
            f = tmp / f"person{k}_faces"
            for i in range(10 * k + 1, 10 * k + 11):
                shutil.copytree(ROOT / "demo" / "orl_faces" / f"s{i}", f / f"s{i}")
            folders.append(f)
        proc, url = start_server(tmp, env)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                pages = []
                for f in folders:
                    page = browser.new_context(viewport={"width": 1300, "height": 2000}).new_page()
                    page.goto(url)
                    expect(page.locator(CHART).first).to_be_attached()
                    nav = page.locator('[data-testid="stSidebarNav"]')
                    nav.get_by_text("Faces", exact=True).click()
                    page.get_by_text("Upload a folder", exact=True).click()
                    page.locator(".st-key-faces_dir input[type=file]").set_input_files(str(f))
                    expect(page.get_by_text("100 images of 10 people")).to_be_visible()
                    nav.get_by_text("Compare", exact=True).click()
                    expect(page.get_by_role("button", name="Run the comparison")).to_be_visible()
                    pages.append(page)
                clicked = []
                for page in pages:  # four clicks within a second
                    page.get_by_role("button", name="Run the comparison").click(no_wait_after=True)
                    clicked.append(time.perf_counter())
                time.sleep(0.5)
                fifth = browser.new_context(viewport={"width": 1300, "height": 2000}).new_page()
                t5 = time.perf_counter()
                fifth.goto(url, wait_until="commit")
                done: dict[int, float] = {}
                queued: set[int] = set()
                first_chart = None
                while len(done) < 4 or first_chart is None:
                    for k, page in enumerate(pages):
                        if k not in done:
                            if page.get_by_text("number", exact=False).filter(has_text="in line").count():
                                queued.add(k)
                            if page.get_by_text("Evaluated 3 model(s)", exact=False).count():
                                done[k] = time.perf_counter() - clicked[k]
                    if first_chart is None and fifth.locator(CHART).count():
                        first_chart = time.perf_counter() - t5
                    if time.perf_counter() - t5 > 600:
                        raise RuntimeError("the runs did not finish in 10 minutes")
                    time.sleep(0.1)
                browser.close()
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        return {"done": [done[k] for k in range(4)], "queued": sorted(queued), "fifth": first_chart}


def main() -> int:
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing")
        return 1
    for label, max_runs in (("FACEROC_MAX_RUNS=4 (no line)", "4"), ("default line", None)):
        r = one_round(max_runs)
        print(f"{label}: results after " + ", ".join(f"{s:.1f}" for s in r["done"]) + " s; stood in line: "
              f"{len(r['queued'])} of 4; a fifth person's first chart after {r['fifth']:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
