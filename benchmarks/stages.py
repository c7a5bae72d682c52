"""Where the live pipeline's time goes: each stage alone, in CPU time per tag.

The pipeline of ``tagstream run``/``replay`` reads tags, sends them through ZeroMQ, analyses them
and writes them to a run file, all at once on the same cores. Each stage is timed here alone on
the pipeline's own input (the recorded T3 run of :mod:`.pipeline`), in wall-clock rate and in
CPU time (every thread of the process), so the table says what each stage costs and how fast
this machine could go if that stage were all there was. The sum of the CPU times bounds the
whole pipeline: with ``cores`` cores busy all the time it runs at most ``cores / sum`` tags/s.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tagstream.analysis.measurement import build_measurements
from tagstream.analysis.summary_settings import SummarySettings, resolve_settings
from tagstream.pipeline.allocator import reuse_freed_memory
from tagstream.sources.files import open_run
from tagstream.store.packing import DEFAULT_COMPRESSION
from tagstream.store.run_writer import RunWriter
from tagstream.transport.wire import decode, encode_batch

from .pipeline import record_input

STAGE = "live pipeline stage, alone"


def _timed(fn: Callable[[], object]) -> tuple[float, float]:
    """Wall-clock and CPU seconds (all threads) of ``fn()``, the better of two runs."""
    best = (float("inf"), float("inf"))
    for _ in range(2):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        best = min(best, (time.perf_counter() - wall, time.process_time() - cpu))
    return best


def measure_stages(
    add_row: Callable[..., object],
    sum_rate: float,
    cores: int,
    seconds: float = 2.0,
    say: Callable[[str], None] = lambda _m: None,
) -> dict:
    """A row per stage (wall-clock rate; the note gives CPU ns per tag) and the bound of the
    whole pipeline; returns ``{stage: cpu_ns_per_tag}``."""
    reuse_freed_memory()  # as the live commands do
    with tempfile.TemporaryDirectory() as where:
        folder = Path(where)
        say("stages: recording the input")
        source = record_input(folder, seconds)
        run = open_run(source)
        batches = list(run.batches())
        n = sum(len(b) for b in batches)
        md = run.metadata
        settings, notes = resolve_settings(SummarySettings(), md)

        def read() -> None:
            for _ in open_run(source).batches():
                pass

        def wire() -> None:
            for k, b in enumerate(batches):
                decode([bytes(f) if not isinstance(f, bytes) else f for f in encode_batch(b, 1, k)])

        def write() -> None:
            out = folder / "stage.h5"
            out.unlink(missing_ok=True)
            with RunWriter(out, md, compression=DEFAULT_COMPRESSION) as writer:
                for b in batches:
                    writer.append(b)

        stages: list[tuple[str, Callable[[], object]]] = [
            ("read the recorded file (replay source)", read),
            ("ZeroMQ wire format: encode + check + decode", wire),
            (f"write the run file ({DEFAULT_COMPRESSION})", write),
        ]
        for m in build_measurements(settings, md, notes, True):

            def analyse(kind: str = m.kind) -> None:
                (fresh,) = [
                    x for x in build_measurements(settings, md, [], True) if x.kind == kind
                ]
                for b in batches:
                    fresh.process(b)

            stages.append((f"analysis: {m.kind}", analyse))
        cost: dict[str, float] = {}
        for label, fn in stages:
            say(f"stages: {label}")
            wall, cpu = _timed(fn)
            cost[label] = cpu / n * 1e9
            add_row(
                STAGE, label, n, n / wall, n / wall / sum_rate,
                None, None, None, f"{cost[label]:.1f} ns of CPU per tag",
            )  # fmt: skip
        total = sum(cost.values())
        add_row(
            STAGE, f"all stages: bound on {cores} cores", n,
            cores / total * 1e9, cores / total * 1e9 / sum_rate, None, None, None,
            f"{total:.1f} ns of CPU per tag in all",
        )  # fmt: skip
        return cost
