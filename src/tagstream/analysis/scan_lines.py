"""Per-pixel sums over the lines of a scan (or over an image's rows): photon counts, delays,
phasor parts and a decay histogram per pixel."""

from __future__ import annotations

import numpy as np

from .scan_image import ScanImage


class LineSums:
    """Sums for ``n`` lines (rows) of ``nx`` pixels, with ``bins`` decay bins (0: none).

    Attributes
    ----------
    counts : int64 (n, nx)
    delay_sum_ps, cos_sum, sin_sum : float64 (n, nx)
    decay : int64 (n, nx, bins)
    time_ps : int64 (n,)
        Time the beam spent on each line (all passes), ps.
    """

    def __init__(self, n: int, nx: int, bins: int):
        self.nx, self.bins = nx, bins
        self.counts = np.zeros((n, nx), np.int64)
        self.delay_sum_ps = np.zeros((n, nx))
        self.cos_sum = np.zeros((n, nx))
        self.sin_sum = np.zeros((n, nx))
        self.decay = np.zeros((n, nx, bins), np.int64)
        self.time_ps = np.zeros(n, np.int64)

    def __len__(self) -> int:
        return self.counts.shape[0]

    def add(self, rows, xs, delays, omega: float, bins) -> None:
        """Add photons at ``(rows, xs)`` with their delays (ps; NaN unknown) and decay bins."""
        n, nx = self.counts.shape
        pix = rows * nx + xs
        self.counts += np.bincount(pix, minlength=n * nx).reshape(n, nx)
        known = np.isfinite(delays)
        if bins is None or not known.any():
            return
        pix, d = pix[known], delays[known]
        self.delay_sum_ps += np.bincount(pix, weights=d, minlength=n * nx).reshape(n, nx)
        self.cos_sum += np.bincount(pix, weights=np.cos(omega * d), minlength=n * nx).reshape(n, nx)
        self.sin_sum += np.bincount(pix, weights=np.sin(omega * d), minlength=n * nx).reshape(n, nx)
        # only the cells hit: a large image's cube is far larger than a batch's photons
        cells, hits = np.unique(pix * self.bins + bins[known], return_counts=True)
        self.decay = np.ascontiguousarray(self.decay)
        self.decay.reshape(-1)[cells] += hits

    def grow(self, n: int) -> None:
        """Room for at least ``n`` lines."""
        extra = n - len(self)
        if extra <= 0:
            return
        more = LineSums(extra, self.nx, self.bins)
        for name in ("counts", "delay_sum_ps", "cos_sum", "sin_sum", "decay", "time_ps"):
            setattr(self, name, np.concatenate([getattr(self, name), getattr(more, name)]))

    def _part(self, part: slice) -> LineSums:
        out = LineSums(0, self.nx, self.bins)
        for name in ("counts", "delay_sum_ps", "cos_sum", "sin_sum", "decay", "time_ps"):
            setattr(out, name, getattr(self, name)[part].copy())
        return out

    def head(self, n: int) -> LineSums:
        """The first ``n`` lines (as many as there are; lines without photons are zeros)."""
        out = self._part(slice(0, n))
        out.grow(n)
        return out

    def tail(self, n: int) -> LineSums:
        """The lines after the first ``n``."""
        return self._part(slice(n, None))

    def add_line(self, row: int, lines: LineSums, i: int, sign: int = 1) -> None:
        """Add line ``i`` of ``lines`` to row ``row`` (``sign=-1``: take it away)."""
        for name in ("counts", "delay_sum_ps", "cos_sum", "sin_sum", "decay", "time_ps"):
            getattr(self, name)[row] += sign * getattr(lines, name)[i]

    def as_image(self, **kwargs) -> ScanImage:
        """These sums as an image (rows as its rows), with the other fields of
        :class:`ScanImage` given."""
        return ScanImage(
            counts=self.counts.copy(), delay_sum_ps=self.delay_sum_ps.copy(),
            cos_sum=self.cos_sum.copy(), sin_sum=self.sin_sum.copy(),
            cube=self.decay.copy() if self.bins else None, row_time_ps=self.time_ps.copy(),
            **kwargs,
        )  # fmt: skip
