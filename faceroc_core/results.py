"""What an evaluation gives: typed, frozen results (no bare tuples).

* :class:`Measurement` — everything measured on one model's pair scores (ROC, AUC, EER, TAR@FAR, histograms).
* :class:`ModelSource` — where a model that FaceROC ran came from (hash, architecture, input, preprocessing,
  export check); absent for bring-your-own embeddings and scores.
* :class:`ModelResult` — a :class:`Measurement` of one model, where it came from, and why it fails (hardest pairs,
  people, subgroups).  The measurement's and the source's fields read as the result's own (``r.auc``,
  ``r.preprocessing``).
* :class:`ModelFailure` — a model that could not be evaluated: the reason, the file and what to do, as fields.
* :class:`Evaluation` — the whole run: the dataset, every result and failure, intervals and comparisons.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import metrics as M
from .dataset import Skipped
from .decide import Decision
from .diagnose import Disagreement, HardPair, Person, Suspect
from .epochs import epoch_of
from .errors import FaceROCError
from .export import ExportCheck
from .groups import GroupResult
from .identify import Identification
from .onnx_io import OnnxInfo
from .preprocess import Preprocessing
from .preview import Preview
from .tenfold import TenFold
from .verdict import rank


@dataclass(frozen=True)
class FaceSummary:
    """What the face detector found, when some model aligns faces."""

    n_checked: int
    no_face: tuple[str, ...]  # images (relative paths) with no face: skipped by the aligned models
    several_faces: tuple[str, ...]  # images with more than one face: the largest was used
    seconds: float = 0.0


@dataclass(frozen=True)
class DatasetSummary:
    root: str  # a display name (never a server path on the dashboard)
    label_mode: str  # folder | prefix | embeddings | scores
    n_images: int
    n_identities: int
    n_genuine: int
    n_impostor: int
    images_per_identity: dict = field(default_factory=dict)
    skipped: tuple[Skipped, ...] = ()
    n_unreadable: int = 0  # images among `skipped` that could not be read or decoded
    faces: FaceSummary | None = None  # when a model aligned faces
    suspects: tuple[Suspect, ...] = ()  # likely labelling problems every model agrees on (diagnose.suspects)
    protocol: str | None = None  # the pair list evaluated instead of all pairs (its file name), when one was given
    compared_on: int | None = None  # models used different images: the images every one of them embedded


@dataclass(frozen=True, eq=False)
class Measurement:
    """Everything measured on one model's pair scores."""

    roc: M.RocCurve
    auc: float
    eer: M.EqualErrorRate
    operating_points: tuple[M.OperatingPoint, ...]
    genuine_hist: np.ndarray  # int64 counts per bin of hist_edges, same-person pairs
    impostor_hist: np.ndarray  # int64 counts per bin, different-people pairs
    hist_edges: np.ndarray  # float64, HIST_BINS + 1 edges over [-1, 1] (scores a rounding outside count in the end bins)

    @classmethod
    def of(cls, st, fars) -> Measurement:
        """From a :class:`~faceroc_core.stream.PairStats`, with TAR at each of ``fars``."""
        return cls(roc=st.roc, auc=st.auc, eer=st.eer, operating_points=tuple(M.tar_at_fars(st.roc, fars)),
                   genuine_hist=st.genuine_hist, impostor_hist=st.impostor_hist, hist_edges=st.hist_edges)

    @property
    def n_genuine(self) -> int:
        return self.roc.n_genuine

    @property
    def n_impostor(self) -> int:
        return self.roc.n_impostor

    @property
    def score_spread(self) -> float:
        """The width of the central 98% of its pair scores (:func:`~faceroc_core.metrics.score_spread`)."""
        return M.score_spread(self.roc)

    @property
    def collapsed(self) -> bool:
        """Every pair at about the same score: the embeddings carry no identity (random weights, a dead head)."""
        return self.score_spread < M.COLLAPSED_SPREAD

    def at_threshold(self, threshold: float) -> M.ThresholdMetrics:
        return M.threshold_metrics(self.roc, threshold)

    def tar(self, far: float) -> M.OperatingPoint:
        for p in self.operating_points:
            if p.far_target == far:
                return p
        return M.tar_at_far(self.roc, far)


def decision_threshold(m: Measurement | ModelResult, far: float = M.DECISION_FAR) -> float:
    """The threshold a model is judged at when none is chosen: its TAR@FAR threshold (FAR = 1e-3), else its EER one."""
    op = M.tar_at_far(m.roc, far)
    return op.threshold if op.threshold is not None else m.eer.threshold


@dataclass(frozen=True)
class FailureToAcquire:
    """The images a model could not use (no face found, unreadable, a NaN or zero embedding), and the FRR at its
    decision threshold when their same-person pairs count as rejections (ISO/IEC 19795-1's FRR with FtA)."""

    images: int
    share: float
    threshold: float
    frr: float  # on the pairs it scored
    frr_with_fta: float  # every same-person pair of the test set; those it could not score count as rejected


@dataclass(frozen=True)
class ModelSource:
    """Where a model FaceROC ran itself came from."""

    sha256: str  # the model file's content hash (with its side files)
    info: OnnxInfo  # what its ONNX graph takes and gives
    preprocessing: Preprocessing
    arch: str | None = None  # the timm architecture of a .pth
    export_max_abs_diff: float | None = None  # PyTorch against the ONNX export, for a .pth
    epoch: int | None = None  # a checkpoint's own "epoch" entry ({"epoch": 68, "state_dict": ...})

    @property
    def flip(self) -> bool:
        """The flip test: embeddings of the image and its mirror, summed."""
        return self.preprocessing.flip


@dataclass(frozen=True, eq=False)
class ModelResult:
    """One model's results. ``r.auc``, ``r.roc``... read the :class:`Measurement`; ``r.sha256``,
    ``r.preprocessing``... read the :class:`ModelSource` (empty values for embeddings and scores)."""

    name: str
    source: str  # the file it came from (its name as given: never a server path on the dashboard)
    kind: str  # onnx | pth | embeddings | scores
    measurement: Measurement
    n_images: int
    model: ModelSource | None = None  # None for bring-your-own embeddings and scores
    notes: tuple[str, ...] = ()
    skipped: tuple[Skipped, ...] = ()  # images this model could not embed
    from_cache: int = 0
    preview: Preview | None = None  # sample images as this model receives them
    hardest_impostors: tuple[HardPair, ...] = ()  # different people scored highest (false accepts first)
    hardest_genuines: tuple[HardPair, ...] = ()  # same-person pairs scored lowest (false rejects first)
    people: tuple[Person, ...] = ()  # per person: same-person scores, the most similar other person
    subgroups: tuple[GroupResult, ...] = ()  # per attribute value of a metadata CSV (groups.subgroup_results)
    accuracy_10fold: TenFold | None = None  # a protocol's 10-fold accuracy, as the field computes it (tenfold)
    identification: Identification | None = None  # 1:N searches of probes against a gallery (identify)
    decision: Decision | None = None  # a threshold chosen on dev people, measured on eval people (decide)
    failure_to_acquire: FailureToAcquire | None = None  # the images it could not use, and what they cost
    on_common_images: Measurement | None = None  # measured on the images every model embedded (compared_on)

    @property
    def roc(self) -> M.RocCurve:
        return self.measurement.roc

    @property
    def auc(self) -> float:
        return self.measurement.auc

    @property
    def eer(self) -> M.EqualErrorRate:
        return self.measurement.eer

    @property
    def operating_points(self) -> tuple[M.OperatingPoint, ...]:
        return self.measurement.operating_points

    @property
    def genuine_hist(self) -> np.ndarray:
        return self.measurement.genuine_hist

    @property
    def impostor_hist(self) -> np.ndarray:
        return self.measurement.impostor_hist

    @property
    def hist_edges(self) -> np.ndarray:
        return self.measurement.hist_edges

    @property
    def sha256(self) -> str:
        return self.model.sha256 if self.model else ""

    @property
    def epoch(self) -> int | None:
        """The training epoch: from the file name (:func:`~faceroc_core.epochs.epoch_of`), else the checkpoint's
        own ``epoch`` entry, else None."""
        named = epoch_of(self.source)
        return named if named is not None else (self.model.epoch if self.model else None)

    @property
    def info(self) -> OnnxInfo | None:
        return self.model.info if self.model else None

    @property
    def preprocessing(self) -> Preprocessing | None:
        return self.model.preprocessing if self.model else None

    @property
    def arch(self) -> str | None:
        return self.model.arch if self.model else None

    @property
    def export_max_abs_diff(self) -> float | None:
        return self.model.export_max_abs_diff if self.model else None

    @property
    def n_genuine(self) -> int:
        return self.measurement.n_genuine

    @property
    def n_impostor(self) -> int:
        return self.measurement.n_impostor

    @property
    def collapsed(self) -> bool:
        return self.measurement.collapsed

    def at_threshold(self, threshold: float) -> M.ThresholdMetrics:
        return self.measurement.at_threshold(threshold)

    def tar(self, far: float) -> M.OperatingPoint:
        return self.measurement.tar(far)

    @property
    def ran(self) -> bool:
        """Whether FaceROC ran this model itself (an ONNX or .pth file), rather than reading embeddings or scores."""
        return self.model is not None


@dataclass(frozen=True)
class ModelFailure:
    """A model that could not be evaluated. ``error`` is the one line to show: ``source: reason — hint``."""

    name: str
    source: str  # the file as the user named it (never a server path on the dashboard)
    reason: str
    hint: str | None = None
    path: str | None = None  # the file the problem is in, when it is not ``source`` itself (the engine's record)

    @property
    def error(self) -> str:
        return f"{self.source}: {self.reason}" + (f" — {self.hint}" if self.hint else "")

    @classmethod
    def of(cls, name: str, source: str, e: Exception) -> ModelFailure:
        """From an exception: a :class:`FaceROCError`'s fields, or an unexpected error's type and text."""
        if isinstance(e, FaceROCError):
            return cls(name=name, source=source, reason=e.reason, hint=e.hint, path=e.path)
        return cls(name=name, source=source, reason=f"unexpected error {type(e).__name__}: {e}")


@dataclass(frozen=True, eq=False)
class Evaluation:
    dataset: DatasetSummary
    models: tuple[ModelResult, ...]
    failures: tuple[ModelFailure, ...]
    fars: tuple[float, ...] = M.DEFAULT_FARS
    seconds: float = 0.0
    intervals: dict = field(default_factory=dict)  # model name -> uncertainty.MetricIntervals (AUC, TAR, EER)
    comparisons: tuple = ()  # uncertainty.PairedComparison, best model vs each other one
    uncertainty_note: str | None = None  # why intervals or paired comparisons are missing, when they are
    disagreements: tuple[Disagreement, ...] = ()  # the best model against each other one scored on the same images
    run_id: str | None = None  # its id in the run store (faceroc_core.store) when it was kept there

    @property
    def auc_intervals(self) -> dict:
        """Model name -> its AUC's :class:`~faceroc_core.uncertainty.Interval` over people."""
        return {name: m.auc for name, m in self.intervals.items() if m.auc is not None}

    def ranked(self) -> tuple[ModelResult, ...]:
        """The models best first (highest AUC; ties keep the order they were given in)."""
        return rank(self.models)

    def best(self) -> ModelResult | None:
        return self.ranked()[0] if self.models else None


__all__ = ["DatasetSummary", "Evaluation", "FaceSummary", "Measurement", "ModelFailure", "ModelResult",
           "ModelSource", "decision_threshold", "ExportCheck"]
