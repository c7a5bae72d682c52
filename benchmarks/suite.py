"""The benchmark suite behind ``tagstream bench``."""

from __future__ import annotations

import os
import platform
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numba
import numpy as np

from tagstream.analysis.flid import FlidAnalyzer
from tagstream.analysis.g2 import G2Analyzer
from tagstream.analysis.g2_log import LogG2Analyzer
from tagstream.analysis.lifetime import LifetimeAnalyzer
from tagstream.analysis.trace import TraceAnalyzer
from tagstream.tags import TagBatch

from . import peers
from .datasets import Dataset, hbt_t2_with_sync, hbt_t3
from .timing import best_time

WINDOW_PS = 100_000  # ±100 ns
BIN_PS = 100
LOG_MIN_PS = 1_000  # 1 ns
LOG_MAX_PS = 10**13  # 10 s
BATCH_TAGS = 1 << 21


@dataclass
class Row:
    """One measured implementation of one analysis."""

    analysis: str
    implementation: str
    tags_per_s: float
    ratio_to_sum: float
    budget: str | None = None
    meets_budget: bool | None = None
    agrees: bool | None = None


def _batches(data: Dataset) -> list[TagBatch]:
    t = data.batch.timestamps
    cuts = t[BATCH_TAGS::BATCH_TAGS]
    return data.batch.split_at(cuts)


def _feed(make: Callable[[], Any], batches: list[TagBatch]) -> Callable[[], object]:
    """Run a fresh analyzer over the batches and take its result (every detector's, if several)."""

    def run() -> object:
        analyzer = make()
        for b in batches:
            analyzer.process(b)
        return analyzer.results() if hasattr(analyzer, "results") else analyzer.result()

    return run


def run_suite(
    seconds: float = 10.0,
    repeats: int = 3,
    peers_too: bool = True,
    threads: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Measure every kernel and, when ``peers_too``, the peers; returns a JSON-serialisable dict.

    Parameters
    ----------
    seconds
        Length of the simulated measurement (2 Mtags per second). Below about 5 s the data fit
        in the CPU caches and the ``numpy.sum`` ceiling is overstated.
    repeats
        Timings are the best of this many runs.
    threads
        Threads the analyzers may use (default: the machine's cores, at most four).
    """
    say = progress or (lambda _msg: None)
    rng = np.random.default_rng(20261121)
    duration = int(seconds * 10**12)
    say("generating data")
    hbt = hbt_t3(rng, duration)
    t2 = hbt_t2_with_sync(rng, max(duration // 10, 10**9))
    rows: list[Row] = []

    def sum_rate(data: Dataset) -> float:
        ts = data.batch.timestamps
        return data.n / best_time(lambda: np.sum(ts), repeats)

    base = {hbt.name: sum_rate(hbt), t2.name: sum_rate(t2)}

    def measure(
        analysis: str,
        impl: str,
        data: Dataset,
        fn: Callable[[], object],
        budget: str | None = None,
        threshold: float | None = None,
    ) -> tuple[Row, object]:
        say(f"{analysis}: {impl}")
        result = fn()
        rate = data.n / best_time(fn, repeats)
        ratio = rate / base[data.name]
        row = Row(
            analysis,
            impl,
            rate,
            ratio,
            budget,
            None if threshold is None else bool(ratio >= threshold),
        )
        rows.append(row)
        return row, result

    hbt_batches = _batches(hbt)
    t2_batches = _batches(t2)
    ta = hbt.batch.timestamps[hbt.batch.channels == 1]
    tb = hbt.batch.timestamps[hbt.batch.channels == 2]

    # g2, linear bins
    _, ours = measure(
        "g2 linear ±100 ns / 100 ps",
        "tagstream",
        hbt,
        _feed(lambda: G2Analyzer(1, 2, WINDOW_PS, BIN_PS, threads=threads), hbt_batches),
        ">= 0.2 x numpy.sum",
        0.2,
    )
    for name, fn in (
        [
            ("numpy searchsorted", lambda: peers.numpy_g2(ta, tb, WINDOW_PS, BIN_PS)),
            ("pycorrelate.pcorrelate", peers.pycorrelate_linear(WINDOW_PS, BIN_PS)),
        ]
        if peers_too
        else []
    ):
        if fn is None:
            continue
        call = fn if name.startswith("numpy") else (lambda f=fn: f(ta, tb))
        row, theirs = measure("g2 linear ±100 ns / 100 ps", name, hbt, call)
        row.agrees = bool(np.array_equal(np.asarray(theirs), ours.counts))

    # g2, log bins 1 ns .. 10 s
    log_row, _ = measure(
        "g2 log 1 ns .. 10 s",
        "tagstream",
        hbt,
        _feed(lambda: LogG2Analyzer(1, 2, LOG_MIN_PS, LOG_MAX_PS), hbt_batches),
    )
    peer_rates = []
    units_a = (ta // LOG_MIN_PS).astype(np.uint64)
    units_b = (tb // LOG_MIN_PS).astype(np.uint64)
    ones_a, ones_b = np.ones(ta.size), np.ones(tb.size)
    # tttrlib's "laurence" method is left out: it did not finish on these data (it was slower
    # than "felekyan" wherever it did finish)
    for method in ("wahl", "felekyan") if peers_too else ():
        fn = peers.tttrlib_log(method, n_casc=31, n_bins=8)
        if fn is None:
            break
        row, _ = measure(
            "g2 log 1 ns .. 10 s",
            f"tttrlib ({method})",
            hbt,
            lambda f=fn: f(units_a, ones_a, units_b, ones_b),
        )
        peer_rates.append(row.tags_per_s)
    fn = peers.pycorrelate_log(LOG_MIN_PS, LOG_MAX_PS, 8) if peers_too else None
    if fn is not None:
        measure("g2 log 1 ns .. 10 s", "pycorrelate.pcorrelate", hbt, lambda f=fn: f(ta, tb))
    if peer_rates:
        log_row.budget = ">= 3 x tttrlib's fastest"
        log_row.meets_budget = bool(log_row.tags_per_s >= 3 * max(peer_rates))

    # lifetime histograms
    measure(
        "lifetime T3, 16 ps bins",
        "tagstream",
        hbt,
        _feed(lambda: LifetimeAnalyzer([1, 2], bin=16, threads=threads), hbt_batches),
        ">= 0.3 x numpy.sum",
        0.3,
    )
    measure(
        "lifetime T2 (delay since sync), 16 ps bins",
        "tagstream",
        t2,
        _feed(lambda: LifetimeAnalyzer([1, 2], bin=16, sync=0, threads=threads), t2_batches),
        ">= 0.3 x numpy.sum",
        0.3,
    )

    # intensity traces and FLID
    for bin_ps, label in ((10**9, "1 ms"), (10**7, "10 us")):
        measure(
            f"trace, {label} bins",
            "tagstream",
            hbt,
            _feed(lambda b=bin_ps: TraceAnalyzer([1, 2], bin=b, threads=threads), hbt_batches),
            ">= 0.3 x numpy.sum",
            0.3,
        )
    measure(
        "FLID T3, 1 ms bins",
        "tagstream",
        hbt,
        _feed(lambda: FlidAnalyzer([1, 2], bin=10**9), hbt_batches),
    )

    return {
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "numba": numba.__version__,
        },
        "threads": threads,
        "datasets": {d.name: {"tags": d.n, "description": d.description} for d in (hbt, t2)},
        "numpy_sum_tags_per_s": base,
        "rows": [asdict(r) for r in rows],
    }


def format_table(report: dict) -> str:
    """A plain-text table of a :func:`run_suite` report."""
    lines = [f"{'analysis':44s} {'implementation':24s} {'Mtags/s':>9s} {'x sum':>7s}  budget"]
    for r in report["rows"]:
        verdict = "" if r["meets_budget"] is None else ("  ok" if r["meets_budget"] else "  MISSED")
        agrees = (
            "" if r["agrees"] is None else ("  (same histogram)" if r["agrees"] else "  (differs)")
        )
        lines.append(
            f"{r['analysis']:44s} {r['implementation']:24s} {r['tags_per_s'] / 1e6:9.1f} "
            f"{r['ratio_to_sum']:7.3f}  {r['budget'] or ''}{verdict}{agrees}"
        )
    sums = ", ".join(
        f"{k}: {v / 1e6:.0f} Mtags/s" for k, v in report["numpy_sum_tags_per_s"].items()
    )
    lines.append(f"numpy.sum over the same timestamps: {sums}")
    return "\n".join(lines)
