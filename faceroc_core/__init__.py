"""FaceROC engine: which face-embedding model is best on your faces, and how sure are we?

Usable from Python, from the CLI (``python -m faceroc_core``) and from the
Streamlit dashboard; nothing here imports Streamlit.
"""
__version__ = "0.2.0"

from .errors import DatasetError, FaceROCError, ImageError, ModelError, ScoresError  # noqa: E402
from .metrics import (  # noqa: E402
    DEFAULT_FARS,
    EqualErrorRate,
    OperatingPoint,
    RocCurve,
    ThresholdMetrics,
    auc,
    eer,
    roc_curve,
    tar_at_far,
    threshold_metrics,
)

__all__ = [
    "__version__", "FaceROCError", "DatasetError", "ImageError", "ModelError", "ScoresError", "DEFAULT_FARS",
    "EqualErrorRate", "OperatingPoint", "RocCurve", "ThresholdMetrics", "auc", "eer", "roc_curve", "tar_at_far",
    "threshold_metrics",
]
