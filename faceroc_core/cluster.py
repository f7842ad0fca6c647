"""Running the pair counting on a Dask cluster (optional: ``pip install -r requirements-dask.txt``).

``--dask tcp://scheduler:8786`` connects to a running cluster (started by
``dask scheduler`` / ``dask worker``, or by dask-jobqueue on SLURM/PBS, or by
dask-kubernetes); ``--dask local`` starts a ``LocalCluster`` on this machine.
The embeddings (and the thresholds) are sent once to every worker; each task
counts some rows of pair tiles and only its counts come back
(:func:`faceroc_core.stream.scan`), so the result is the single-process one,
number for number.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager

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
