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


def store_job(job, ev) -> str:
    """Write a dashboard comparison (``job``, :class:`ui.runner.Job`, and its result) to the run store: its JSON
    with no path (each model's folder as a hash), under the faces' content fingerprint; its run id.  Also how
    ``demo/precompute.py`` stores the demo's run."""
    from faceroc_core.report import to_dict
    from faceroc_core.store import folder_key
    from ui.runner import load_dataset

    fp = content_fingerprint(job.faces.fingerprint(), load_dataset(job.faces), ev.dataset.protocol)
    name = job.faces.display
    with Store() as store:
        return store.save(public(to_dict(ev), name, {m.name: folder_key(m.path) for m in job.models}),
                          fingerprint=fp, dataset_name=name)


def save_run(job, ev) -> str | None:
    """Store a dashboard run (:func:`store_job`) and remember it as this session's; None (and a log line) when the
    store fails.  The page's address gets ``?run=ID``: a reload shows the same result, and the address is the
    link to hand over."""
    import logging

    try:
        run_id = store_job(job, ev)
    except Exception as e:  # never lose a result on screen over the store
        logging.getLogger(__name__).warning("run not stored: %s", type(e).__name__)
        return None
    mine().insert(0, run_id)
    handled().add(run_id)  # this session's own result is on screen already
    st.session_state["result_run"] = run_id
    st.query_params["run"] = run_id
    return run_id


def open_linked(link: str | None) -> None:
    """A run handed over by link (``?run=ID``) becomes the session's result, read-only (its key ``run:ID``): the
    Compare and Report pages show it as they show a run of this session.  Each link is opened once per session,
    so a comparison made afterwards is not replaced by it (an address that still carries an older run of this
    session opens nothing)."""
    from faceroc_core.restore import evaluation_from_dict

    if not link or link in handled():
        return
    handled().add(link)
    st.session_state.pop("link_error", None)
    try:
        with Store() as store:
            run = store.get(link)
        ev = evaluation_from_dict(run)
    except FaceROCError as e:
        st.session_state["link_error"] = str(e)
        return
    except Exception as e:  # a store that cannot be read (a database that is down): said, never a traceback
        st.session_state["link_error"] = f"the run store cannot be read ({type(e).__name__})"
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


def remove_run(run_id: str) -> None:
    """Delete a run this session may see from the store: gone from every list, leaderboard and link."""
    if run_id not in {r["id"] for r in visible_runs()}:
        raise FaceROCError("that run is not one this session may remove")
    with Store() as store:
        store.remove(run_id)
    if st.session_state.get("result_run") == run_id and str(st.session_state.get("result", ("",))[0]).startswith("run:"):
        close_linked()
    if run_id in mine():
        mine().remove(run_id)


def handled() -> set:
    """The run ids this session made or opened: an address carrying one of them opens nothing again."""
    return st.session_state.setdefault("handled_links", set())


def keep_in_address(run_id: str | None) -> None:
    """The address shows the run on screen (``?run=ID``): a reload brings it back, and it is the link to send."""
    if run_id and st.query_params.get("run") != run_id:
        st.query_params["run"] = run_id


def close_linked() -> None:
    """Back to this session's own comparison (the linked run leaves the screen, not the store)."""
    st.session_state.pop("result", None)
    st.session_state.pop("result_run", None)
    st.query_params.pop("run", None)


def visible_runs() -> list[dict]:
    """The runs this session may list (every run with ``FACEROC_HISTORY=all``); :class:`FaceROCError` when the
    store cannot be read."""
    try:
        with Store() as store:
            runs = store.list()
    except FaceROCError:
        raise
    except Exception as e:  # sqlite3.Error, a PostgreSQL server that is down
        raise FaceROCError(f"the run store cannot be read ({type(e).__name__})",
                           hint="check FACEROC_HOME / FACEROC_DB") from None
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
                        "tar_interval": (m.get("tar_at_far_interval") or {}).get(far_key(far)), "stored": m, "folder": m.get("folder"),
                        "source": m.get("source") or row["name"]})
    return out


def as_results(rows: list[dict], labels: list[str]) -> list:
    """Leaderboard rows (:func:`with_details`) as :class:`~faceroc_core.results.ModelResult` s named ``labels``,
    for the engine's own ROC and DET charts; rows whose run holds no curve are left out."""
    from dataclasses import replace

    from faceroc_core.restore import model_from_dict

    out = []
    for row, label in zip(rows, labels):
        try:
            out.append(replace(model_from_dict(row["stored"]), name=label))
        except (FaceROCError, KeyError, TypeError, ValueError):
            continue
    return out


def show_opened(*, link_to_compare: bool = False) -> bool:
    """The notes above a page: a link that could not be opened, and which stored run is on screen; whether the
    session's result is such a run (read-only)."""
    from ui.i18n import t
    from ui.views import plain

    if st.session_state.get("link_error"):
        st.error(t("history.link_failed", err=plain(st.session_state["link_error"])), icon=":material/error:")
    result = st.session_state.get("result")
    if result is None or not str(result[0]).startswith("run:"):
        return False
    info = st.session_state.get("opened_info", {})
    st.info(t("history.opened_how", name=plain(str(info.get("name", ""))), when=info.get("when", ""),
              n=info.get("n", 0)), icon=":material/link:")
    if link_to_compare:
        st.page_link("pages/compare.py", label=t("history.open_compare"), icon=":material/show_chart:")
    return True
