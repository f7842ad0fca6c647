"""Compute the demo's results once, at set-up (``make run``), so the dashboard's first screen is instant.

The dashboard reads the stored result only when the demo's models, faces and
FaceROC's code are exactly those it was computed with; otherwise it computes
the demo as usual.  Run: ``.venv/bin/python demo/precompute.py``.
"""
import logging
import sys
import time
import warnings
from dataclasses import replace
from pathlib import Path

# the dashboard's own helpers (ui/) beside this script, also where FaceROC is not installed (the Docker build)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

warnings.filterwarnings("ignore")


def main() -> int:
    from ui.runner import Job, demo_result_path, load_demo_result, run_job, save_demo_result
    from ui.state import demo_entries

    for name in list(logging.root.manager.loggerDict):  # Streamlit's bare-mode notices ("no ScriptRunContext")
        if name.startswith("streamlit"):
            logging.getLogger(name).addFilter(lambda record: record.levelno >= logging.ERROR)


    models, faces = demo_entries()
    job = Job(tuple(replace(m, align=False) for m in models), faces)  # as the dashboard opens: alignment off
    key = job.key()
    if load_demo_result(key) is not None:
        print(f"demo results already computed ({demo_result_path(key).name})")
        return 0
    t0 = time.perf_counter()
    ev = run_job(job)
    if ev.failures or not ev.models:
        print("demo precompute failed: " + "; ".join(f"{f.name}: {f.error}" for f in ev.failures), file=sys.stderr)
        return 1
    path = save_demo_result(key, ev)
    print(f"demo results computed in {time.perf_counter() - t0:.1f} s: "
          + ", ".join(f"{r.name} AUC {r.auc:.4f}" for r in ev.ranked()) + f" ({path.name})")
    run_id = store_demo_run(job, ev)
    if run_id:  # History shows the demo's run, its leaderboard and its training curve from the first screen on
        path.with_suffix(".run").write_text(run_id)
        print(f"stored as run {run_id} (History, ?run={run_id})")
    return 0


def store_demo_run(job, ev) -> str | None:
    """The demo's run in the run store, as the dashboard stores a comparison, or None when it cannot be."""
    from ui.history import store_job

    try:
        return store_job(job, ev)
    except Exception as e:  # the store is a courtesy here: the demo's result is saved already
        print(f"the demo's run was not stored: {type(e).__name__}: {e}", file=sys.stderr)
        return None


if __name__ == "__main__":
    sys.exit(main())
