"""The dashboard's side of the run store (faceroc_core.store): saving a run, which runs a session may see, the
test set's fingerprint, leaderboards and training curves from stored runs."""
from __future__ import annotations

import os

import streamlit as st

from faceroc_core.errors import FaceROCError
from faceroc_core.store import Store, dataset_fingerprint, public


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
    """Store a dashboard run and remember it as this session's; None (and a log line) when the store fails.
    The page's address gets ``?run=ID``: a reload shows the same result, and the address is the link to hand
    over."""
    import logging

    try:
        with Store() as store:
            run_id = store.save(public(result, name), fingerprint=fp, dataset_name=name, epochs=epochs)
    except Exception as e:  # never lose a result on screen over the store
        logging.getLogger(__name__).warning("run not stored: %s", type(e).__name__)
        return None
    mine().insert(0, run_id)
    st.session_state["linked"] = run_id  # this session's own result is on screen already
    st.session_state["result_run"] = run_id
    st.query_params["run"] = run_id
    return run_id


def open_linked(link: str | None) -> None:
    """A run handed over by link (``?run=ID``) becomes the session's result, read-only (its key ``run:ID``): the
    Compare and Report pages show it as they show a run of this session.  Each link is opened once per session,
    so a comparison made afterwards is not replaced by it."""
    from faceroc_core.restore import evaluation_from_dict

    if not link or st.session_state.get("linked") == link:
        return
    st.session_state["linked"] = link
    st.session_state.pop("link_error", None)
    try:
        with Store() as store:
            run = store.get(link)
        ev = evaluation_from_dict(run)
    except FaceROCError as e:
        st.session_state["link_error"] = str(e)
        return
    if link not in mine():
        mine().append(link)
    st.session_state["result"] = (f"run:{link}", ev)
    st.session_state["result_run"] = link
    st.session_state["result_root"] = None  # the faces are not stored: no thumbnails
    st.session_state["opened_info"] = {"name": run.get("dataset", {}).get("root") or "", "when": run.get("created", ""),
                                       "n": len(ev.models)}
    for stale in ("result_stored", "threshold", "threshold_for"):
        st.session_state.pop(stale, None)


def close_linked() -> None:
    """Back to this session's own comparison (the linked run leaves the screen, not the store)."""
    st.session_state.pop("result", None)
    st.session_state.pop("result_run", None)
    st.query_params.pop("run", None)


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


def with_details(rows: list[dict], far: float = 1e-3) -> list[dict]:
    """Leaderboard rows with what only the run's JSON holds: the intervals over people, TAR at ``far`` and its
    interval, the stored ROC (each run read once)."""
    from faceroc_core.jsonparts import far_key

    runs: dict[str, dict] = {}
    out = []
    with Store() as store:
        for row in rows:
            if row["run"] not in runs:
                try:
                    runs[row["run"]] = store.get(row["run"])
                except FaceROCError:
                    runs[row["run"]] = {}
            m = next((x for x in runs[row["run"]].get("models", []) if x.get("name") == row["name"]), {})
            out.append({**row, "auc_interval": m.get("auc_interval"), "tar": m.get("tar_at_far", {}).get(far_key(far)),
                        "tar_interval": (m.get("tar_at_far_interval") or {}).get(far_key(far)), "roc": m.get("roc")})
    return out
