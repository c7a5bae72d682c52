"""The period search's centroids of many windows at once equal the one-window reference."""

from __future__ import annotations

import numpy as np

from tagstream.analysis import g2_period
from tagstream.analysis.g2_histogram import as_histogram


def test_vectorised_centroids_match_one_window_at_a_time():
    rng = np.random.default_rng(0)
    for trial in range(30):
        n = int(rng.integers(50, 3000))
        width = float(rng.uniform(10, 200))
        edges = np.arange(n + 1) * width - n * width / 2
        counts = rng.poisson(rng.uniform(0, 5), n).astype(float)
        if trial % 3 == 0:
            counts[: n // 2] = 0  # empty windows
        hist = as_histogram(edges, counts)
        half = float(rng.uniform(2, 40)) * width
        starts = rng.uniform(edges[0], edges[-1], 20)  # windows past the ends too
        positions, totals = g2_period._centroids(hist, starts, half)
        for start, position, total in zip(starts, positions, totals, strict=True):
            one_position, one_total = g2_period._centroid(hist, start, half)
            assert abs(one_position - position) <= 1e-9 * width
            assert abs(one_total - total) <= 1e-9 * max(one_total, 1.0)
