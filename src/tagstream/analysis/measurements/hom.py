"""HOM two-photon interference of consecutive photons (see :mod:`~tagstream.analysis.hom`).

Runs when ``[analysis.hom]`` is given: ``pair`` (the interferometer's output detectors; the
HBT pair by default), ``polarisation`` (``"parallel"``, the default, or ``"crossed"``: the
reference run, M = 0), the splitters' ``short_share`` and ``reflectance`` (0.5), the source's
``g2_zero`` and ``g2_zero_err`` (from an HBT run; 0 by default, with a note), and for a parallel
run ``crossed_ratio`` and ``crossed_ratio_err``: the crossed run's ratio (its ``hom.ratio``),
which gives V_HOM and M from the two runs. Series ``hom``: the pair series' layout.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

from ...errors import AnalysisError
from ..formatting import value_with_error
from ..g2 import G2Result
from ..hom import Indistinguishability, Interferometer, hom_peaks, indistinguishability
from ..measurement import Panel, register
from ..series import RecordedSeries
from ..summary_settings import SummarySettings
from ..view_panel import Number, ViewPanel
from .cascade_view import peaks_panel
from .pair_kind import PairMeasurement

NUMBERS = ("short_share", "reflectance", "g2_zero", "g2_zero_err", "crossed_ratio",
           "crossed_ratio_err")  # fmt: skip
KEYS = (
    "pair", "polarisation", "ratio", "ratio_err", "areas", "period_ns", "zero_delay_ns",
    "indistinguishability", "indistinguishability_err", "visibility", "visibility_err",
    "reference", "short_share", "reflectance", "g2_zero",
)  # fmt: skip


@register
class HomMeasurement(PairMeasurement):
    """The five-peak HOM pattern, V_HOM and the indistinguishability M."""

    kind = "hom"
    label = "HOM M"
    channel_keys = ("pair",)
    other_keys = ("polarisation", *NUMBERS)
    description = "HOM: coincidences of the interferometer's outputs per lag bin."
    values: ClassVar[Mapping[str, Any]] = {"hom": None, "hom_value": None}

    @classmethod
    def needed(cls) -> tuple[str, ...]:
        """Nothing: the pair defaults to the HBT pair."""
        return ()

    @classmethod
    def check_settings(cls, table: Mapping[str, Any]) -> None:
        """Known keys, shares in (0, 1), g2(0) and errors not negative, a crossed ratio only
        for a parallel run."""
        super().check_settings(table)
        where = f"[analysis.{cls.kind}]"
        _check_numbers(table, where)
        for key in ("short_share", "reflectance"):
            if key in table and not 0 < table[key] < 1:
                raise AnalysisError(f"{where} {key}: between 0 and 1, got {table[key]!r}")
        if table.get("g2_zero", 0) > 1:
            raise AnalysisError(f"{where} g2_zero: the source's g2(0), at most 1 for HOM")
        if table.get("polarisation", "parallel") not in ("parallel", "crossed"):
            raise AnalysisError(f"{where} polarisation: 'parallel' or 'crossed'")
        if "crossed_ratio_err" in table and "crossed_ratio" not in table:
            raise AnalysisError(f"{where} crossed_ratio_err: give crossed_ratio with it")
        crossed = "crossed_ratio" in table
        if crossed and table.get("polarisation", "parallel") != "parallel":
            raise AnalysisError(f"{where} crossed_ratio: the reference of a parallel run")
        if crossed and not table["crossed_ratio"] > 0:
            raise AnalysisError(f"{where} crossed_ratio: must be positive")
        pair = table.get("pair")
        if pair is not None and (not isinstance(pair, list | tuple) or len(pair) != 2
                                 or not all(isinstance(p, str | int) for p in pair)
                                 or pair[0] == pair[1]):  # fmt: skip
            raise AnalysisError(f"{where} pair: give two different channel names")

    @classmethod
    def channels_of(cls, own: Mapping[str, Any], settings: SummarySettings) -> tuple[Any, Any]:
        """``pair``, else the HBT pair."""
        pair = own.get("pair") or settings.g2_pair
        if pair is None:
            raise AnalysisError("[analysis.hom] pair: no HBT pair in the run; name the outputs")
        return tuple(pair)

    @classmethod
    def estimate(cls, result: G2Result, settings: Any) -> Indistinguishability:
        """M (and V_HOM with a crossed ratio) from the peaks of ``result``."""
        own = cls.own_settings(settings)
        setup = Interferometer(**{k: float(own[k]) for k in NUMBERS[:4] if k in own})
        peaks = hom_peaks(result, delays_given=bool(settings.delays))
        crossed = None
        if "crossed_ratio" in own:
            crossed = (float(own["crossed_ratio"]), float(own.get("crossed_ratio_err", 0.0)))
        value = indistinguishability(peaks, setup, crossed)
        if tuple(result.channels) == tuple(settings.g2_pair or ()):
            value = _with_warning(value, "the run's HBT pair is the interferometer's outputs: "
                                         "its g2(0) line is the HOM pattern's, not the "
                                         "source's")  # fmt: skip
        if "g2_zero" not in own:
            value = _with_warning(value, "the source's g2(0) is taken as 0: give [analysis.hom] "
                                         "g2_zero from an HBT run")  # fmt: skip
        return value

    @classmethod
    def panel(cls, result: G2Result, value: Any, note: str | None,
              series: RecordedSeries) -> ViewPanel:  # fmt: skip
        """The five peaks with M and V_HOM."""
        notes: tuple[str, ...] = () if note is None else (f"M not available: {note}",)
        numbers = [Number("hom_m", "indistinguishability M", None)]
        centres, period = [], 0.0
        if value is not None:
            notes += value.warnings
            period = value.period_ps
            centres = [value.peaks.offset_ps + m * period for m in value.peaks.areas]
            numbers = [
                Number("hom_m", "indistinguishability M", value.value, value.error),
                Number("hom_ratio", "zero / ±1 peaks", value.peaks.ratio, value.peaks.ratio_err),
                Number("hom_v", "V_HOM", value.visibility, value.visibility_err),
            ]
        return peaks_panel("hom", "HOM interference", "coincidences / uncorrelated", result,
                           centres, period, numbers, notes, series)  # fmt: skip

    @classmethod
    def blocks(cls, summary: Any) -> dict[str, dict[str, Any]]:
        """The ``"hom"`` block (see the README)."""
        block = dict.fromkeys(KEYS)
        result, value = summary.hom, summary.hom_value
        own = cls.own_settings(summary.settings)
        if result is not None:
            block |= {"pair": list(result.channels),
                      "polarisation": own.get("polarisation", "parallel")}  # fmt: skip
        if value is not None:
            p = value.peaks
            block |= {
                "ratio": p.ratio, "ratio_err": p.ratio_err, "period_ns": p.period_ps / 1e3,
                "areas": {str(k): v for k, v in sorted(p.areas.items())},
                "zero_delay_ns": p.offset_ps / 1e3, "indistinguishability": value.value,
                "indistinguishability_err": value.error, "visibility": value.visibility,
                "visibility_err": value.visibility_err, "reference": value.reference,
                "short_share": float(own.get("short_share", 0.5)),
                "reflectance": float(own.get("reflectance", 0.5)),
                "g2_zero": float(own.get("g2_zero", 0.0)),
            }  # fmt: skip
        note = summary.note(cls.kind)
        if not cls.configured(summary.settings):
            note = "not requested: give [analysis.hom] (a run through the interferometer)"
        return {cls.kind: block | {"note": note}}

    @classmethod
    def lines(cls, summary: Any) -> list[tuple[str, str]]:
        """``HOM: M = 0.88 ± 0.03, V_HOM = 0.85 ± 0.02 (against the crossed run; ...)``."""
        if not cls.configured(summary.settings):
            return []
        value = summary.hom_value
        if value is None:
            return [(cls.kind, "HOM: not available")]
        p = value.peaks
        ratio = f"zero / ±1 peaks {value_with_error(p.ratio, p.ratio_err)}"
        if cls.own_settings(summary.settings).get("polarisation") == "crossed":
            return [(cls.kind, f"HOM (crossed polarisations, the reference): {ratio} — give it "
                               "as crossed_ratio to the parallel run; M = "
                               f"{value_with_error(value.value, value.error)} (0 expected)")]
        head = f"HOM: M = {value_with_error(value.value, value.error)}"
        if value.visibility is not None:
            head += f", V_HOM = {value_with_error(value.visibility, value.visibility_err)}"
        return [(cls.kind, f"{head} ({ratio}; against the {value.reference})")]

    @classmethod
    def panels(cls, summary: Any) -> list[Panel]:
        """The five-peak pattern (slot 5), when configured."""
        if not cls.configured(summary.settings):
            return []

        def draw(fig: Any, cell: Any) -> None:
            from ..plots_hom import plot_hom

            plot_hom(fig.add_subplot(cell), summary.hom, summary.hom_value,
                     summary.notes_for(cls.kind))  # fmt: skip

        return [Panel(5, draw)]


def _check_numbers(table: Mapping[str, Any], where: str) -> None:
    """Each number setting finite and not negative."""
    for key in NUMBERS:
        value = table.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise AnalysisError(f"{where} {key}: a number, got {value!r}")
        if not math.isfinite(value) or value < 0:
            raise AnalysisError(f"{where} {key}: a finite number >= 0, got {value!r}")


def _with_warning(value: Indistinguishability, text: str) -> Indistinguishability:
    from dataclasses import replace

    return replace(value, warnings=(*value.warnings, text))
