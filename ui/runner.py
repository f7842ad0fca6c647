"""Cached building blocks over faceroc_core.

* ``st.cache_resource``: prepared models (ONNX export of .pth files) and
  onnxruntime sessions, keyed by plain strings (path, content hash, options).
* ``st.cache_data``: embeddings and metrics, keyed by a content hash of the
  models and faces, so a threshold or language change never re-embeds and a
  re-run of the same models on the same faces is instant.  Progress bars are
  created inside the cached embedding function, so a cache hit replays them
  finished.
"""
from __future__ import annotations

import hashlib
import logging
import os
import pickle
from dataclasses import dataclass, replace
from pathlib import Path

import streamlit as st

from faceroc_core.dataset import Dataset, amend, scan_folder
from faceroc_core.embed import EmbeddingRun
from faceroc_core.models import PreparedModel, prepare_model
from faceroc_core.options import ModelSpec, RunOptions, resolve_preprocessing, spec_from_options
from faceroc_core.pipeline import Evaluation, ModelFailure, embed_dataset, measure_run, prepare_all, protocol_of
from faceroc_core.progress import Stage
from faceroc_core.slots import RunQueue, max_runs
from faceroc_core.worker import Limits

from .i18n import t
from .state import FacesSource, ModelEntry

_logger = logging.getLogger(__name__)
BATCH = 32
# every model runs in its own worker process under these limits (stated on the Models page)
LIMITS = Limits.of(os.environ.get("FACEROC_MODEL_TIMEOUT", "300"), os.environ.get("FACEROC_MODEL_MEMORY_GB", "4"))


@st.cache_resource(show_spinner=False)
def run_queue() -> RunQueue:
    """The server's one line of comparisons: at most ``FACEROC_MAX_RUNS`` at once (:mod:`faceroc_core.slots`)."""
    return RunQueue(max_runs())


@st.cache_resource(show_spinner=False, max_entries=64)
def prepared(path: str, sha: str, arch: str | None, embedding_dim: int | None, size: str) -> PreparedModel:
    """The model ready to run (exported and checked once per content hash and options)."""
    from faceroc_core.preprocess import parse_size

    return prepare_model(path, arch=arch or None, embedding_dim=embedding_dim,
                         size=parse_size(size) if size else None, limits=LIMITS)


def spec_of(m: ModelEntry) -> ModelSpec:
    """The engine's spec of an entry (its options are the engine's model options, by name)."""
    return spec_from_options(m.path, **m.model_options())


def run_options(job: Job | None = None) -> RunOptions:
    """The dashboard's run options: its batch size and worker limits, the job's people's attributes and gallery."""
    return RunOptions(batch_size=BATCH, limits=LIMITS, groups=job.group_table() if job is not None else None,
                      gallery=job.gallery if job is not None else None,
                      dev_fraction=job.dev_fraction if job is not None else None)


def prepare_entry(m: ModelEntry):
    """(PreparedModel, Preprocessing) for an entry, or raise FaceROCError."""
    spec = spec_of(m)
    pm = prepared_entry(m)
    return pm, resolve_preprocessing(spec, pm.info)


def prepared_entry(m: ModelEntry) -> PreparedModel:
    """The cached prepared model under this entry's display name, with the file's own name as its source
    (never the server path)."""
    return replace(prepared(m.path, m.sha, m.arch or None, m.embedding_dim, m.size), name=m.name, source=m.filename)


@dataclass(frozen=True)
class Job:
    models: tuple[ModelEntry, ...]
    faces: FacesSource
    refused: tuple[ModelEntry, ...] = ()  # models whose files could not be used at all (shown as failures)
    groups: bytes | None = None  # the people's attributes CSV, when one was given (Faces page)
    gallery: str | bytes | None = None  # identification: "auto" or a gallery CSV (Faces page)
    dev_fraction: float | None = None  # choose each model's threshold on this share of the people (Compare page)

    def embed_key(self) -> str:
        """What the embeddings depend on: the faces and every model's options."""
        h = hashlib.sha256(self.faces.fingerprint().encode())
        for m in self.models:
            h.update(m.options_key().encode())
        return h.hexdigest()

    def key(self) -> str:
        """What the results depend on: the embeddings' key, the groups and the gallery."""
        if not self.groups and self.gallery is None and self.dev_fraction is None:
            return self.embed_key()
        gallery = self.gallery.encode() if isinstance(self.gallery, str) else (self.gallery or b"")
        return hashlib.sha256((self.embed_key() + "|groups|").encode() + (self.groups or b"") + b"|gallery|"
                              + gallery + f"|dev|{self.dev_fraction}".encode()).hexdigest()

    def group_table(self):
        from faceroc_core.groups import read_groups_csv

        return read_groups_csv(self.groups, source="groups.csv") if self.groups else None


def load_dataset(src: FacesSource) -> Dataset:
    """The faces, under the same cap as uploads (a server folder cannot hold more than an upload may)."""
    from faceroc_core.ingest import MAX_FILES

    ds = scan_folder(src.root, labels=src.labels, identities=src.identities, max_images=MAX_FILES)
    ds = amend(ds, exclude=src.exclude, merge=src.merge) if src.exclude or src.merge else ds
    return protocol_of(ds, src.pairs)[0] if src.pairs else ds


@st.cache_data(show_spinner=False, max_entries=16)
def cached_embeddings(job_key: str, _job: Job) -> tuple[EmbeddingRun, tuple[ModelFailure, ...]]:
    prep_bar = st.progress(0.0)
    by_path = {str(m.path): m for m in _job.models}

    def prepare(path, **_):  # the engine's hook; the entry holds the same options as its spec
        m = by_path[str(path)]
        prep_bar.progress(list(by_path).index(str(path)) / len(by_path), text=t("compare.stage.prepare", model=m.name))
        return prepared_entry(m)

    specs, failures = [], []
    for m in _job.models:  # options that do not parse (a mistyped size...) fail that model alone
        try:
            specs.append(spec_of(m))
        except Exception as e:
            failures.append(ModelFailure.of(m.name, m.filename, e))
    # the engine's own preparation: every failure (expected or not) is one model's, the others go on
    ready, failed = prepare_all(specs, cache_dir=None, prepare=prepare,
                                sources={p: m.filename for p, m in by_path.items()})
    failures += failed
    prep_bar.progress(1.0, text=f"{t('compare.stage.prepare', model='')}✓")
    ds = load_dataset(_job.faces)
    bars = {}
    read_bar = st.progress(0.0, text=t("compare.stage.read"))
    faces_bar = st.progress(0.0, text=t("compare.stage.faces")) if any(p.align for _, p in ready) else None
    for pm, _ in ready:
        bars[pm.name] = st.progress(0.0, text=t("compare.stage.embed", model=pm.name))

    def progress(stage, done, total, model):
        frac = min(1.0, done / max(total, 1))
        if stage == Stage.READ:
            read_bar.progress(frac, text=f"{t('compare.stage.read')} · {done}/{total}")
        elif stage == Stage.FACES and faces_bar is not None:
            faces_bar.progress(frac, text=f"{t('compare.stage.faces')} · {done}/{total}")
        elif stage == Stage.EMBED and model in bars:
            bars[model].progress(frac, text=f"{t('compare.stage.embed', model=model)} · {done}/{total}")

    # the engine's embedding step (the same as the CLI's): memory guard, embedding cache, guarded workers
    run = embed_dataset(ds, ready, run_options(), progress=progress)
    return run, tuple(failures)


@st.cache_data(show_spinner=False, max_entries=32)
def cached_metrics(job_key: str, _job: Job, _run: EmbeddingRun, _failures: tuple) -> Evaluation:
    ds = load_dataset(_job.faces)
    pairs = protocol_of(ds, _job.faces.pairs)[1] if _job.faces.pairs else None
    return measure_run(ds, _run, failures=_failures, options=run_options(_job), pairs=pairs)


# --------------------------------------------------------------------------- the demo's stored result
def _code_version() -> str:
    """A hash of the engine's and the dashboard's source: a stored result is only read by the code that wrote it."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for p in sorted([*root.glob("faceroc_core/**/*.py"), *root.glob("ui/*.py")]):
        h.update(str(p.relative_to(root)).encode() + b"\0" + p.read_bytes())
    return h.hexdigest()[:16]


def demo_result_path(job_key: str) -> Path:
    from faceroc_core.cache import default_cache_dir

    return default_cache_dir() / "demo" / f"{job_key[:32]}-{_code_version()}.pkl"


def save_demo_result(job_key: str, ev: Evaluation) -> Path:
    """Store the demo's evaluation (written by ``make run``'s set-up step, ``demo/precompute.py``)."""
    path = demo_result_path(job_key)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(pickle.dumps(ev, protocol=pickle.HIGHEST_PROTOCOL))
    tmp.replace(path)
    return path


def load_demo_result(job_key: str) -> Evaluation | None:
    """The demo's stored evaluation for exactly these models, faces and code, or None.

    Only the set-up step writes this file, into the cache folder on this
    machine; nothing a user uploads is ever unpickled.
    """
    path = demo_result_path(job_key)
    try:
        ev = pickle.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except Exception as e:  # a damaged or foreign file: compute instead
        _logger.warning("ignoring the stored demo result %s: %s", path.name, e)
        return None
    return ev if isinstance(ev, Evaluation) else None


def demo_run_id(job_key: str) -> str | None:
    """The run id the set-up step stored the demo's result under (``demo/precompute.py``), while that run is in
    the store."""
    from faceroc_core.store import RUN_ID, Store

    try:
        run_id = demo_result_path(job_key).with_suffix(".run").read_text().strip()
        if not RUN_ID.match(run_id):
            return None
        with Store() as store:
            store.get(run_id)
        return run_id
    except Exception:  # no file, a run removed since, a store that cannot be read: no link
        return None


def run_job(job: Job) -> Evaluation:
    import time

    t0 = time.perf_counter()
    key = job.key()
    run, failures = cached_embeddings(job.embed_key(), job)
    with st.spinner(t("compare.stage.score")):
        ev = cached_metrics(key, job, run, failures)
    refused = tuple(m.error for m in job.refused if m.error is not None)
    return replace(ev, seconds=time.perf_counter() - t0, failures=ev.failures + refused,
                   dataset=replace(ev.dataset, root=job.faces.display))
