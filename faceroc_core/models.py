"""Models: turn a model file into a :class:`PreparedModel` ready to run.

:func:`prepare_model` orchestrates the stages, each in its own module:
ONNX files are inspected (:mod:`.onnx_io`) in a guarded worker process;
``.pth`` state_dicts are loaded safely (:mod:`.checkpoints`), matched to a timm
architecture (:mod:`.archmatch`), exported once to ONNX and checked against
PyTorch (:mod:`.export`), the export cached by content hash and options.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from .archmatch import build_timm_model, infer_architecture
from .cache import default_cache_dir
from .checkpoints import load_checkpoint, load_state_dict
from .errors import ModelError
from .export import EXPORT_TOLERANCE, ExportCheck, export_to_onnx, verify_export
from .images import file_hash
from .onnx_io import ONNX_SUFFIXES, TORCH_SUFFIXES, OnnxInfo, check_file, external_locations
from .progress import Progress, Stage

_logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PreparedModel:
    """A model ready to run: an ONNX file plus what is known about it."""

    name: str
    source: str  # the file the user gave
    kind: str  # "onnx" or "pth"
    onnx_path: Path
    sha256: str
    info: OnnxInfo
    arch: str | None = None
    export_check: ExportCheck | None = None
    notes: tuple[str, ...] = field(default=())
    epoch: int | None = None  # a checkpoint's own "epoch" entry

    @property
    def identity(self) -> str:
        """What the model's outputs depend on, for caches: the file's content and, for a ``.pth``, the
        architecture, embedding size and export size it was built with (all in the export's file name)."""
        return self.sha256 if self.kind == "onnx" else f"{self.sha256}|{self.onnx_path.name}"


def model_hash(path) -> str:
    """SHA-256 of the model file and, for ONNX, of its external-data side files."""
    path = Path(path)
    h = hashlib.sha256(file_hash(path).encode())
    if path.suffix.lower() in ONNX_SUFFIXES:
        try:
            import onnx

            for loc in sorted(external_locations(onnx.load(str(path), load_external_data=False))):
                side = path.parent / os.path.basename(loc)
                if side.is_file():
                    h.update(file_hash(side).encode())
        except Exception as e:  # an unreadable file is refused later, by the stage that reads it
            _logger.info("no external-data hashes for %s: %s", path.name, e)
    return h.hexdigest()


def model_kind(filename) -> str | None:
    """``"onnx"`` or ``"pth"`` for a model file's name (by its suffix), None for anything else.

    >>> model_kind("run42.PTH"), model_kind("best.onnx"), model_kind("faces.zip")
    ('pth', 'onnx', None)
    """
    suffix = Path(str(filename)).suffix.lower()
    return "onnx" if suffix in ONNX_SUFFIXES else "pth" if suffix in TORCH_SUFFIXES else None


@dataclass(frozen=True)
class Architecture:
    """The timm architecture a state_dict was inferred to be, and what the user is told about it."""

    arch: str
    embedding_dim: int | None
    notes: tuple[str, ...]


def infer_checkpoint(state_dict, *, source: str) -> Architecture:
    """The architecture of a state_dict from its key names and shapes (:func:`~faceroc_core.archmatch.infer_architecture`),
    with the notes every view shows (the inference, and the other architectures the weights also fit)."""
    match = infer_architecture(state_dict, source=source)
    notes = [f"architecture inferred from the weights: {match.arch}"]
    if match.also:
        notes.append(f"the weights also fit {', '.join(match.also[:4])}; choose one if {match.arch} is wrong")
    return Architecture(arch=match.arch, embedding_dim=match.embedding_dim, notes=tuple(notes))


def _export_checked(path: str, arch: str, embedding_dim: int | None, onnx_path: str, h: int, w: int) -> ExportCheck:
    """In a worker: load the state_dict, build the timm model, export it to ONNX and check it against PyTorch."""
    model = build_timm_model(load_state_dict(path), arch=arch, embedding_dim=embedding_dim, source=path)
    export_to_onnx(model, onnx_path, height=h, width=w)
    return verify_export(model, onnx_path, height=h, width=w)


def _inspect_guarded(path: Path, sessions: dict | None, limits) -> OnnxInfo:
    from .worker import GuardedSession

    gs = GuardedSession(path, limits=limits)
    if sessions is not None:
        sessions[str(path)] = gs
    else:
        gs.close()
    return gs.info


def prepare_model(path, *, name: str | None = None, arch: str | None = None, embedding_dim: int | None = None,
                  size: tuple[int, int] | None = None, cache_dir=None, progress: Progress | None = None,
                  sessions: dict | None = None, limits=None) -> PreparedModel:
    """Turn a model file into a :class:`PreparedModel` (exporting ``.pth`` files, cached by content hash).

    The ONNX model is inspected in a guarded worker process
    (:class:`faceroc_core.worker.GuardedSession`, under ``limits``).  When
    ``sessions`` is a dict, that worker is kept there under the ONNX path, for
    the embedding step to reuse; otherwise it is closed.

    Args:
        path: an ``.onnx`` file, or a ``.pth``/``.pt``/``.bin``/``.ckpt`` state_dict of a timm backbone with a
            Linear embedding head.
        name: display name (default: the file's stem); for display only, never part of a cache key.
        arch: timm architecture of a state_dict (inferred from its weights when None).
        embedding_dim: expected embedding size (checked against the model; for a state_dict, its head's size).
        size: (height, width) in pixels to export a state_dict at (224x224 when None, with a note).
        cache_dir: where exports are kept (default :func:`faceroc_core.cache.default_cache_dir`).
        progress: ``progress(Stage.EXPORT, done, total, name)`` around an export.
        limits: time and memory limits of the worker processes (:class:`faceroc_core.worker.Limits`).

    Returns:
        The :class:`PreparedModel`: its ONNX file, content hash, what the ONNX file takes and gives
        (:class:`~faceroc_core.onnx_io.OnnxInfo`), and for a state_dict the architecture and the export check.

    Raises:
        ModelError: the file cannot be used (named, with what to do).
    """
    path = Path(path)
    check_file(path)
    display = name or path.stem
    kind = model_kind(path)
    if kind == "onnx":
        info = _inspect_guarded(path, sessions, limits)
        if embedding_dim is not None and embedding_dim != info.embedding_dim:
            raise ModelError(f"embedding size {embedding_dim} was given but the model outputs {info.embedding_dim}",
                             path=str(path))
        return PreparedModel(name=display, source=str(path), kind="onnx", onnx_path=path, sha256=model_hash(path),
                             info=info)
    if kind is None:
        raise ModelError(f"unsupported model file type {path.suffix.lower() or '(none)'}", path=str(path),
                         hint="upload an .onnx export or a PyTorch state_dict (.pth/.pt)")
    sha = file_hash(path)
    checkpoint = load_checkpoint(path)
    sd = checkpoint.state_dict
    notes: list[str] = []
    if arch is None:
        inferred = infer_checkpoint(sd, source=str(path))
        arch = inferred.arch
        notes += inferred.notes
    h, w = size or (224, 224)
    if size is None:
        notes.append("input size not given: exported at 224x224 (timm's default); set the size the model was trained at")
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    emb_tag = embedding_dim if embedding_dim is not None else "auto"
    stem = f"{sha[:20]}_{arch}_{emb_tag}_{h}x{w}"
    onnx_path = cache_dir / "exports" / f"{stem}.onnx"
    meta_path = onnx_path.with_suffix(".json")
    check = None
    if onnx_path.is_file() and meta_path.is_file():
        try:
            meta = json.loads(meta_path.read_text())
            check = ExportCheck(max_abs_diff=float(meta["max_abs_diff"]), batch=int(meta["batch"]))
        except (OSError, ValueError, KeyError, TypeError):
            check = None
    if check is None:
        if progress:
            progress(Stage.EXPORT, 0, 1, display)
        from .worker import run_guarded

        # built, exported and checked in a guarded worker: the state_dict decides how big the network is
        check = run_guarded(_export_checked, (str(path), arch, embedding_dim, str(onnx_path), h, w), limits=limits,
                            path=str(path), imports=("torch", "timm", "onnxscript"), warm=True)
        if not check.ok:
            onnx_path.unlink(missing_ok=True)
            raise ModelError(f"ONNX export disagrees with PyTorch (max abs difference {check.max_abs_diff:.2e} > "
                             f"{EXPORT_TOLERANCE:g})", path=str(path), hint="upload an ONNX export made by your own code")
        meta_path.write_text(json.dumps({"max_abs_diff": check.max_abs_diff, "batch": check.batch, "arch": arch}))
        if progress:
            progress(Stage.EXPORT, 1, 1, display)
    info = _inspect_guarded(onnx_path, sessions, limits)
    return PreparedModel(name=display, source=str(path), kind="pth", onnx_path=onnx_path, sha256=sha, info=info,
                         arch=arch, export_check=check, notes=tuple(notes), epoch=checkpoint.epoch)
