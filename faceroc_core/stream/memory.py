"""What a scan needs in memory, and the guard that refuses, before it starts, a scan that would not fit."""
from __future__ import annotations

from ..errors import DatasetError
from ._config import SAMPLE

HELD_PAIR_BYTES = 80  # a pair held for the intervals over people (faceroc_core.resample): score, people, order


def estimate_bytes(n_images: int, dim: int, n_genuine: int, held_pairs: int = 0) -> int:
    """Peak memory one model's measurement takes beyond its input embeddings, in bytes: the scan
    (:func:`~faceroc_core.stream.scan`: normalised and sorted float64 copies of the embeddings, the genuine pairs
    and their counts, per-image sums, the tiles and buffers) and the diagnosis after it (people, test-set check).

    Measured on 128-d and 512-d synthetic sets of 10,000 to 100,000 images (``benchmarks/bench_scale.py`` prints
    the estimate against the real peak at each size); the impostor pairs never count: they are not held —
    except the ``held_pairs`` the intervals over people hold (at most ``resample.MAX_PAIRS``).

    >>> round(estimate_bytes(100_000, 128, 450_000) / 2**30, 2)
    0.46
    """
    n_impostor = n_images * (n_images - 1) // 2 - n_genuine
    sample = min(SAMPLE, max(10_000, n_impostor // 50))  # the EER prediction's block of scores (_predict_band)
    return int(100 * 2**20 + n_images * (11 * dim + 1100) + 160 * n_genuine + 16 * sample
               + HELD_PAIR_BYTES * held_pairs)


def check_memory(n_images: int, *, dim: int = 512, n_genuine: int | None = None, available: int | None = None,
                 held_pairs: int = 0) -> None:
    """Refuse, before it starts, a scan that would not fit in the free memory (with the figure and what to do).

    The scan holds the embeddings and the genuine pairs, never the impostor pairs (:func:`estimate_bytes`);
    ``n_genuine`` defaults to 10 images per person.
    """
    if n_genuine is None:
        n_genuine = n_images * 9 // 2
    need = estimate_bytes(n_images, dim, n_genuine, held_pairs)
    if available is None:
        try:
            import psutil

            available = int(psutil.virtual_memory().available)
        except Exception:
            return
    if need > 0.8 * available:
        raise DatasetError(
            f"{n_images:,} images of {dim}-d embeddings ({n_genuine:,} same-person pairs) need about "
            f"{need / 2**30:.1f} GB but {available / 2**30:.1f} GB is free",
            hint="close other programs, or evaluate fewer images (for example a sample of identities)",
        )
