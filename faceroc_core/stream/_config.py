"""The scan's sizes and limits, in one place (the kernels read :data:`TOP_KEEP` when they are compiled)."""
from __future__ import annotations

import numpy as np

K_MAX = 1 << 17  # buckets at most: their counters stay in the CPU cache (measured: 2**18 is 1.2x, 2**20 2x slower)
LO, HI = -1.0, 1.0  # the score range the buckets cover (cosine similarity)
GRID = np.arange(-1000, 1001) / 1000  # exact counts at every 0.001 step (what a threshold slider picks)
HIST_BINS = 80
HIST_EDGES = np.linspace(-1.0, 1.0, HIST_BINS + 1)
MAX_COLLECT = 4_000_000  # distinct impostor scores a second pass may keep (64 MB with their counts)
TOP_K = 20  # hardest pairs shown per model (diagnose, pipeline and reports use this one number)
DUPLICATE_SCORE = 0.995  # an impostor pair this alike is a candidate duplicate photo (the test-set check)
MAX_DUPLICATES = 2_000
TOP_KEEP = MAX_DUPLICATES  # highest impostor pairs kept by the first pass (>= TOP_K)
TOP_BUFFER = 8192
SAMPLE = 4_000_000  # random impostor pairs (a 2,000 x 2,000 block) that predict where the EER lies
BAND_MAX = 8_000_000  # impostor scores the first pass may keep around the predicted EER (64 MB at most)
