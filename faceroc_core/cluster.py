"""Running the pair counting on a Dask cluster (optional: ``pip install -r requirements-dask.txt``).

``--dask tcp://scheduler:8786`` connects to a running cluster (started by
``dask scheduler`` / ``dask worker``, or by dask-jobqueue on SLURM/PBS, or by
dask-kubernetes); ``--dask local`` starts a ``LocalCluster`` on this machine.
Images are embedded in shards on the workers (:func:`embed_on_cluster`: each
model's file is sent once to every worker; the workers read the images from a
file system they share with this machine).  Then the embeddings (and the
thresholds) are sent once to every worker; each task counts some rows of pair
tiles and only its counts come back (:func:`faceroc_core.stream.scan`), so the
result is the single-process one, number for number.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from pathlib import Path

from .errors import FaceROCError

_logger = logging.getLogger(__name__)


@contextmanager
def dask_client(spec, *, timeout: str = "20s"):
    """A ``dask.distributed.Client`` for ``spec`` (``None``: yields None; ``"local"``; a scheduler address; or a
    ``Client`` already made, left open)."""
    if spec is None or spec == "":
        yield None
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise FaceROCError("--dask needs the optional Dask packages",
                           hint="pip install -r requirements-dask.txt") from None
    if isinstance(spec, Client):
        yield spec
        return
    if str(spec) == "local":
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            yield client
        return
    try:
        client = Client(str(spec), timeout=timeout)
    except OSError as e:
        raise FaceROCError(f"cannot reach the Dask scheduler at {spec}: {e}",
                           hint="check the address (tcp://host:8786) and that the scheduler is running") from None
    try:
        yield client
    finally:
        client.close()


# --------------------------------------------------------------------------- embedding on the workers
_FILES: dict[str, str] = {}  # on a worker: model content hash -> its file there (written once per worker)


def _model_file(key: str, data: bytes) -> str:
    import os
    import tempfile

    path = _FILES.get(key)
    if path is None or not os.path.exists(path):
        folder = tempfile.mkdtemp(prefix="faceroc-model-")
        path = os.path.join(folder, f"{key[:16]}.onnx")
        with open(path, "wb") as f:
            f.write(data)
        _FILES[key] = path
    return path


def _embed_shard(images, models, blobs, batch_size: int):
    """On a worker: embed some images (read from their paths there) with every model (its file sent once)."""
    from dataclasses import replace

    from .embed import embed
    from .onnx_io import make_session

    local = [(replace(pm, onnx_path=Path(_model_file(key, blob))), prep) for (pm, prep), (key, blob) in zip(models, blobs)]
    # the Dask worker process is the guard here (a crash costs that worker, not the client)
    return embed(images, local, cache=None, batch_size=batch_size,
                 session_factory=lambda m: make_session(m.onnx_path, threads=1, runtime=m.info.runtime))


def embed_on_cluster(images, models, client, *, batch_size: int = 32, progress=None, shards: int | None = None):
    """:func:`faceroc_core.embed.embed` with the images split into shards embedded on the workers of ``client``.

    Each model's ONNX file is sent once to every worker; the workers read the images from their paths (a file
    system they share with this machine, as on a cluster's shared disk).  The shards' results are joined in
    the images' order: the same :class:`~faceroc_core.embed.EmbeddingRun` as one process makes.
    """
    import hashlib
    import time

    import numpy as np
    from distributed import as_completed

    from .embed import EmbeddingRun, ModelEmbeddings
    from .progress import Stage

    t0 = time.perf_counter()
    images = list(images)
    blobs = []
    for pm, _ in models:
        data = Path(pm.onnx_path).read_bytes()
        blobs.append((hashlib.sha256(data).hexdigest(), data))
    blob_f = client.scatter(blobs, broadcast=True)
    n_shards = shards or max(1, min(len(images), 4 * sum(client.nthreads().values())))
    bounds = np.linspace(0, len(images), n_shards + 1).astype(int)
    futures = {client.submit(_embed_shard, images[a:b], list(models), blob_f, batch_size, pure=False): k
               for k, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])) if b > a}
    runs: dict[int, EmbeddingRun] = {}
    done = 0
    for f in as_completed(futures):
        k = futures[f]
        runs[k] = f.result()
        done += bounds[k + 1] - bounds[k]
        if progress:
            progress(Stage.EMBED, done, len(images), None)
    order = [runs[k] for k in sorted(runs)]
    results = []
    for j, (pm, prep) in enumerate(models):
        parts = [r.results[j] for r in order]
        errors = [p.error for p in parts if p.error]
        results.append(ModelEmbeddings(
            model=pm, preprocessing=prep, embeddings=np.concatenate([p.embeddings for p in parts]),
            valid=np.concatenate([p.valid for p in parts]), failed=tuple(s for p in parts for s in p.failed),
            error=errors[0] if errors else None))
    detections = tuple(d for r in order for d in (r.detections or (None,) * len(r.images)))
    return EmbeddingRun(images=tuple(images), unreadable=tuple(s for r in order for s in r.unreadable),
                        results=tuple(results),
                        detections=detections if any(d is not None for d in detections) else (),
                        seconds=time.perf_counter() - t0,
                        detect_seconds=sum(r.detect_seconds for r in order))
