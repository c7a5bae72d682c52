"""The trace panels of the live web view: the intensity trace with the blinking thresholds,
and its occurrence histogram with the time fractions ON, grey and OFF."""

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
    """The trace panel and the occurrence panel of the last snapshots (``read``: the kind's
    ``result_from``), of the bins since ``since`` when given; none without a trace snapshot.
    The blinking fractions stay those of the whole segment (said in a note)."""
    s = series.get("trace")
    if s is None or not len(s):
        return []
    after_ps = end_of(since, "trace")
    trace = read(series)
    covered = shown_span(s, after_ps)
    published = float(s.wall_time_s[-1])
    blinking = series.get(blinking_name)
    thresholds, fractions, exponents = _blinking(blinking)
    fitted = int(blinking.covered_ps[-1, 1]) if blinking is not None and len(blinking) else None
    bin_text = duration_text(trace.bin_ps)
    starts = trace.t0_ps + trace.bin_ps * np.arange(trace.exposure_ps.size, dtype=np.int64)
    full = (trace.exposure_ps == trace.bin_ps) & (starts >= covered[0])
    t_s, rate = trace.t_s[full], trace.rate_cps[full]
    t_s, rate = t_s[-MAX_POINTS:], rate[-MAX_POINTS:]  # the latest bins
    fig = Figure("time (s)", f"count rate (cps, {bin_text} bins)")
    fig.line(t_s, rate, "+".join(trace.channels), steps=True)
    for level in thresholds:
        fig.level(level * 1e12 / trace.bin_ps)
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
    base = {"covered_ps": covered, "published_s": published}
    panels = [
        ViewPanel("trace", "intensity trace", 30, fig.to_dict(), tuple(numbers), notes, **base)
    ]
    counts = trace.counts[full]
    if counts.size:
        top = int(counts.max())
        occurrences = np.bincount(counts.astype(np.int64), minlength=top + 1)
        levels, grouped = coarse(np.arange(top + 1, dtype=float), occurrences)
        width = float(levels[1] - levels[0]) if levels.size > 1 else 1.0
        occ = Figure(f"counts per {bin_text} bin", "trace bins")
        occ.bars(levels, grouped, "trace bins", width)
        for level in thresholds:
            occ.level(level, x=True)
        panels.append(ViewPanel("occurrences", "occurrence histogram", 31, occ.to_dict(),
                                (), (), **base))  # fmt: skip
    return panels


def _blinking(blinking: RecordedSeries | None) -> tuple[list[float], list, list]:
    """Thresholds (counts per bin), fractions and exponents of the last blinking snapshot."""
    if blinking is None or not len(blinking):
        return [], [None] * 3, [None] * 2
    bin_ps = int(blinking.attrs["bin_ps"])
    cps = blinking.fields["thresholds_cps"][-1]
    thresholds = [float(v) * bin_ps / 1e12 for v in cps if np.isfinite(v)]
    fractions = [float(v) for v in blinking.fields["fractions"][-1]]
    exponents = [float(v) if np.isfinite(v) else None for v in blinking.fields["exponents"][-1]]
    return thresholds, fractions, exponents
