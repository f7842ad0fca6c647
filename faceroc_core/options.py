"""What the user says about a run, declared once and validated at the boundary.

* :data:`MODEL_OPTIONS` — every per-model option (name, how it parses, its CLI flag and help). The CLI's flags,
  the TOML config's allowed keys and the dashboard's model settings are all read from it, and
  :class:`ModelSpec` has exactly these fields (plus ``path``).
* :class:`ModelSpec` — one model and its options, validated (:func:`spec_from_options` parses loose values).
* :class:`RunOptions` — the options of one evaluation, a frozen object built once (CLI, TOML, dashboard,
  Python) and passed whole down the pipeline.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .errors import FaceROCError, ModelError
from .groups import GroupTable
from .metrics import DEFAULT_FARS, check_far
from .onnx_io import OnnxInfo
from .preprocess import PRESETS, Preprocessing, normalisation, parse_crop, parse_size
from .worker import Limits


def flag(value, name: str) -> bool:
    """A yes/no option: a bool, or true/false/yes/no/1/0 as text.

    >>> flag("yes", "align"), flag(False, "bgr"), flag(None, "bgr")
    (True, False, False)
    """
    if isinstance(value, bool) or value is None:
        return bool(value)
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise FaceROCError(f"{name} must be true or false, got {value!r}")


@dataclass(frozen=True)
class ModelOption:
    """One per-model option: its field in :class:`ModelSpec`, how a loose value parses, and its CLI flag."""

    name: str
    parse: Callable[[Any], Any]  # a loose value (CLI text, TOML value, dashboard field) -> the spec's value
    help: str
    metavar: str | None = None
    switch: bool = False  # a CLI flag without a value (store_true)
    choices: tuple[str, ...] | None = None
    cli: bool = True  # has a CLI flag (--name-with-dashes); ``name`` is set per model only (TOML, dashboard)
    group: str | None = None  # CLI flags of one group are mutually exclusive

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


def _embedding_dim(value) -> int:
    try:
        n = int(value)
    except (TypeError, ValueError):
        n = 0
    if n < 1:
        raise FaceROCError(f"embedding size must be a positive whole number, got {value!r}")
    return n


def _preset(value) -> str:
    normalisation(value)  # refuses an unknown preset with the list
    return str(value)


MODEL_OPTIONS: tuple[ModelOption, ...] = (
    ModelOption("name", str, "display name (for display only; never part of a cache key)", cli=False),
    ModelOption("arch", str, "timm architecture of .pth models (inferred from the weights when omitted)"),
    ModelOption("embedding_dim", _embedding_dim, "expected embedding size (checked against the model)"),
    ModelOption("preset", _preset, "normalisation preset (default imagenet)", choices=tuple(sorted(PRESETS))),
    ModelOption("mean", lambda v: v, "explicit mean (0..1 scale, or 0..255 if any value > 1)", metavar="R,G,B"),
    ModelOption("std", lambda v: v, "explicit std, same scale as --mean", metavar="R,G,B"),
    ModelOption("size", parse_size, "input size when the model's is dynamic, and for .pth export", metavar="HxW"),
    ModelOption("crop", parse_crop, "crop this box (source pixels) before resizing", metavar="x0,y0,x1,y1",
                group="crop"),
    ModelOption("center_crop", parse_size, "centre crop before resizing", metavar="N|HxW", group="crop"),
    ModelOption("bgr", lambda v: flag(v, "bgr"), "feed channels as B,G,R", switch=True),
    ModelOption("align", lambda v: flag(v, "align"),
                "find each face (YuNet) and align its 5 landmarks to the ArcFace template at the model's input size "
                "(for raw photos; replaces --crop)", switch=True),
    ModelOption("flip", lambda v: flag(v, "flip"),
                "the flip test: each image's embedding is the sum of those of the image and its horizontal mirror "
                "(as InsightFace's eval scripts; one more forward pass per image)", switch=True),
)
OPTION_NAMES: tuple[str, ...] = tuple(o.name for o in MODEL_OPTIONS)


@dataclass(frozen=True)
class ModelSpec:
    """What the user says about one model. Every field but ``path`` is optional (see :data:`MODEL_OPTIONS`)."""

    path: str | Path
    name: str | None = None
    arch: str | None = None  # timm name for a .pth (inferred when None)
    embedding_dim: int | None = None
    preset: str | None = None  # imagenet | arcface | facenet | unit | raw
    mean: tuple[float, float, float] | None = None
    std: tuple[float, float, float] | None = None
    size: tuple[int, int] | None = None  # (H, W)
    crop: tuple[int, int, int, int] | None = None
    center_crop: tuple[int, int] | None = None
    bgr: bool = False
    align: bool = False  # detect the face and align its 5 landmarks to the template
    flip: bool = False  # the flip test: embed the image and its mirror, sum the two embeddings

    @property
    def display_name(self) -> str:
        return self.name or Path(self.path).stem


def spec_from_options(path, **opts) -> ModelSpec:
    """Build a :class:`ModelSpec` from loose option values (strings as on the CLI), validating them.

    Empty values (None, "") mean "not given"; an explicit mean or std overrides the preset.

    >>> spec_from_options("m.onnx", size="112x112", bgr="yes").size
    (112, 112)
    """
    unknown = set(opts) - set(OPTION_NAMES)
    if unknown:
        raise FaceROCError(f"unknown model option(s) {sorted(unknown)}", hint=f"allowed: {', '.join(OPTION_NAMES)}")
    values: dict[str, Any] = {}
    for o in MODEL_OPTIONS:
        v = opts.get(o.name)
        if v is None or (isinstance(v, str) and not v.strip()) or (o.switch and v is False):
            continue
        values[o.name] = o.parse(v)
    if "mean" in values or "std" in values:
        _, mean, std = normalisation(mean=values.get("mean"), std=values.get("std"))
        values["mean"], values["std"] = tuple(mean), tuple(std)
    return ModelSpec(path=path, **values)


def resolve_preprocessing(spec: ModelSpec, info: OnnxInfo) -> Preprocessing:
    """The model's preprocessing: its own input size when static, the user's settings for the rest."""
    if info.height and info.width:
        if spec.size and tuple(spec.size) != (info.height, info.width):
            raise ModelError(f"the model takes {info.height}x{info.width} images but size {spec.size[0]}x{spec.size[1]} "
                             f"was asked for", path=str(spec.path), hint="leave the size empty for this model")
        h, w = info.height, info.width
    elif spec.size:
        h, w = spec.size
    else:
        raise ModelError("the model's input size is dynamic", path=str(spec.path),
                         hint="give the size it was trained at (e.g. 112x112)")
    if spec.mean is not None or spec.std is not None:
        scale, mean, std = normalisation(mean=spec.mean, std=spec.std)
    else:
        scale, mean, std = normalisation(spec.preset)
    try:
        return Preprocessing(height=h, width=w, scale=scale, mean=tuple(mean), std=tuple(std), bgr=spec.bgr,
                             crop=spec.crop, center_crop=spec.center_crop, layout=info.layout, align=spec.align, flip=spec.flip,
                             channels=info.channels)
    except FaceROCError as e:
        raise ModelError(e.reason, path=str(spec.path), hint=e.hint) from None


@dataclass(frozen=True)
class RunOptions:
    """The options of one evaluation (every field has a default; :meth:`of` builds one from keyword values).

    Attributes:
        labels: ``"folder"``, ``"prefix"`` (``alice_001.png``) or ``"auto"``.
        identities: only these identities (all when None).
        cache_dir, use_cache: the embedding/landmark/export cache (default ``~/.cache/faceroc``).
        batch_size: images per network call.
        fars: the FARs in (0, 1] at which TAR is reported.
        thermal_limit_c: pause between chunks while the CPU is hotter than this (°C; None: never).
        intervals: intervals over people, and paired comparisons of the models (:mod:`.uncertainty`).
        limits: time and memory limits per model; every model runs in its own worker process.
        groups: people's attributes (:func:`faceroc_core.groups.read_groups_csv`): results per group.
        pairs: a protocol's pair list (a path, text or bytes: CSV ``a,b[,label]`` or LFW ``pairs.txt``,
            :func:`faceroc_core.protocol.read_pair_list`): only those pairs are scored, instead of all pairs.
        gallery: identification (1:N, :mod:`.identify`): ``"auto"`` (:func:`~faceroc_core.identify.auto_split`) or
            a CSV ``image,role`` (a path or bytes): each model's CMC and FNIR at FPIR besides its pairs.
        dev_fraction: choose each model's threshold on this share of the people and measure it on the others
            (:mod:`.decide`); None: no dev/eval split.
        dev_images: a separate labelled folder (other people) to choose the thresholds on; the evaluated images
            are then the eval set.
        target_far: what the threshold is chosen for: a FAR (``1e-3``), ``eer`` or ``min-hter``.
        prior: the share of same-person pairs the calibrated probability assumes (default: the dev set's).
        dask: count the pairs (and embed the images) on a Dask cluster (``"local"``, a scheduler address or a
            ``Client``; :mod:`.cluster`).
        store: keep the run in the run store (:mod:`.store`; ``--no-store`` on the command line is False);
            :attr:`~faceroc_core.results.Evaluation.run_id` is its id.
        dataset_name: the test set's name in the store (default: its folder's name).
    """

    labels: str = "auto"
    identities: tuple[str, ...] | None = None
    cache_dir: str | Path | None = None
    use_cache: bool = True
    batch_size: int = 32
    fars: tuple[float, ...] = DEFAULT_FARS
    thermal_limit_c: float | None = None
    intervals: bool = True
    limits: Limits | None = None
    groups: GroupTable | None = field(default=None, hash=False)
    pairs: Any = field(default=None, hash=False)
    gallery: Any = field(default=None, hash=False)
    dev_fraction: float | None = None
    dev_images: Any = field(default=None, hash=False)
    target_far: str = "1e-3"
    prior: float | None = None
    dask: Any = field(default=None, hash=False)
    store: bool = True
    dataset_name: str | None = None

    def __post_init__(self) -> None:
        if self.labels not in ("auto", "folder", "prefix"):
            raise FaceROCError(f"labels must be auto, folder or prefix, got {self.labels!r}")
        if int(self.batch_size) < 1:
            raise FaceROCError(f"batch size must be at least 1, got {self.batch_size}")
        object.__setattr__(self, "fars", tuple(check_far(f) for f in self.fars))
        if self.identities is not None:
            object.__setattr__(self, "identities", tuple(str(i) for i in self.identities))

    @classmethod
    def given(cls, options: RunOptions | None, values: dict) -> RunOptions:
        """``options`` with ``values`` (field names) replacing its fields; default options when None."""
        return cls.of(**{**(vars(options) if options is not None else {}), **values})

    @classmethod
    def of(cls, **values) -> RunOptions:
        """A :class:`RunOptions` from keyword values; an unknown name is refused with the list of known ones."""
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise TypeError(f"unknown run option(s) {sorted(unknown)}; known: {', '.join(sorted(known))}")
        return cls(**values)
