"""Guarded model runs: every model runs in its own worker process, with a time and a memory limit.

A model file is untrusted code in all but name: an ONNX graph can loop for ever or
allocate without bound, and a runtime can crash on a malformed file.  So the
engine never runs one in its own process.  A :class:`GuardedSession` starts a worker
(forked from a forkserver that has numpy and onnxruntime loaded, so a worker starts
in milliseconds), which loads and inspects the model (one dummy run, see
:func:`faceroc_core.onnx_io.inspect_onnx`) and then runs the batches it is sent.

- Batches travel through shared memory: :func:`shared_empty` gives arrays that
  live there, and a batch that is a view of one reaches the worker with no copy;
  only the embeddings come back through the pipe.
- Time: :attr:`Limits.seconds` bounds the time the model itself takes (loading,
  inspection and every batch, added up).  Past it the worker is killed and the
  model fails with "stopped after N s".
- Memory: :attr:`Limits.memory_bytes` is added to the worker's address space as it
  stands before the model loads (``RLIMIT_AS``); an allocation past it fails inside
  the worker, and the model fails with "needed more than N GB".
- A worker that dies (a crash in the runtime) fails its model with the exit status.

The session has onnxruntime's interface (``get_inputs``, ``get_outputs``, ``run``),
so the embedding step runs a guarded model as it runs any session.
"""
from __future__ import annotations

import logging
import multiprocessing as mp
import shutil
import threading
import time
from dataclasses import dataclass
from multiprocessing import shared_memory

import numpy as np

from .errors import ModelError

_logger = logging.getLogger(__name__)
GB = 2**30


@dataclass(frozen=True)
class Limits:
    """Per-model limits; ``None`` means no limit (the model still runs in its own process)."""

    seconds: float | None = None
    memory_bytes: int | None = None

    def __post_init__(self):
        if self.seconds is not None and not self.seconds > 0:
            raise ModelError(f"the time limit must be more than 0 seconds, got {self.seconds!r}")
        if self.memory_bytes is not None and not self.memory_bytes >= 64 * 2**20:
            raise ModelError(f"the memory limit must be at least 64 MB, got {self.memory_bytes!r} bytes")

    @classmethod
    def of(cls, seconds=None, memory_gb=None) -> Limits:
        """From a CLI/config: seconds and GB, 0 or None for no limit."""
        return cls(seconds=float(seconds) if seconds else None,
                   memory_bytes=int(float(memory_gb) * GB) if memory_gb else None)

    def describe(self) -> str:
        t = f"{self.seconds:g} s" if self.seconds else "no time limit"
        m = f"{self.memory_bytes / GB:g} GB" if self.memory_bytes else "no memory limit"
        return f"{t}, {m} per model"


# --------------------------------------------------------------------------- shared memory
_SEGMENTS: dict[str, tuple[int, int, shared_memory.SharedMemory]] = {}  # name -> (address, size, segment)
_SEG_LOCK = threading.Lock()


def _shm_room(nbytes: int) -> bool:
    """Whether /dev/shm can take ``nbytes`` more (a full tmpfs kills the writer with SIGBUS)."""
    try:
        return shutil.disk_usage("/dev/shm").free > 2 * nbytes
    except OSError:
        return False


def shared_empty(shape, dtype=np.float32) -> np.ndarray:
    """An uninitialised array in shared memory (a plain array where shared memory is short).

    Free it with :func:`release`; a guarded session sends any C-contiguous view of it
    to its worker without copying.
    """
    nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    if nbytes == 0 or not _shm_room(nbytes):
        return np.empty(shape, dtype)
    try:
        seg = shared_memory.SharedMemory(create=True, size=nbytes)
    except OSError:
        return np.empty(shape, dtype)
    arr = np.ndarray(shape, dtype, buffer=seg.buf)
    with _SEG_LOCK:
        _SEGMENTS[seg.name] = (arr.__array_interface__["data"][0], nbytes, seg)
    return arr


def release(arr: np.ndarray) -> None:
    """Free an array made by :func:`shared_empty` (no-op for plain arrays). Views of it must not be used after."""
    addr = arr.__array_interface__["data"][0]
    with _SEG_LOCK:
        name = next((n for n, (a, _, _) in _SEGMENTS.items() if a == addr), None)
        if name is None:
            return
        _, _, seg = _SEGMENTS.pop(name)
    del arr
    try:
        seg.close()
    except BufferError:  # a view is still alive somewhere: the segment goes when it does
        pass
    seg.unlink()


def _locate(x: np.ndarray) -> tuple[str, int] | None:
    """(segment name, byte offset) when ``x`` is a C-contiguous float32 view inside a shared segment."""
    if x.dtype != np.float32 or not x.flags.c_contiguous:
        return None
    addr = x.__array_interface__["data"][0]
    with _SEG_LOCK:
        for name, (a, size, _) in _SEGMENTS.items():
            if a <= addr and addr + x.nbytes <= a + size:
                return name, addr - a
    return None


# --------------------------------------------------------------------------- the worker
_CTX = None
_CTX_LOCK = threading.Lock()


def _context():
    global _CTX
    with _CTX_LOCK:
        if _CTX is None:
            ctx = mp.get_context("forkserver")
            ctx.set_forkserver_preload(["numpy", "onnxruntime", "faceroc_core.onnx_io"])
            _CTX = ctx
        return _CTX


_MAIN_LOCK = threading.Lock()


def _start_without_main(proc) -> None:
    """Start ``proc`` without it importing the caller's ``__main__`` script again.

    A forkserver child normally re-imports the main script (as spawn does), so a
    user's unguarded script (no ``if __name__ == "__main__"``) would run again in
    every worker.  The worker's code lives in this package: it needs none of it.
    """
    import sys

    main = sys.modules.get("__main__")
    with _MAIN_LOCK:
        saved = {k: getattr(main, k) for k in ("__file__", "__spec__") if main is not None and hasattr(main, k)}
        try:
            for k in saved:
                if k == "__spec__":
                    main.__spec__ = None  # type: ignore[union-attr]  # saved is empty when main is None
                else:
                    delattr(main, k)
            proc.start()
        finally:
            for k, v in saved.items():
                setattr(main, k, v)


def _limit_memory(nbytes: int) -> None:
    import resource

    import psutil

    vms = psutil.Process().memory_info().vms
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = vms + nbytes
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))


def _is_memory_error(e: BaseException) -> bool:
    text = str(e).lower()
    return isinstance(e, MemoryError) or "bad_alloc" in text or "failed to allocate" in text or \
        "out of memory" in text or "cannot allocate" in text


def _error_reply(e: BaseException) -> tuple:
    """What a worker sends back for an exception: ("error", kind, reason, hint), kind memory | model | crash."""
    kind = "memory" if _is_memory_error(e) else ("model" if isinstance(e, ModelError) else "crash")
    reason = e.reason if isinstance(e, ModelError) else f"{type(e).__name__}: {str(e).strip()[:300]}"
    return ("error", kind, reason, getattr(e, "hint", None))


def _messages(conn):
    """A worker's requests, until the parent says stop or goes away."""
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg[0] == "stop":
            return
        yield msg


def _load_libraries(imports, memory_bytes) -> None:
    """Import the libraries a task needs, then cap the memory (they map their code first: the limit is on what
    the model then takes)."""
    import importlib

    for name in imports:
        importlib.import_module(name)
    if memory_bytes:
        _limit_memory(memory_bytes)


def _serve(conn, onnx_path: str, memory_bytes: int | None) -> None:
    """The worker's loop: inspect the model, then run batches until told to stop."""
    from .onnx_io import inspect_onnx

    try:
        if memory_bytes:
            _limit_memory(memory_bytes)
        keep: dict = {}
        info = inspect_onnx(onnx_path, keep=keep)
        sess = keep[str(onnx_path)]
        conn.send(("ok", info))
    except BaseException as e:  # everything goes back to the parent, which decides
        conn.send(_error_reply(e))
        return
    attached: dict[str, shared_memory.SharedMemory] = {}
    for msg in _messages(conn):
        try:
            _, output_name, shape, where = msg
            if isinstance(where, tuple):  # (segment, offset): the batch is in shared memory
                name, offset = where
                if name not in attached:
                    for old in list(attached)[:-1]:  # keep the last two segments mapped
                        attached.pop(old).close()
                    # the resource tracker is the parent's: attaching adds nothing it does not know
                    attached[name] = shared_memory.SharedMemory(name=name)
                x = np.ndarray(shape, np.float32, buffer=attached[name].buf, offset=offset)
            else:
                x = np.frombuffer(conn.recv_bytes(), np.float32).reshape(shape)
            out = sess.run([output_name], {info.input_name: x})[0]
            del x
            conn.send(("ok", np.asarray(out, np.float32)))
        except BaseException as e:
            conn.send(_error_reply(e))
            return


def _call(conn, fn, args, memory_bytes, imports):
    """The worker side of :func:`run_guarded`."""
    try:
        _load_libraries(imports, memory_bytes)
        conn.send(("ok", fn(*args)))
    except BaseException as e:
        conn.send(_error_reply(e))


def _tasks(conn, memory_bytes, imports):
    """The worker side of a warm :func:`run_guarded`: the libraries imported once, then one task after another.
    A task that ran out of memory ends the worker (its memory is not trusted again)."""
    import gc

    try:
        _load_libraries(imports, memory_bytes)
        conn.send(("ok", None))
    except BaseException as e:
        conn.send(_error_reply(e))
        return
    for msg in _messages(conn):
        try:
            conn.send(("ok", msg[1](*msg[2])))
        except BaseException as e:
            conn.send(_error_reply(e))
            if _is_memory_error(e):
                return
        finally:
            gc.collect()


WARM_IDLE_S = 300.0  # a warm worker nobody used for this long is closed
WARM_TASKS = 64  # and one is replaced after this many tasks
_WARM: dict[tuple, _Worker] = {}
_WARM_LOCKS: dict[tuple, threading.Lock] = {}
_WARM_GUARD = threading.Lock()


def run_guarded(fn, args=(), *, limits: Limits | None = None, path: str = "", imports: tuple[str, ...] = (),
                warm: bool = False):
    """``fn(*args)`` in a worker process under ``limits``; its result, or a :class:`ModelError` with the reason.

    ``fn`` must be a module-level function and its result picklable (as for any
    multiprocessing target).  Used for work on an untrusted model other than
    running it: the ``.pth`` export.  ``imports`` are imported before the memory
    limit applies (torch maps far more address space than it uses).

    ``warm=True`` runs it in a worker kept for the next task with the same ``imports`` and memory limit, so many
    checkpoints do not pay for importing PyTorch each (~4 s here): the time limit is per task, a task that fails
    or runs out of time or memory takes its worker down with it (the next task gets a fresh one), a worker is
    replaced after :data:`WARM_TASKS` tasks and closed after :data:`WARM_IDLE_S` idle seconds.  While that worker
    is busy with someone else's task, this one runs in a worker of its own.
    """
    limits = limits or Limits()
    key = (tuple(imports), limits.memory_bytes)
    with _WARM_GUARD:
        lock = _WARM_LOCKS.setdefault(key, threading.Lock())
    if not warm or not lock.acquire(blocking=False):
        worker = _Worker(_call, (fn, args, limits.memory_bytes, tuple(imports)), limits=limits, path=path)
        try:
            return worker._receive(worker._started)
        finally:
            worker.close()
    try:
        kept: _Worker | None = _WARM.pop(key, None)
        if kept is not None and (kept._dead or not kept._proc.is_alive() or kept.tasks >= WARM_TASKS):
            kept.close()
            kept = None
        if kept is None:
            kept = _Worker(_tasks, (limits.memory_bytes, tuple(imports)), limits=limits, path=path)
            kept._receive(kept._started)  # the libraries are in
        warm_worker = kept
        warm_worker.limits, warm_worker._path, warm_worker._used = limits, path, 0.0  # this task's own limits
        t0 = time.perf_counter()
        try:
            warm_worker._conn.send(("task", fn, args))
        except (BrokenPipeError, OSError):
            warm_worker._fail(warm_worker._died())
        result = warm_worker._receive(t0)  # a failure kills the worker (ModelError): it is not kept
        warm_worker.tasks += 1
        warm_worker.last_used = time.monotonic()
        _WARM[key] = warm_worker
        timer = threading.Timer(WARM_IDLE_S + 1, _close_idle, (key,))
        timer.daemon = True  # never keeps a finished command waiting
        timer.start()
        return result
    finally:
        lock.release()


def _close_idle(key) -> None:
    lock = _WARM_LOCKS.get(key)
    if lock is None or not lock.acquire(blocking=False):
        return
    try:
        worker = _WARM.get(key)
        if worker is not None and time.monotonic() - worker.last_used >= WARM_IDLE_S:
            _WARM.pop(key).close()
    finally:
        lock.release()


class _Worker:
    """A worker process and its pipe, with the time spent in it counted against ``limits`` and every way it can
    end turned into a :class:`ModelError` with the reason."""

    def __init__(self, target, args, *, limits: Limits, path: str):
        self.limits = limits
        self._path = path
        self._used = 0.0  # seconds of the model's own time so far
        self._dead: str | None = None
        self.tasks = 0  # tasks done (a warm worker of run_guarded)
        self.last_used = time.monotonic()
        ctx = _context()
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=target, args=(child, *args), daemon=True)
        self._started = time.perf_counter()
        _start_without_main(self._proc)
        child.close()

    def _receive(self, t0: float):
        left = None if self.limits.seconds is None else max(0.0, self.limits.seconds - self._used)
        try:
            ready = self._conn.poll(left)
        except (EOFError, OSError):
            ready = True
        if not ready:
            self._used += time.perf_counter() - t0
            self._fail(f"stopped after {self.limits.seconds:g} s (the time limit per model)",
                       hint="raise the time limit (--model-timeout) if the model is just slow")
        try:
            msg = self._conn.recv()
        except (EOFError, OSError):
            self._fail(self._died())
        self._used += time.perf_counter() - t0
        if msg[0] == "ok":
            return msg[1]
        _, kind, reason, hint = msg
        if kind == "memory":
            self._fail(self._memory_reason(), hint="raise the memory limit (--model-memory) if the model needs it")
        if kind == "model":
            self._fail(reason, hint=hint)
        self._fail(f"the model failed ({reason})")

    def _memory_reason(self) -> str:
        if self.limits.memory_bytes:
            return f"needed more than {self.limits.memory_bytes / GB:g} GB of memory (the memory limit per model)"
        return "ran out of memory"

    def _died(self) -> str:
        self._proc.join(2)
        code = self._proc.exitcode
        if code is not None and code < 0:
            import signal

            try:
                sig = signal.Signals(-code).name
            except ValueError:
                sig = str(-code)
            why = f"the model's process crashed ({sig})"
        else:
            why = f"the model's process stopped (exit status {code})"
        if self.limits.memory_bytes:
            why += f"; it may have needed more than {self.limits.memory_bytes / GB:g} GB of memory"
        return why

    def _fail(self, reason: str, hint: str | None = None):
        self._dead = reason
        self.close(kill=True)
        raise ModelError(reason, path=self._path, hint=hint)

    def close(self, kill: bool = False) -> None:
        if self._proc.is_alive() and not kill:
            try:
                self._conn.send(("stop",))
            except (BrokenPipeError, OSError):
                pass
            self._proc.join(5)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join(5)
        self._conn.close()

    def __del__(self):
        try:
            if self._proc.is_alive():
                self._proc.kill()
        except Exception:
            pass


class GuardedSession(_Worker):
    """A model in its own worker process; see the module docstring."""

    def __init__(self, onnx_path, *, limits: Limits | None = None):
        limits = limits or Limits()
        super().__init__(_serve, (str(onnx_path), limits.memory_bytes), limits=limits, path=str(onnx_path))
        self.info = self._receive(self._started)

    # onnxruntime's interface
    def get_inputs(self):
        from .onnx_io import SessionArg

        return [SessionArg(self.info.input_name, list(self.info.input_shape))]

    def get_outputs(self):
        from .onnx_io import SessionArg

        return [SessionArg(self.info.output_name, [None, self.info.embedding_dim])]

    def run(self, output_names, feed) -> list[np.ndarray]:
        if self._dead:
            raise ModelError(self._dead, path=self._path)
        (x,) = feed.values()
        x = np.asarray(x)
        out_name = (output_names or [self.info.output_name])[0]
        where = _locate(x)
        t0 = time.perf_counter()
        try:
            if where is not None:
                self._conn.send(("run", out_name, x.shape, where))
            else:
                self._conn.send(("run", out_name, x.shape, None))
                self._conn.send_bytes(np.ascontiguousarray(x, np.float32))
        except (BrokenPipeError, OSError):
            self._fail(self._died())
        return [self._receive(t0)]
