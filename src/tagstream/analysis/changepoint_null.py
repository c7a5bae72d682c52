"""Critical values of the change-point statistic: when is a split of a segment real?

The largest ``2 ln L`` over a segment's candidate splits (:func:`~tagstream.kernels.changepoint.
best_split`) has, when the intensity does not change, a distribution that depends only on the
number ``N`` of photons in the segment. A split is accepted when its statistic exceeds the
``1 - alpha`` quantile of that distribution, so a segment without a change is split with
probability ``alpha``.

The quantiles below were computed by Monte Carlo (:func:`simulate_table`; run ``python -m
tagstream.analysis.changepoint_null`` to compute them again) at the photon numbers :data:`N_GRID`,
with 100 000 draws up to 2 000 photons and fewer above (at least 8 000); those of the
excursion test (:data:`CRITICAL_PAIR`) with 20 000 up to 2 000 photons and at least 3 000.
Between grid points they are interpolated linearly in ``ln N``; beyond the last one they are held
constant (the single test's grow by less than 0.5 from 3 000 to 30 000 photons). Each quantile was made non-decreasing in ``N``; the
Monte Carlo error is about 0.05 at ``alpha`` 0.05, 0.1 at 0.01 and 0.3 at 0.001 (twice that from
2 000 photons on).
"""

from __future__ import annotations

import numpy as np

from ..errors import AnalysisError
from ..kernels.changepoint import null_maxima, null_pair_maxima
from ..kernels.random import new_state

#: Photon numbers of the table.
N_GRID = np.array(
    [1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 70, 100, 150, 200, 300, 500, 700, 1000, 1500, 2000, 3000,
     5000, 7000, 10000, 15000, 20000, 30000]
)  # fmt: skip
#: Type-I error rates of the table.
ALPHAS = (0.05, 0.01, 0.001)
#: Photons from one change point of an excursion to the other tried by the pair test.
SPANS = np.unique(np.round(np.sqrt(2.0) ** np.arange(40)).astype(np.int64))
#: ``CRITICAL[alpha][i]``: the ``1 - alpha`` quantile of the largest ``2 ln L`` at ``N_GRID[i]``.
CRITICAL: dict[float, np.ndarray] = {
    0.05: np.array(
        [
            0.00, 3.70, 4.94, 6.19, 6.83, 7.39, 7.95, 8.31, 8.71, 9.22, 9.43, 9.66, 9.93, 10.12,
            10.35, 10.63, 10.76, 10.98, 11.03, 11.17, 11.27, 11.46, 11.61, 11.61, 11.88, 12.09,
            12.09
        ]
    ),
    0.01: np.array(
        [
            0.00, 5.31, 7.02, 8.71, 9.52, 10.24, 10.93, 11.42, 11.88, 12.56, 12.68, 12.98, 13.31,
            13.47, 13.77, 13.98, 14.12, 14.45, 14.53, 14.57, 14.72, 14.81, 15.04, 15.18, 15.44,
            15.61, 15.65
        ]
    ),
    0.001: np.array(
        [
            0.00, 7.42, 10.13, 12.31, 13.28, 14.20, 15.07, 15.82, 16.29, 17.38, 17.38, 17.84,
            18.04, 18.19, 18.34, 19.10, 19.15, 19.20, 19.26, 19.26, 19.33, 19.54, 20.16, 20.16,
            20.16, 20.51, 20.51
        ]
    ),
}  # fmt: skip
#: The same for the excursion statistic (:func:`~tagstream.kernels.changepoint.best_pair`).
CRITICAL_PAIR: dict[float, np.ndarray] = {
    0.05: np.array(
        [
            0.00, 0.00, 4.12, 6.97, 8.37, 9.03, 10.37, 11.24, 12.54, 13.86, 14.82, 15.62, 16.63,
            17.11, 18.10, 19.15, 19.95, 20.73, 21.51, 22.07, 22.95, 24.11, 24.52, 25.51, 26.16,
            26.78, 27.75
        ]
    ),
    0.01: np.array(
        [
            0.00, 0.00, 5.72, 9.50, 11.09, 11.53, 13.20, 14.31, 15.73, 17.06, 18.08, 18.92, 19.93,
            20.47, 21.73, 22.53, 23.15, 24.03, 24.89, 25.63, 26.14, 27.42, 28.13, 29.61, 29.67,
            29.83, 31.60
        ]
    ),
    0.001: np.array(
        [
            0.00, 0.00, 7.93, 13.07, 14.12, 14.89, 17.25, 18.22, 20.08, 21.56, 22.55, 22.91,
            24.72, 24.72, 26.40, 27.24, 27.33, 28.46, 29.58, 29.69, 30.49, 31.75, 32.05, 34.32,
            34.32, 34.53, 39.24
        ]
    ),
}  # fmt: skip


def critical_value(n: int | np.ndarray, alpha: float, pair: bool = False) -> float | np.ndarray:
    """The ``1 - alpha`` quantile of the largest ``2 ln L`` of a segment of ``n`` photons
    without a change (``alpha`` one of :data:`ALPHAS`): of a single change point, or with
    ``pair`` of an excursion (:func:`~tagstream.kernels.changepoint.best_pair`)."""
    if alpha not in CRITICAL:
        raise AnalysisError(
            f"levels: alpha must be one of {', '.join(map(str, ALPHAS))}, got {alpha!r}"
        )
    x = np.log(np.clip(n, 1, None))
    return np.interp(x, np.log(N_GRID), (CRITICAL_PAIR if pair else CRITICAL)[alpha])


def simulate_table(
    pair: bool = False, work: float = 2e8, seed: int = 2005
) -> dict[float, np.ndarray]:
    """The table by Monte Carlo (:func:`~tagstream.kernels.changepoint.null_maxima`, or with
    ``pair`` :func:`~tagstream.kernels.changepoint.null_pair_maxima`): about ``work / N`` draws
    at ``N`` photons (at least 8 000, at most 100 000; with ``pair`` 3 000 to 20 000), each quantile
    made non-decreasing in ``N`` by pooling adjacent violators (weighted by the draws)."""
    trials = np.clip(work / N_GRID, 3_000 if pair else 8_000, 20_000 if pair else 100_000)
    trials = trials.astype(int)
    state = new_state(seed)
    maxima = [
        null_pair_maxima(int(n), int(k), SPANS, state)
        if pair
        else null_maxima(int(n), int(k), state)
        for n, k in zip(N_GRID, trials, strict=True)
    ]
    return {a: _monotone(np.array([np.quantile(m, 1 - a) for m in maxima]), trials) for a in ALPHAS}


def _monotone(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The non-decreasing sequence closest to ``values`` in weighted least squares."""
    blocks: list[list[float]] = []  # [mean, weight, length]
    for v, w in zip(values, weights.astype(float), strict=True):
        blocks.append([float(v), w, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            (m1, w1, n1), (m2, w2, n2) = blocks[-2], blocks.pop()
            blocks[-1] = [(m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2, n1 + n2]
    return np.concatenate([np.full(int(n), m) for m, _, n in blocks])


if __name__ == "__main__":  # pragma: no cover - prints the table for this module
    for pair, work in ((False, 2e8), (True, 4e7)):
        print("pair" if pair else "single")
        for alpha, values in simulate_table(pair, work).items():
            print(f"{alpha}: [{', '.join(f'{v:.2f}' for v in values)}],")
