"""The dashboard's side of the run store (faceroc_core.store): saving a run, which runs a session may see, the
test set's fingerprint, leaderboards and training curves from stored runs."""
from __future__ import annotations

import os

import streamlit as st

from faceroc_core.store import Store, dataset_fingerprint


def all_visible() -> bool:
    """``FACEROC_HISTORY=all`` (a single-user install; ``make run`` sets it): every stored run is listed.
    Otherwise a session lists only the runs it made or opened by link."""
    return os.environ.get("FACEROC_HISTORY", "").strip().lower() == "all"


def mine() -> list[str]:
    return st.session_state.setdefault("my_runs", [])


@st.cache_data(show_spinner=False, max_entries=16)
def content_fingerprint(faces_key: str, _ds, protocol: str | None) -> str:
    """The test set's fingerprint as the CLI computes it (content hashes with identities)."""
    return dataset_fingerprint(_ds, protocol)


def save_run(result: dict, fp: str, name: str, epochs: dict) -> str | None:
    """Store a dashboard run and remember it as this session's; None (and a log line) when the store fails."""
    import logging

    try:
        with Store() as store:
            run_id = store.save(result, fingerprint=fp, dataset_name=name, epochs=epochs)
    except Exception as e:  # never lose a result on screen over the store
        logging.getLogger(__name__).warning("run not stored: %s", type(e).__name__)
        return None
    mine().insert(0, run_id)
    return run_id


def visible_runs() -> list[dict]:
    with Store() as store:
        runs = store.list()
    if all_visible():
        return runs
    keep = set(mine())
    return [r for r in runs if r["id"] in keep]


def leaderboard(runs: list[dict], fp: str) -> list[dict]:
    """Every model evaluated on the test set ``fp``, best first; a model (sha256) evaluated twice appears once,
    with its latest result (runs are newest first)."""
    seen, rows = set(), []
    for r in runs:
        if r["dataset"]["fingerprint"] != fp:
            continue
        for m in r["models"]:
            key = m["sha256"] or f"{r['id']}/{m['name']}"
            if key in seen:
                continue
            seen.add(key)
            rows.append({**m, "run": r["id"], "created": r["created"]})
    return sorted(rows, key=lambda m: -(m["auc"] or 0))
