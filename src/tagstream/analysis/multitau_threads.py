"""The multi-tau correlation of one large batch on several threads: the batch is cut into
consecutive pieces, each counted from an empty history, and the pieces are joined in order
(:mod:`~tagstream.kernels.multitau_cross`)."""

from __future__ import annotations

import numpy as np

from ..kernels import multitau_process
from ..kernels.multitau import multitau_work
from ..kernels.multitau_cross import cross_with_history, join_history, role_counts_below
from .parallel import pieces, run_all


class MultitauThreads:
    """Counts batches into a multi-tau state on up to ``threads`` threads.

    Parameters
    ----------
    state
        ``hist``, ``clock``, ``counts_ab``, ``counts_ba`` (see :mod:`~tagstream.kernels.multitau`).
    roles
        Role of each channel number (bit 1 = A, bit 2 = B).
    auto
        Auto-correlation of one channel.
    dt0
        Cell width of level 0, ps.
    half
        Lags per level (P).
    threads
        Threads for large batches.
    """

    def __init__(self, state: dict, roles: np.ndarray, auto: bool, dt0: int, half: int,
                 threads: int):  # fmt: skip
        self.state, self.roles, self.auto = state, roles, auto
        self.dt0, self.half, self.threads = int(dt0), int(half), int(threads)
        self.levels = state["hist"].shape[0]
        self._works = [multitau_work(self.levels, self.half)]
        self.split = -1  # levels counted pair by pair: chosen per block

    def process(self, ts: np.ndarray, ch: np.ndarray, t_end: int) -> None:
        """Add the pairs of the tags ``ts``/``ch`` (a batch ending at ``t_end``, ps)."""
        parts = pieces(len(ts), self.threads)
        while len(self._works) < len(parts):
            self._works.append(multitau_work(self.levels, self.half))
        limits = [int(ts[i1]) // self.dt0 for _, i1 in parts[:-1]] + [int(t_end) // self.dt0]
        states = [self.state] + [self._empty(limits[i]) for i in range(len(parts) - 1)]
        run_all(
            [
                lambda i0=i0, i1=i1, s=s, lim=lim, w=w: self._count(ts[i0:i1], ch[i0:i1], lim, s, w)
                for (i0, i1), s, lim, w in zip(parts, states, limits, self._works, strict=False)
            ]
        )
        for (i0, i1), later, cut in zip(parts[1:], states[1:], limits[:-1], strict=True):
            self._join(ts[i0:i1], ch[i0:i1], cut, later)

    def _empty(self, clock: int) -> dict:
        """A state with no tags yet whose clock is at ``clock`` (a cut's level-0 cell)."""
        s = {k: np.zeros_like(v) for k, v in self.state.items()}
        s["clock"][0] = clock
        return s

    def _count(self, ts, ch, limit0: int, s: dict, work: tuple) -> None:
        multitau_process(
            ts, ch, self.roles, self.auto, np.int64(self.dt0), np.int64(limit0), self.split,
            s["hist"], s["clock"], s["counts_ab"], s["counts_ba"], *work,
        )  # fmt: skip

    def _join(self, ts: np.ndarray, ch: np.ndarray, cut: int, later: dict) -> None:
        """Add a later piece (its tags ``ts``/``ch``, counted alone into ``later`` from the cut's
        cell ``cut``) to the state, which ends at that cut."""
        state = self.state
        new = self._cells_after(ts, ch, cut)
        cross_with_history(state["hist"], new, self.auto, state["counts_ab"], state["counts_ba"])
        state["counts_ab"] += later["counts_ab"]
        state["counts_ba"] += later["counts_ba"]
        if self.auto:
            state["counts_ba"][:, :] = state["counts_ab"]
        else:
            state["counts_ba"][0, 0] = state["counts_ab"][0, 0]
        join_history(state["hist"], np.int64(cut), later["hist"], np.int64(later["clock"][0]))
        state["hist"][...] = later["hist"]
        state["clock"][0] = later["clock"][0]

    def _cells_after(self, ts: np.ndarray, ch: np.ndarray, cut: int) -> np.ndarray:
        """``new[k, r, q]``: tags of role ``r`` in cell ``(cut >> k) + q`` of level ``k``."""
        size = 2 * self.half
        top = int(np.iinfo(np.int64).max)  # every tag lies before it (batches end at most there)
        edges = np.array(
            [
                min((((cut >> k) + q) << k) * self.dt0, top)  # ps; Python ints do not wrap
                for k in range(self.levels)
                for q in range(size + 1)
            ],
            np.int64,
        )
        order = np.argsort(edges, kind="stable")
        below = np.zeros((2, edges.size), np.int64)
        role_counts_below(ts, ch, self.roles, self.auto, edges[order], below)
        unsorted = np.empty_like(below)
        unsorted[:, order] = below
        return np.diff(unsorted.reshape(2, self.levels, size + 1), axis=2).transpose(1, 0, 2)
