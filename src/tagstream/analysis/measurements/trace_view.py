"""The trace panel of the live web view: the intensity trace with the blinking thresholds and,
on the same rate axis, its occurrence histogram, with the time fractions ON, grey and OFF."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from ..plots_axes import duration_text
from ..plots_occurrence import coarse
from ..series import RecordedSeries
from ..trace import TraceResult
from ..view_panel import MAX_POINTS, Figure, Number, ViewPanel, end_of, shown_span

STATES = ("on", "grey", "off")


def trace_panels(
    read: Callable[[Mapping[str, RecordedSeries]], TraceResult],
    series: Mapping[str, RecordedSeries], since: Mapping[str, RecordedSeries] | None,
    blinking_name: str,
) -> list[ViewPanel]:  # fmt: skip
    """The trace panel (the trace and its occurrence histogram) of the last snapshots (``read``:
    the kind's ``result_from``), of the bins since ``since`` when given; none without a trace
    snapshot. The blinking fractions stay those of the whole segment (said in a note)."""
    s = series.get("trace")
    if s is None or not len(s):
        return []
    after_ps = end_of(since, "trace")
    trace = read(series)
    covered = shown_span(s, after_ps)
    blinking = series.get(blinking_name)
    # published when its newest input was: the trace's snapshot or the blinking fit made later
    published = float(s.wall_time_s[-1])
    if blinking is not None and len(blinking):
        published = max(published, float(blinking.wall_time_s[-1]))
    thresholds_cps, fractions, exponents = _blinking(blinking)
    fitted = int(blinking.covered_ps[-1, 1]) if blinking is not None and len(blinking) else None
    bin_text = duration_text(trace.bin_ps)
    starts = trace.t0_ps + trace.bin_ps * np.arange(trace.exposure_ps.size, dtype=np.int64)
    full = (trace.exposure_ps == trace.bin_ps) & (starts >= covered[0])
    t_s, rate = trace.t_s[full], trace.rate_cps[full]
    t_s, rate = t_s[-MAX_POINTS:], rate[-MAX_POINTS:]  # the latest bins
    per_s = 1e12 / trace.bin_ps  # counts per bin -> cps
    fig = Figure("time (s)", f"count rate (cps, {bin_text} bins)")
    fig.line(t_s, rate, "+".join(trace.channels), steps=True)
    counts = trace.counts[full]
    if counts.size:  # beside it, on the same rate axis: how often each rate occurred
        occurrences = np.bincount(counts.astype(np.int64))
        levels, grouped = coarse(np.arange(occurrences.size, dtype=float), occurrences)
        fig.side_histogram(levels * per_s, grouped, "trace bins", "trace bins")
    for level_cps in thresholds_cps:
        fig.level(level_cps)
    numbers = [Number(f"{state}_fraction", state.upper(), f, end_ps=fitted) for state, f in
               zip(STATES, fractions, strict=True)]  # fmt: skip
    numbers += [Number(f"{state}_exponent", f"α {state.upper()}", e, end_ps=fitted) for state, e
                in zip(("on", "off"), exponents, strict=True)]  # fmt: skip
    notes: tuple[str, ...] = ()
    if blinking is None or not len(blinking):
        notes = ("blinking statistics not available yet (too few full trace bins)",)
    elif None in exponents:
        notes = ("dwell-time power laws (α): too few ON or OFF dwells so far",)
    if after_ps is not None:
        notes += ("the fractions and α are of the whole segment, not only the bins shown",)
    if fitted is not None and fitted < covered[1]:
        seconds = (fitted - s.covered_ps[-1, 0]) / 1e12
        notes += (f"the fractions and α are of the first {seconds:.1f} s (the blinking fit is "
                  "made less often than the trace grows)",)  # fmt: skip
    return [ViewPanel("trace", "intensity trace and occurrences", 30, fig.to_dict(),
                      tuple(numbers), notes, covered, published)]  # fmt: skip


def _blinking(blinking: RecordedSeries | None) -> tuple[list[float], list, list]:
    """Thresholds (cps), fractions and exponents of the last blinking snapshot."""
    if blinking is None or not len(blinking):
        return [], [None] * 3, [None] * 2
    thresholds_cps = [float(v) for v in blinking.fields["thresholds_cps"][-1] if np.isfinite(v)]
    fractions = [float(v) for v in blinking.fields["fractions"][-1]]
    exponents = [float(v) if np.isfinite(v) else None for v in blinking.fields["exponents"][-1]]
    return thresholds_cps, fractions, exponents
