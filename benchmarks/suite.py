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
from tagstream.analysis.levels import LevelsAnalyzer
from tagstream.analysis.lifetime import LifetimeAnalyzer
from tagstream.analysis.trace import TraceAnalyzer
from tagstream.analysis.triples import TripleAnalyzer
from tagstream.tags import TagBatch

from . import peers
from .batch import measure_batch
from .datasets import CHANNELS, Dataset, hbt_t2_with_sync, hbt_t3, three_detectors
from .foreign import measure_foreign
from .pipeline import measure_pipeline
from .ptu_decode import measure_ptu
from .simulator import measure_simulator
from .stages import measure_stages
from .timing import best_time
from .writer import measure_writer

WINDOW_PS = 100_000  # ±100 ns
BIN_PS = 100
LOG_MIN_PS = 1_000  # 1 ns
LOG_MAX_PS = 10**13  # 10 s
BATCH_TAGS = 1 << 21
PEER_SECONDS = 1.0  # peers are timed on the first second: they are 10-1000x slower
G2_LINEAR = "g2 linear ±100 ns / 100 ps"
G2_LOG = "g2 log 1 ns .. 10 s"
TTTRLIB_FACTOR = 10  # the log g2's budget against tttrlib's fastest method


@dataclass
class Row:
    """One measured implementation of one analysis."""

    analysis: str
    implementation: str
    tags: int
    tags_per_s: float | None  # None: not measured (the note says why)
    ratio_to_sum: float | None
    budget: str | None = None
    meets_budget: bool | None = None
    agrees: bool | None = None
    note: str | None = None


def _batches(batch: TagBatch) -> list[TagBatch]:
    return batch.split_at(batch.timestamps[BATCH_TAGS::BATCH_TAGS])


def _feed(make: Callable[[], Any], batches: list[TagBatch]) -> Callable[[], object]:
    """Run a fresh analyzer over the batches and take its result (every detector's, if several)."""

    def run() -> object:
        analyzer = make()
        for b in batches:
            analyzer.process(b)
        return analyzer.results() if hasattr(analyzer, "results") else analyzer.result()

    return run


class _Bench:
    """Collects rows; every rate is compared with numpy.sum over the data set's timestamps."""

    def __init__(self, repeats: int, say: Callable[[str], None]):
        self.repeats = repeats
        self.say = say
        self.rows: list[Row] = []
        self.sum_rate: dict[str, float] = {}

    def baseline(self, data: Dataset) -> None:
        ts = data.batch.timestamps
        self.sum_rate[data.name] = data.n / best_time(lambda: np.sum(ts), self.repeats)

    def measure(
        self,
        analysis: str,
        impl: str,
        data: Dataset,
        fn: Callable[[], object],
        n: int | None = None,
        repeats: int | None = None,
        threshold: float | None = None,
    ) -> tuple[Row, object]:
        """Time ``fn`` over ``n`` tags (default: the whole data set)."""
        self.say(f"{analysis}: {impl}")
        result = fn()
        n = data.n if n is None else n
        rate = n / best_time(fn, self.repeats if repeats is None else repeats)
        row = Row(analysis, impl, n, rate, rate / self.sum_rate[data.name])
        if threshold is not None:
            row.budget = f">= {threshold:g} x numpy.sum"
            row.meets_budget = bool(row.ratio_to_sum >= threshold)
        self.rows.append(row)
        return row, result


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
    bench = _Bench(repeats, say)
    bench.baseline(hbt)
    bench.baseline(t2)
    hbt_batches, t2_batches = _batches(hbt.batch), _batches(t2.batch)

    def analyzer(make: Callable[[], Any], batches: list[TagBatch]) -> Callable[[], object]:
        return _feed(make, batches)

    # g2, linear bins
    bench.measure(
        G2_LINEAR,
        "tagstream",
        hbt,
        analyzer(lambda: G2Analyzer(1, 2, WINDOW_PS, BIN_PS, threads=threads), hbt_batches),
        threshold=0.2,
    )
    bench.measure(
        G2_LINEAR,
        "tagstream, 1 thread",
        hbt,
        analyzer(lambda: G2Analyzer(1, 2, WINDOW_PS, BIN_PS, threads=1), hbt_batches),
    )
    # g2, log bins 1 ns .. 10 s
    log_row, _ = bench.measure(
        G2_LOG,
        "tagstream",
        hbt,
        analyzer(lambda: LogG2Analyzer(1, 2, LOG_MIN_PS, LOG_MAX_PS), hbt_batches),
        threshold=0.03,
    )
    if peers_too:
        _peers(bench, hbt, log_row)

    # lifetime histograms
    bench.measure(
        "lifetime T3, 16 ps bins",
        "tagstream",
        hbt,
        analyzer(lambda: LifetimeAnalyzer([1, 2], bin=16, threads=threads), hbt_batches),
        threshold=0.3,
    )
    bench.measure(
        "lifetime T3, 16 ps bins",
        "tagstream, 1 thread",
        hbt,
        analyzer(lambda: LifetimeAnalyzer([1, 2], bin=16, threads=1), hbt_batches),
    )
    bench.measure(
        "lifetime T2, sync / 4 folded onto the laser, 16 ps",
        "tagstream",
        t2,
        analyzer(lambda: LifetimeAnalyzer([1, 2], bin=16, sync=0, threads=threads), t2_batches),
        threshold=0.5,
    )

    # intensity traces and FLID
    bench.measure(
        "trace, 1 ms base bin (default)",
        "tagstream",
        hbt,
        analyzer(lambda: TraceAnalyzer([1, 2], bin=10**9, threads=threads), hbt_batches),
        threshold=0.3,
    )
    bench.measure(
        "trace, 1 ms base bin (default)",
        "tagstream, 1 thread",
        hbt,
        analyzer(lambda: TraceAnalyzer([1, 2], bin=10**9, threads=1), hbt_batches),
    )
    bench.measure(
        "trace, 10 us base bin",
        "tagstream",
        hbt,
        analyzer(lambda: TraceAnalyzer([1, 2], bin=10**7, threads=threads), hbt_batches),
        threshold=0.4,
    )
    bench.measure(
        "FLID T3, 1 ms bins",
        "tagstream",
        hbt,
        analyzer(lambda: FlidAnalyzer([1, 2], bin=10**9, threads=threads), hbt_batches),
        threshold=0.3,
    )
    bench.measure(
        "levels (change points), photons of A and B",
        "tagstream",
        hbt,
        analyzer(lambda: LevelsAnalyzer([1, 2], channels=CHANNELS, decays=True), hbt_batches),
    )
    three = three_detectors(rng, max(duration // 5, 10**9))
    bench.baseline(three)
    bench.measure(
        "g3 (A; B, C) ±40 ns / 1 ns",
        "tagstream",
        three,
        analyzer(lambda: TripleAnalyzer(1, 2, 3, window=40_000, bin=1_000), _batches(three.batch)),
    )

    measure_simulator(bench.measure, hbt, seconds)
    disk = measure_writer(bench.measure, hbt)
    measure_foreign(bench.measure, hbt)
    measure_ptu(bench.measure, hbt)

    def add_row(analysis, impl, n, rate, ratio, budget, meets, agrees, note) -> None:
        bench.rows.append(Row(analysis, impl, n, rate, ratio, budget, meets, agrees, note))

    # the pipeline replays 20 Mtags per second of data: half the length, at most 5 s
    pipeline_seconds = min(seconds / 2, 5.0)
    measure_pipeline(add_row, bench.sum_rate[hbt.name], pipeline_seconds, repeats, say=say)
    measure_stages(add_row, bench.sum_rate[hbt.name], os.cpu_count() or 1, pipeline_seconds, say)
    measure_batch(add_row, bench.sum_rate[hbt.name], say=say)

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
        "numpy_sum_tags_per_s": bench.sum_rate,
        "disk_write_bytes_per_s": disk,
        "rows": [asdict(r) for r in bench.rows],
    }


def _peers(bench: _Bench, hbt: Dataset, log_row: Row) -> None:
    """The peers, timed on the first :data:`PEER_SECONDS` of the data (each once, after a
    warm-up), with tagstream's histogram of the same tags for comparison."""
    part = hbt.batch.slice_time(hbt.batch.t_begin, hbt.batch.t_begin + int(PEER_SECONDS * 1e12))
    ta = part.timestamps[part.channels == 1]
    tb = part.timestamps[part.channels == 2]
    n = len(part)
    ours = G2Analyzer(1, 2, WINDOW_PS, BIN_PS)
    ours.process(part)
    ours_counts = ours.result().counts
    linear = [("numpy searchsorted", lambda: peers.numpy_g2(ta, tb, WINDOW_PS, BIN_PS))]
    pcorr = peers.pycorrelate_linear(WINDOW_PS, BIN_PS)
    if pcorr is not None:
        linear.append(("pycorrelate.pcorrelate", lambda: pcorr(ta, tb)))
    for name, fn in linear:
        row, theirs = bench.measure(G2_LINEAR, name, hbt, fn, n=n, repeats=1)
        row.agrees = bool(np.array_equal(np.asarray(theirs), ours_counts))

    fastest = 0.0
    units_a = (ta // LOG_MIN_PS).astype(np.uint64)
    units_b = (tb // LOG_MIN_PS).astype(np.uint64)
    ones_a, ones_b = np.ones(ta.size), np.ones(tb.size)
    # tttrlib's "laurence" method is left out: it did not finish on these data (it was slower
    # than "felekyan" wherever it did finish)
    for method in ("wahl", "felekyan"):
        fn = peers.tttrlib_log(method, n_casc=31, n_bins=8)
        if fn is None:
            break
        row, _ = bench.measure(
            G2_LOG,
            f"tttrlib ({method})",
            hbt,
            lambda f=fn: f(units_a, ones_a, units_b, ones_b),
            n=n,
            repeats=1,
        )
        fastest = max(fastest, row.tags_per_s)
    plog = peers.pycorrelate_log(LOG_MIN_PS, LOG_MAX_PS, 8)
    if plog is not None:
        bench.measure(G2_LOG, "pycorrelate.pcorrelate", hbt, lambda: plog(ta, tb), n=n, repeats=1)
    if fastest > 0:
        log_row.budget += f", >= {TTTRLIB_FACTOR:g} x tttrlib's fastest"
        log_row.meets_budget = bool(
            log_row.meets_budget and log_row.tags_per_s >= TTTRLIB_FACTOR * fastest
        )
        log_row.note = f"{log_row.tags_per_s / fastest:.1f} x tttrlib's fastest"


def format_table(report: dict) -> str:
    """A plain-text table of a :func:`run_suite` report."""
    lines = [f"{'analysis':50s} {'implementation':34s} {'Mtags/s':>9s} {'x sum':>7s}  budget"]
    order = {
        name: k for k, name in reversed(list(enumerate(r["analysis"] for r in report["rows"])))
    }
    for r in sorted(report["rows"], key=lambda r: order[r["analysis"]]):
        verdict = "" if r["meets_budget"] is None else ("  ok" if r["meets_budget"] else "  MISSED")
        agrees = (
            ""
            if r["agrees"] is None
            else ("  (same result)" if r["agrees"] else "  (result differs)")
        )
        note = f"  ({r['note']})" if r.get("note") else ""
        rate = "-" if r["tags_per_s"] is None else f"{r['tags_per_s'] / 1e6:.1f}"
        ratio = "-" if r["ratio_to_sum"] is None else f"{r['ratio_to_sum']:.3f}"
        lines.append(
            f"{r['analysis']:50s} {r['implementation']:34s} {rate:>9s} "
            f"{ratio:>7s}  {r['budget'] or ''}{verdict}{agrees}{note}"
        )
    sums = ", ".join(
        f"{k}: {v / 1e6:.0f} Mtags/s" for k, v in report["numpy_sum_tags_per_s"].items()
    )
    lines.append(f"numpy.sum over the same timestamps: {sums}")
    disk = report.get("disk_write_bytes_per_s")
    if disk:
        lines.append(
            f"disk under the run files, sustained with fsync: {disk / 1e6:.0f} MB/s "
            f"({disk / 11e6:.0f} Mtags/s of uncompressed T3 tags)"
        )
    return "\n".join(lines)
