"""The biexciton–exciton (XX–X) cross-correlation of two spectrally filtered channels.

A biexciton decays in a cascade: the XX photon, then the X photon of the exciton it leaves.
Between a channel that sees the XX line and one that sees the X line, the zero-delay peak is
bunched (an XX photon announces an X photon of the same pulse), and the X photon comes after the
XX photon by the exciton's decay. Under pulsed excitation the bunching amplitude is the
zero-delay peak area over the mean area of the two adjacent peaks: 1/P(an exciton formed per
pulse) for an ideal cascade (the yields cancel), so it grows as the excitation weakens (Moreau
et al., Phys. Rev. Lett. 87, 183601, 2001).

Runs when ``[analysis.xx_x]`` names the channels: ``biexciton``, ``exciton``; optional
``window`` (default 2.6 laser periods, else 50 ns) and ``bin`` (default 100 ps). Series
``xx_x``: the pair series' layout (:mod:`.pair_series`), τ = t_X − t_XX.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar

import numpy as np

from ...errors import AnalysisError
from ..formatting import value_with_error
from ..g2 import G2Result
from ..g2_pulsed import pulsed_g2_zero
from ..g2_pulsed_result import PulsedG2
from ..measurement import Panel, register
from ..series import RecordedSeries
from ..summary_settings import SummarySettings
from ..view_panel import ViewPanel
from .cascade_view import xx_x_panel
from .g2 import excitation
from .pair_kind import PairMeasurement

#: Side peaks that differ by more standard deviations than this are not averaged.
SIDE_ASYMMETRY_SIGMA = 3.0
KEYS = ("pair", "excitation", "period_ns", "bunching", "bunching_err", "zero_delay_ns", "areas")


@register
class XXXMeasurement(PairMeasurement):
    """The XX–X cross-correlation and its bunching amplitude."""

    kind = "xx_x"
    label = "XX–X"
    channel_keys = ("biexciton", "exciton")
    description = "XX–X cross-correlation: coincidences per lag bin (τ = t_X − t_XX)."
    values: ClassVar[Mapping[str, Any]] = {"xx_x": None, "xx_x_value": None}

    @classmethod
    def channels_of(cls, own: Mapping[str, Any], settings: SummarySettings) -> tuple[Any, Any]:
        """``biexciton`` (start) and ``exciton`` (stop)."""
        return own["biexciton"], own["exciton"]

    @classmethod
    def estimate(cls, result: G2Result, settings: Any) -> PulsedG2:
        """The bunching amplitude (:func:`bunching_of`)."""
        return bunching_of(result, settings.excitation)

    @classmethod
    def panel(cls, result: G2Result, value: Any, note: str | None,
              series: RecordedSeries) -> ViewPanel:  # fmt: skip
        """The cross-correlation with the bunching."""
        return xx_x_panel(result, value, note, series)

    @classmethod
    def blocks(cls, summary: Any) -> dict[str, dict[str, Any]]:
        """The ``"xx_x"`` block: the pair, the bunching amplitude and its error, the zero-delay
        peak's position (ns) and the three peak areas."""
        block = dict.fromkeys(KEYS)
        g, b = summary.xx_x, summary.xx_x_value
        if g is not None:
            block |= {"pair": list(g.channels),
                      "excitation": excitation(g, summary.settings.excitation)}  # fmt: skip
        if b is not None:
            block |= {
                "period_ns": b.period_ps / 1e3, "bunching": b.value, "bunching_err": b.error,
                "zero_delay_ns": b.offset_ps / 1e3,
                "areas": {str(k): v for k, v in sorted(b.areas.items())},
            }  # fmt: skip
        note = summary.note(cls.kind)
        if not cls.configured(summary.settings):
            note = "not requested: name the channels in [analysis.xx_x] biexciton, exciton"
        return {cls.kind: block | {"note": note}}

    @classmethod
    def lines(cls, summary: Any) -> list[tuple[str, str]]:
        """``XX–X bunching = 9.1 ± 0.3 (XX→X, pulsed, peak areas)``."""
        if not cls.configured(summary.settings):
            return []
        g, b = summary.xx_x, summary.xx_x_value
        if b is None:
            return [(cls.kind, "XX–X bunching: not available")]
        return [(cls.kind, f"XX–X bunching = {value_with_error(b.value, b.error)} "
                           f"({'→'.join(g.channels)}, pulsed, peak areas)")]  # fmt: skip

    @classmethod
    def panels(cls, summary: Any) -> list[Panel]:
        """The cross-correlation (slot 5), when configured."""
        if not cls.configured(summary.settings):
            return []

        def draw(fig: Any, cell: Any) -> None:
            from ..plots_triples import plot_xx_x

            plot_xx_x(fig.add_subplot(cell), summary.xx_x, summary.xx_x_value,
                      summary.notes_for(cls.kind))  # fmt: skip

        return [Panel(5, draw)]


def _dead_time_side(areas: PulsedG2) -> tuple[PulsedG2, tuple[str, ...]]:
    """When the peaks at −1 and +1 period differ by more than :data:`SIDE_ASYMMETRY_SIGMA`
    (a detector dead longer than a period misses the pulse after its click, so the peak after
    the bunched one is depleted), the bunching over the larger side peak, with a warning."""
    before, zero, after = areas.areas[-1], areas.areas[0], areas.areas[1]
    if abs(before - after) <= SIDE_ASYMMETRY_SIGMA * np.sqrt(max(before + after, 1.0)):
        return areas, ()
    side = max(before, after)
    value = zero / side
    error = value * np.sqrt(1 / max(zero, 1.0) + 1 / side)
    text = (
        f"the peaks at -1 and +1 period differ ({before:.0f} and {after:.0f} coincidences): a "
        "detector's dead time longer than the period depletes the peak after the bunched one; "
        f"the bunching is over the larger ({value:.4g}; over their mean {areas.value:.4g})"
    )
    return replace(areas, value=float(value), error=float(error)), (text,)


def bunching_of(result: G2Result, requested: str) -> PulsedG2:
    """The bunching amplitude: zero-delay peak area over the mean adjacent peak area (one-period
    windows; the peak nearest zero lag after the delays given).

    Raises
    ------
    AnalysisError
        CW excitation, a channel without photons, or a window too short.
    """
    for label, n in zip(result.channels, (result.n_a, result.n_b), strict=True):
        if n == 0:
            raise AnalysisError(f"no photons on {label}")
    if excitation(result, requested) != "pulsed":
        raise AnalysisError(
            "the bunching amplitude is a ratio of pulsed peak areas; under CW excitation only "
            "the histogram is kept"
        )
    areas = pulsed_g2_zero(result.edges_ps, result.counts, result.expected, result.period_ps,
                           method="window", search_zero_peak=False)  # fmt: skip
    # the comb's warnings hold; those about a g2(0) (above 1, uninformative) do not apply
    kept = tuple(w for w in areas.warnings if not w.startswith("g2(0)"))
    areas, more = _dead_time_side(areas)
    kept += more
    if areas.error > 0.5 * areas.value:
        kept += (f"the bunching {areas.value:.3g} ± {areas.error:.2g} is uncertain: record longer",)
    return replace(areas, warnings=kept)
