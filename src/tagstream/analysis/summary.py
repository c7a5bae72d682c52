"""The run summary: one pass over a run's batches through every streaming analyzer, then the fits.

:func:`summarize` feeds each batch to the g2, decay, trace and FLID analyzers at once and tallies
the tags per channel and the live time, so a run that does not fit in memory is read once. The
fits follow: g2(0) (pulsed or CW), the lifetime with automatic model selection, and the blinking
thresholds. A part that cannot be computed from the data (one detector, no sync period, no
antibunching, a trace that does not blink) is left out and the reason is kept in
:attr:`RunSummary.notes`; a setting the user got wrong (a channel, bin or window the run cannot
use) raises :class:`AnalysisError` or :class:`ChannelError` before the pass starts.

:meth:`RunSummary.to_dict` gives the summary JSON of ``tagstream analyze --json`` and
:meth:`RunSummary.text` the human summary.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import AnalysisError, FitError, TagstreamError
from ..tags import Role, RunMetadata, TagBatch, parse_time
from .blinking import BlinkingResult
from .decay_fit import MODELS, DecayFit
from .flid import FlidAnalyzer, FlidResult
from .g2 import G2Analyzer, G2Result
from .g2_fits import CWG2Fit, find_period
from .g2_zero import EXCITATIONS, G2Zero, estimate_g2_zero
from .lifetime import DecayResult, LifetimeAnalyzer
from .poisson_fit import poisson_deviance
from .stream import Coverage
from .trace import TraceAnalyzer, TraceResult

__all__ = [
    "RunSummary",
    "SummarySettings",
    "default_g2_binning",
    "default_lifetime_bin",
    "fit_lifetime",
    "resolve_settings",
    "summarize",
    "value_with_error",
]

PS_PER_S = 10**12
#: g2 under CW excitation (or pulsed with an unknown period): lag window each side and bin, ps.
CW_WINDOW_PS = 100_000
CW_BIN_PS = 100
#: Pulsed g2: the window reaches at least this many laser periods each side ...
PULSED_WINDOW_PERIODS = 3.5
#: ... in bins of about a period / this number.
PULSED_BINS_PER_PERIOD = 250
#: Decay histogram: bin width, ps, coarsened so that one period holds at most LIFETIME_MAX_BINS.
LIFETIME_BIN_PS = 16
LIFETIME_MAX_BINS = 4096
#: Fewest full trace bins for a blinking analysis.
MIN_BLINKING_BINS = 10
#: A lifetime component is resolved when it lies this many standard errors above zero.
MIN_TAU_SIGNIFICANCE = 3.0
#: A CW antibunching dip must lower the Poisson deviance by this much against a flat g2 (the
#: fit may place the dip anywhere in the window, so noise offers many places to choose from).
MIN_DIP_DEVIANCE_DROP = 25.0

PULSED_METHODS = ("auto", "window", "fit")
LIFETIME_MODELS = ("auto", *MODELS)
IRFS = ("gaussian", "none")

TimeLike = str | int
ChannelKey = str | int


@dataclass(frozen=True)
class SummarySettings:
    """What :func:`summarize` computes, as in the ``[analysis]`` table of a run config.

    Times are strings with a unit (``"10 ms"``) or integer ps; ``None`` picks the default
    described for each field once the run's metadata is known (:func:`resolve_settings`).

    Attributes
    ----------
    g2_pair
        Start and stop detector of the HBT cross-correlation; default: the metadata's
        ``hbt_pair``, else the first two detector channels.
    g2_window, g2_bin
        Lag window each side and bin width of g2(τ). Default for pulsed excitation (laser period
        known): at least 3.5 periods each side, so that the peaks at ±1 period and their
        neighbours fit, in bins of about period / 250 rounded to whole ps (the window is a whole
        number of bins). Otherwise ±100 ns in 100 ps bins.
    excitation
        ``"auto"`` (pulsed when the laser period is known or the histogram shows periodic peaks,
        else CW), ``"pulsed"`` or ``"cw"``. A CW g2(0) is reported only for a real dip:
        g2(0) < 1 and a Poisson deviance at least 25 below that of a flat g2.
    g2_method
        Pulsed g2(0) from one-period ``"window"`` sums, a ``"fit"`` of the peak comb, or
        ``"auto"`` (windows when peaks do not leak out of them).
    lifetime_channel
        Detector of the decay histogram; default: the first of the g2 pair, else the first
        detector.
    lifetime_bin
        Decay bin width; default 16 ps, widened so that one sync period holds at most 4096
        bins, and in T3 the nearest whole multiple of the nanotime unit at or above that.
    lifetime_model
        ``"mono"``, ``"bi"``, ``"tri"`` or ``"auto"``: fit one, two, three exponentials in
        turn and keep adding a component only while the likelihood-ratio test rejects the
        simpler model at ``model_significance`` (deviance drop above the χ²(2) quantile
        ``-2 ln(significance)``, 13.8 at 0.1 %) and every lifetime of the larger model lies at
        least three standard errors above zero.
    model_significance
        Significance level of that test.
    irf
        Instrument response of the lifetime fit: ``"gaussian"`` (reconvolution, width fitted
        unless ``irf_sigma`` is given) or ``"none"`` (tail fit from the maximum).
    irf_sigma
        Fixed width (standard deviation) of the Gaussian IRF.
    trace_bin
        Bin of the intensity trace and the blinking analysis (default 10 ms).
    thresholds_cps
        One (OFF / ON) or two (OFF / grey / ON) intensity thresholds, counts/s; default:
        automatic (Poisson-mixture fit of the occurrence histogram).
    n_states
        2 or 3 states for the automatic thresholds; ``None`` lets BIC choose.
    flid_bin
        Time bin of the FLID map; default: the trace bin.
    """

    g2_pair: tuple[ChannelKey, ChannelKey] | None = None
    g2_window: TimeLike | None = None
    g2_bin: TimeLike | None = None
    excitation: str = "auto"
    g2_method: str = "auto"
    lifetime_channel: ChannelKey | None = None
    lifetime_bin: TimeLike | None = None
    lifetime_model: str = "auto"
    model_significance: float = 1e-3
    irf: str = "gaussian"
    irf_sigma: TimeLike | None = None
    trace_bin: TimeLike = "10 ms"
    thresholds_cps: tuple[float, ...] | None = None
    n_states: int | None = None
    flid_bin: TimeLike | None = None

    def __post_init__(self) -> None:
        if self.g2_pair is not None:
            pair = tuple(self.g2_pair)
            if len(pair) != 2 or pair[0] == pair[1]:
                raise AnalysisError(f"g2_pair: give two different channels, got {self.g2_pair!r}")
            object.__setattr__(self, "g2_pair", pair)
        if self.thresholds_cps is not None:
            object.__setattr__(self, "thresholds_cps", _thresholds(self.thresholds_cps))
        _choice("excitation", self.excitation, EXCITATIONS)
        _choice("g2_method", self.g2_method, PULSED_METHODS)
        _choice("lifetime_model", self.lifetime_model, LIFETIME_MODELS)
        _irf_choice(self.irf)
        if self.n_states not in (None, 2, 3):
            raise AnalysisError(f"n_states must be 2, 3 or absent, got {self.n_states!r}")
        if not isinstance(self.model_significance, float | int) or not (
            0 < self.model_significance < 1
        ):
            raise AnalysisError(
                f"model_significance must lie between 0 and 1, got {self.model_significance!r}"
            )
        if self.irf_sigma is not None and self.irf != "gaussian":
            raise AnalysisError("irf_sigma is the width of a Gaussian IRF: it needs irf='gaussian'")
        for name in ("g2_window", "g2_bin", "lifetime_bin", "irf_sigma", "trace_bin", "flid_bin"):
            value = getattr(self, name)
            if value is not None and parse_time(value, name) <= 0:
                raise AnalysisError(f"{name} must be positive, got {value!r}")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SummarySettings:
        """Settings from a config's ``[analysis]`` table (keys = the attribute names).

        Raises
        ------
        AnalysisError
            An unknown key or an invalid value.
        """
        known = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(d) - set(known))
        if unknown:
            raise AnalysisError(
                f"[analysis]: unknown setting(s) {', '.join(unknown)}; known: {', '.join(known)}"
            )
        return cls(**dict(d))


def _choice(name: str, value: object, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise AnalysisError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")


def _irf_choice(value: object) -> None:
    if value == "measured":
        raise AnalysisError(
            "irf: 'measured' needs an IRF histogram, which the run summary does not take; "
            "use 'gaussian' or 'none'"
        )
    _choice("irf", value, IRFS)


def _thresholds(values: Iterable[float]) -> tuple[float, ...]:
    try:
        thr = tuple(float(v) for v in values)
    except (TypeError, ValueError) as exc:
        raise AnalysisError(f"thresholds_cps: numbers expected, got {values!r}") from exc
    ok = len(thr) in (1, 2) and all(math.isfinite(t) and t > 0 for t in thr)
    if not ok or (len(thr) == 2 and thr[1] <= thr[0]):
        raise AnalysisError(f"thresholds_cps: one or two increasing rates (counts/s), got {thr}")
    return thr


# ---------------------------------------------------------------------------------- defaults
def default_g2_binning(period_ps: float | None) -> tuple[int, int]:
    """Default g2 lag window (each side) and bin width, ps.

    Pulsed (``period_ps`` given): bin = period / 250 rounded to whole ps (at least 1), window =
    the smallest whole number of bins reaching 3.5 periods. CW: ±100 ns in 100 ps bins.
    """
    if period_ps is None:
        return CW_WINDOW_PS, CW_BIN_PS
    width = max(1, round(period_ps / PULSED_BINS_PER_PERIOD))
    return math.ceil(PULSED_WINDOW_PERIODS * period_ps / width) * width, width


def default_lifetime_bin(period_ps: float | None, unit_ps: float | None = None) -> int:
    """Default decay bin width, ps: 16 ps, widened so that a period holds at most 4096 bins,
    then (T3) raised to the nearest whole multiple of the nanotime unit ``unit_ps`` that is a
    whole number of ps."""
    target = float(LIFETIME_BIN_PS)
    if period_ps is not None:
        target = max(target, period_ps / LIFETIME_MAX_BINS)
    if unit_ps is None:
        return math.ceil(target - 1e-9)
    first = max(1, math.ceil(target / unit_ps - 1e-9))
    for k in range(first, first + 10_000):
        width = k * unit_ps
        if abs(width - round(width)) <= 1e-9 * width:
            return round(width)
    raise AnalysisError(
        f"lifetime: no whole-ps bin is a multiple of the nanotime unit ({unit_ps:g} ps)"
    )


def _largest_divisor(total: int, at_most: int) -> int:
    for width in range(max(1, min(at_most, total)), 0, -1):
        if total % width == 0:
            return width
    return 1


def _g2_binning(settings: SummarySettings, period_ps: float | None) -> tuple[int, int]:
    """Window and bin from the settings, defaults filling what is not given."""
    pulsed = period_ps is not None and settings.excitation != "cw"
    window, width = default_g2_binning(period_ps if pulsed else None)
    if settings.g2_bin is not None:
        width = parse_time(settings.g2_bin, "g2_bin")
        if settings.g2_window is None:
            window = math.ceil(window / width) * width
    if settings.g2_window is not None:
        window = parse_time(settings.g2_window, "g2_window")
        if settings.g2_bin is None:
            width = _largest_divisor(window, width)
    if window % width:
        raise AnalysisError(f"g2_bin ({width} ps) must divide g2_window ({window} ps)")
    return window, width


# ---------------------------------------------------------------------------------- resolution
def resolve_settings(
    settings: SummarySettings, metadata: RunMetadata
) -> tuple[SummarySettings, list[str]]:
    """Fill in the defaults that depend on the run, with channels as names and times as ps.

    Returns the resolved settings and notes on the parts that the metadata rules out (their
    channel or bin is then ``None``).

    Raises
    ------
    AnalysisError, ChannelError
        A channel, bin or window given in ``settings`` that the run cannot use.
    """
    notes: list[str] = []
    pair = _resolve_pair(settings, metadata, notes)
    window, width = _g2_binning(settings, metadata.laser_period_ps)
    channel = _resolve_lifetime_channel(settings, metadata, pair, notes)
    lifetime_bin = _resolve_lifetime_bin(settings, metadata) if channel is not None else None
    trace_bin = parse_time(settings.trace_bin, "trace_bin")
    flid_bin = trace_bin if settings.flid_bin is None else parse_time(settings.flid_bin, "flid_bin")
    sigma = None if settings.irf_sigma is None else parse_time(settings.irf_sigma, "irf_sigma")
    resolved = dataclasses.replace(
        settings,
        g2_pair=pair,
        g2_window=window,
        g2_bin=width,
        lifetime_channel=channel,
        lifetime_bin=lifetime_bin,
        irf_sigma=sigma,
        trace_bin=trace_bin,
        flid_bin=flid_bin,
    )
    return resolved, notes


def _name(key: ChannelKey, metadata: RunMetadata) -> str:
    return metadata.channels.lookup(key).name


def _detector_names(metadata: RunMetadata) -> list[str]:
    return [c.name for c in metadata.channels.detectors]


def _resolve_pair(
    settings: SummarySettings, metadata: RunMetadata, notes: list[str]
) -> tuple[str, str] | None:
    if settings.g2_pair is not None:
        a, b = (_name(k, metadata) for k in settings.g2_pair)
        if a == b:
            raise AnalysisError(f"g2_pair: {settings.g2_pair!r} names one channel twice")
        return a, b
    if metadata.hbt_pair is not None:
        return metadata.hbt_pair
    detectors = _detector_names(metadata)
    if len(detectors) < 2:
        notes.append(
            f"g2: the run has {len(detectors)} detector channel(s); an HBT g2 needs two detectors"
        )
        return None
    return detectors[0], detectors[1]


def _resolve_lifetime_channel(
    settings: SummarySettings,
    metadata: RunMetadata,
    pair: tuple[str, str] | None,
    notes: list[str],
) -> str | None:
    reason = _no_decay_reason(metadata)
    if settings.lifetime_channel is not None:
        channel = _name(settings.lifetime_channel, metadata)
    elif pair is not None:
        channel = pair[0]
    else:
        detectors = _detector_names(metadata)
        channel = detectors[0] if detectors else None
        if channel is None:
            reason = reason or "the run has no detector channel"
    if reason is not None:
        notes.append(f"lifetime: {reason}")
        return None
    return channel


def _no_decay_reason(metadata: RunMetadata) -> str | None:
    """Why the run cannot give decay histograms (or FLID), or ``None``."""
    if metadata.sync_period_ps is None:
        return "the run's metadata give no laser sync period"
    if metadata.mode == "T2" and metadata.channels.sync is None:
        return "T2 data without a sync channel"
    return None


def _resolve_lifetime_bin(settings: SummarySettings, metadata: RunMetadata) -> int:
    unit = metadata.nanotime_unit_ps if metadata.mode == "T3" else None
    if settings.lifetime_bin is None:
        return default_lifetime_bin(metadata.sync_period_ps, unit)
    width = parse_time(settings.lifetime_bin, "lifetime_bin")
    if unit is not None:
        factor = width / unit
        if abs(factor - round(factor)) > 1e-9 * factor or round(factor) < 1:
            raise AnalysisError(
                f"lifetime_bin ({width} ps) must be a whole multiple of the T3 nanotime unit "
                f"({unit:g} ps)"
            )
    return width


# ---------------------------------------------------------------------------------- the pass
class _Feed:
    """One streaming analyzer; an analysis error drops it, with the reason as a note."""

    def __init__(self, part: str, analyzer: Any) -> None:
        self.part = part
        self.analyzer = analyzer
        self.fed = False

    def process(self, batch: TagBatch, notes: list[str]) -> None:
        if self.analyzer is None:
            return
        try:
            self.analyzer.process(batch)
            self.fed = True
        except AnalysisError as exc:
            notes.append(f"{self.part}: {exc}")
            self.analyzer = None

    def result(self) -> Any:
        return self.analyzer.result() if self.analyzer is not None and self.fed else None


class _Tally:
    """Tags per channel number, covered time and gaps of the whole run."""

    def __init__(self) -> None:
        self.counts = np.zeros(256, dtype=np.int64)
        self.coverage = Coverage()
        self.mode: str | None = None
        self.batches = 0

    def add(self, batch: TagBatch) -> None:
        self.coverage.add(batch)
        self.counts += np.bincount(batch.channels, minlength=256)
        self.mode = self.mode or batch.mode
        self.batches += 1


def _trace_channels(settings: SummarySettings, metadata: RunMetadata) -> list[str] | None:
    """The emitter's photons: the g2 pair, else every detector."""
    if settings.g2_pair is not None:
        return list(settings.g2_pair)
    return _detector_names(metadata) or None


def _feeds(settings: SummarySettings, metadata: RunMetadata, notes: list[str]) -> dict[str, _Feed]:
    """The analyzers of the resolved settings (``None`` for parts ruled out)."""
    cmap = metadata.channels
    g2 = None
    if settings.g2_pair is not None:
        g2 = G2Analyzer(
            *settings.g2_pair,
            window=settings.g2_window,
            bin=settings.g2_bin,
            channels=cmap,
            period_ps=metadata.laser_period_ps,
        )
    decay = None
    if settings.lifetime_channel is not None:
        decay = LifetimeAnalyzer(
            settings.lifetime_channel, bin=settings.lifetime_bin, channels=cmap
        )
    detectors = _trace_channels(settings, metadata)
    trace = flid = None
    if detectors is not None:
        trace = TraceAnalyzer(detectors, bin=settings.trace_bin, channels=cmap)
        reason = _no_decay_reason(metadata)
        if reason is None:
            flid = FlidAnalyzer(detectors, bin=settings.flid_bin, channels=cmap)
        else:
            notes.append(f"flid: {reason}")
    return {
        "g2": _Feed("g2", g2),
        "lifetime": _Feed("lifetime", decay),
        "trace": _Feed("trace", trace),
        "flid": _Feed("flid", flid),
    }


def summarize(
    batches: Iterable[TagBatch],
    metadata: RunMetadata,
    name: str,
    settings: SummarySettings | None = None,
    progress: Callable[[int], object] | None = None,
) -> RunSummary:
    """Summarise a run in one pass over its batches.

    Parameters
    ----------
    batches
        The run's batches in time order (any iterable; read once).
    metadata
        The run's metadata: channel map, mode, sync and laser period, HBT pair.
    name
        What the summary calls the run (the file name).
    settings
        What to compute; defaults as documented in :class:`SummarySettings`.
    progress
        Called with the end of each batch's span (ps) after the batch is processed.

    Raises
    ------
    AnalysisError, ChannelError
        Settings the run cannot use.
    BatchError
        Batches out of time order.
    """
    resolved, notes = resolve_settings(settings or SummarySettings(), metadata)
    feeds = _feeds(resolved, metadata, notes)
    tally = _Tally()
    for batch in batches:
        tally.add(batch)
        for feed in feeds.values():
            feed.process(batch, notes)
        if progress is not None:
            progress(batch.t_end)
    if tally.batches == 0:
        notes.append("run: no batches, nothing to analyse")
    return _finish(name, metadata, resolved, tally, feeds, notes)


# ---------------------------------------------------------------------------------- the fits
def _attempt(part: str, notes: list[str], compute: Callable[[], Any]) -> Any:
    """``compute()``, or ``None`` with a note when the data do not allow it."""
    try:
        return compute()
    except TagstreamError as exc:
        notes.append(f"{part}: {exc}")
        return None


def _finish(
    name: str,
    metadata: RunMetadata,
    settings: SummarySettings,
    tally: _Tally,
    feeds: dict[str, _Feed],
    notes: list[str],
) -> RunSummary:
    decay = _attempt("lifetime", notes, feeds["lifetime"].result)
    fits = None
    if decay is not None:
        fits = _attempt("lifetime", notes, lambda: _decay_fits(decay, settings))
    chosen = fits[0] if fits is not None else None
    g2 = _attempt("g2", notes, feeds["g2"].result)
    hint = float(np.max(chosen.tau_ps)) if chosen is not None else None
    zero = None
    if g2 is not None:
        zero = _attempt("g2", notes, lambda: _g2_zero(g2, settings, hint))
    trace = _attempt("trace", notes, feeds["trace"].result)
    blink = None
    if trace is not None:
        blink = _attempt("blinking", notes, lambda: _blinking(trace, settings))
    flid = _attempt("flid", notes, feeds["flid"].result)
    _note_unmapped(tally.counts, metadata, notes)
    coverage = tally.coverage
    return RunSummary(
        name=name,
        metadata=metadata,
        settings=settings,
        mode=tally.mode or metadata.mode,
        t_begin_ps=coverage.t_begin or 0,
        t_end_ps=coverage.t_end or 0,
        live_ps=coverage.live_ps,
        channel_counts={int(c): int(tally.counts[c]) for c in np.flatnonzero(tally.counts)},
        gaps_ps=coverage.gaps(),
        g2=g2,
        g2_zero=zero,
        decay=decay,
        decay_fit=chosen,
        decay_fits=fits[1] if fits is not None else {},
        trace=trace,
        blinking=blink,
        flid=flid,
        notes=tuple(notes),
    )


def _note_unmapped(counts: np.ndarray, metadata: RunMetadata, notes: list[str]) -> None:
    for number in np.flatnonzero(counts):
        if int(number) not in metadata.channels:
            notes.append(
                f"channels: {int(counts[number])} tags on channel {int(number)}, "
                "which is not in the channel map"
            )


def _excitation(result: G2Result, requested: str) -> str:
    """``requested``, or for "auto": pulsed when the period is known or peaks are found."""
    if requested != "auto":
        return requested
    if result.period_ps is not None:
        return "pulsed"
    try:
        find_period(result.edges_ps, result.counts)
    except AnalysisError:
        return "cw"
    return "pulsed"


def _g2_zero(result: G2Result, settings: SummarySettings, lifetime_ps: float | None) -> G2Zero:
    """g2(0) of the HBT histogram; the fitted lifetime (ps) guides the pulsed method choice."""
    for label, n in zip(result.channels, (result.n_a, result.n_b), strict=True):
        if n == 0:
            raise AnalysisError(f"no photons on detector {label}")
    excitation = _excitation(result, settings.excitation)
    if excitation == "pulsed":
        return estimate_g2_zero(
            result, "pulsed", method=settings.g2_method, lifetime_ps=lifetime_ps
        )
    try:
        zero = estimate_g2_zero(result, "cw")
    except AnalysisError as exc:
        raise AnalysisError(f"no pulsed peaks, and the CW antibunching fit failed: {exc}") from exc
    drop = _dip_deviance_drop(result, zero.detail)
    if not (zero.value < 1.0 and drop > MIN_DIP_DEVIANCE_DROP):
        raise AnalysisError(
            f"no pulsed peaks and no significant antibunching dip (CW fit: g2(0) = "
            f"{zero.value:.3g} ± {zero.error:.2g}, deviance {drop:.3g} below a flat g2, "
            f"needs {MIN_DIP_DEVIANCE_DROP:g})"
        )
    return zero


def _dip_deviance_drop(result: G2Result, fit: CWG2Fit) -> float:
    """How much the CW dip model lowers the Poisson deviance against a flat g2."""
    flat = result.expected * (result.counts.sum() / result.expected.sum())
    return poisson_deviance(result.counts, flat) - fit.deviance


def fit_lifetime(
    decay: DecayResult,
    model: str = "auto",
    irf: str = "gaussian",
    irf_sigma_ps: float | None = None,
    significance: float = 1e-3,
) -> tuple[DecayFit, dict[str, DecayFit]]:
    """Fit a decay histogram, choosing the number of exponentials for ``model="auto"``.

    The rule: fit mono, then bi, then tri; a component is added only while the deviance drops
    by more than ``-2 ln(significance)`` (the χ²(2) quantile of a likelihood-ratio test for two
    more parameters; 13.8 at 0.1 %) and every lifetime of the larger model lies at least three
    standard errors above zero. A larger model that cannot be fitted (too few counts) ends the
    search. The test is approximate: the simpler model sits on the boundary of the larger one
    (zero amplitude), where the χ² law only bounds the deviance drop roughly.

    Returns
    -------
    The chosen fit and every fit made, by model name.

    Raises
    ------
    FitError
        The simplest model cannot be fitted.
    """
    _choice("lifetime model", model, LIFETIME_MODELS)
    _irf_choice(irf)
    options = {"gaussian": irf == "gaussian", "irf_sigma_ps": irf_sigma_ps}
    if model != "auto":
        chosen = decay.fit(model, **options)
        return chosen, {model: chosen}
    limit = -2.0 * math.log(significance)
    chosen = decay.fit("mono", **options)
    fits = {"mono": chosen}
    for bigger in ("bi", "tri"):
        try:
            candidate = decay.fit(bigger, **options)
        except FitError:
            break
        fits[bigger] = candidate
        if not (chosen.deviance - candidate.deviance > limit and _resolved(candidate)):
            break
        chosen = candidate
    return chosen, fits


def _resolved(fit: DecayFit) -> bool:
    err = np.asarray(fit.tau_err_ps)
    return bool(np.all(np.isfinite(err)) and np.all(fit.tau_ps > MIN_TAU_SIGNIFICANCE * err))


def _decay_fits(
    decay: DecayResult, settings: SummarySettings
) -> tuple[DecayFit, dict[str, DecayFit]]:
    if decay.counts.sum() == 0:
        raise AnalysisError(f"no photons on {decay.channel} in the decay histogram")
    return fit_lifetime(
        decay,
        settings.lifetime_model,
        settings.irf,
        None if settings.irf_sigma is None else float(settings.irf_sigma),
        settings.model_significance,
    )


def _blinking(trace: TraceResult, settings: SummarySettings) -> BlinkingResult:
    full = int(np.count_nonzero(trace.exposure_ps == trace.bin_ps))
    if full < MIN_BLINKING_BINS:
        raise AnalysisError(
            f"{full} full trace bins of {trace.bin_ps / 1e9:g} ms; a blinking analysis needs "
            f"at least {MIN_BLINKING_BINS}"
        )
    return trace.states(settings.thresholds_cps, settings.n_states)


# ---------------------------------------------------------------------------------- the result
@dataclass(frozen=True, eq=False)
class RunSummary:
    """Everything :func:`summarize` found in a run.

    Attributes
    ----------
    name, metadata, settings
        The run's name, its metadata and the resolved settings (channels by name, times in ps).
    mode
        ``"T2"`` or ``"T3"``.
    t_begin_ps, t_end_ps, live_ps
        Span of the run and its live time (span minus gaps), ps.
    channel_counts
        Tags per channel number (channels with tags only).
    gaps_ps
        Lost time inside the span (data loss, holes between batches), int64 ``(k, 2)``, ps.
    g2, g2_zero
        The HBT g2 histogram and its g2(0); ``None`` when not computed.
    decay, decay_fit, decay_fits
        Decay histogram, the chosen lifetime fit and every fit tried, by model name.
    trace, blinking
        Intensity trace at the trace bin and its blinking analysis.
    flid
        Per-bin counts and mean delays for the FLID map.
    notes
        Why parts are missing, and anything else worth knowing, as ``"part: reason"``.
    """

    name: str
    metadata: RunMetadata
    settings: SummarySettings
    mode: str
    t_begin_ps: int
    t_end_ps: int
    live_ps: int
    channel_counts: dict[int, int]
    gaps_ps: np.ndarray = field(repr=False)
    g2: G2Result | None = field(repr=False)
    g2_zero: G2Zero | None
    decay: DecayResult | None = field(repr=False)
    decay_fit: DecayFit | None = field(repr=False)
    decay_fits: dict[str, DecayFit] = field(repr=False)
    trace: TraceResult | None = field(repr=False)
    blinking: BlinkingResult | None = field(repr=False)
    flid: FlidResult | None = field(repr=False)
    notes: tuple[str, ...] = ()

    @property
    def duration_s(self) -> float:
        """Span of the run, s."""
        return (self.t_end_ps - self.t_begin_ps) / PS_PER_S

    @property
    def live_s(self) -> float:
        """Live time (span minus gaps), s."""
        return self.live_ps / PS_PER_S

    def rate_cps(self, number: int) -> float:
        """Mean tag rate of a channel over the live time, counts/s (0 without live time)."""
        count = self.channel_counts.get(int(number), 0)
        return count / self.live_s if self.live_ps > 0 else 0.0

    def notes_for(self, part: str) -> list[str]:
        """The notes about one part (``"g2"``, ``"lifetime"``, ``"blinking"``, ...)."""
        prefix = f"{part}: "
        return [n[len(prefix) :] for n in self.notes if n.startswith(prefix)]

    def to_dict(self) -> dict[str, Any]:
        """The summary JSON of ``tagstream analyze --json``: plain types, ``None`` for
        anything not computed or not finite."""
        return _plain(
            {
                "file": self.name,
                "duration_s": self.duration_s,
                "mode": self.mode,
                "channels": self._channels_dict(),
                "g2": None if self.g2_zero is None else self.g2_zero.to_dict(),
                "lifetime": self._lifetime_dict(),
                "blinking": None if self.blinking is None else self.blinking.to_dict(),
                "gaps": [[s / PS_PER_S, e / PS_PER_S] for s, e in self.gaps_ps.tolist()],
            }
        )

    def _channels_dict(self) -> dict[str, dict[str, Any]]:
        return {
            c.name: {
                "number": c.number,
                "role": str(c.role),
                "counts": self.channel_counts.get(c.number, 0),
                "rate_cps": float(self.rate_cps(c.number)),
            }
            for c in self.metadata.channels
        }

    def _lifetime_dict(self) -> dict[str, Any] | None:
        if self.decay_fit is None or self.decay is None:
            return None
        return {"channel": self.decay.channel, **self.decay_fit.to_dict()}

    def text(self) -> str:
        """A short human summary: duration, rates, g2(0), lifetimes, blinking, gaps, notes."""
        lines = [self._run_line(), self._rates_line()]
        lines += [self._g2_line(), self._lifetime_line(), self._blinking_line()]
        lines += self._gap_lines()
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(line for line in lines if line)

    def _run_line(self) -> str:
        lost = self.duration_s - self.live_s
        extra = f", {_seconds(lost)} lost" if lost > 0 else ""
        return f"{self.name}: {self.mode}, {_seconds(self.duration_s)}{extra}"

    def _rates_line(self) -> str:
        parts = []
        for c in self.metadata.channels:
            if c.role == Role.SYNC and self.mode == "T3" and self.metadata.sync_period_ps:
                parts.append(f"{c.name} {_hertz(PS_PER_S / self.metadata.sync_period_ps)} (sync)")
                continue
            role = "" if c.role == Role.DETECTOR else f" ({c.role})"
            parts.append(f"{c.name} {_cps(self.rate_cps(c.number))}{role}")
        return "rates: " + ", ".join(parts) if parts else ""

    def _g2_line(self) -> str:
        z = self.g2_zero
        if z is None:
            return "g2(0): not available"
        pair = "x".join(z.pair)
        head = f"g2(0) = {value_with_error(z.value, z.error)} ({z.excitation}, {z.method}; {pair})"
        if z.excitation == "pulsed":
            tail = f"period {z.period_ps / 1e3:.4g} ns"
        else:
            tail = f"k = {z.rate_per_ns:.3g}/ns (effective: radiative + pump)"
        return f"{head}, purity {z.purity:.3f}, {tail}"

    def _lifetime_line(self) -> str:
        fit, decay = self.decay_fit, self.decay
        if fit is None or decay is None:
            return "lifetime: not available"
        taus = ", ".join(
            f"{value_with_error(t / 1e3, e / 1e3)} ns ({100 * a:.0f} %)"
            for t, e, a in zip(fit.tau_ps, fit.tau_err_ps, fit.amplitudes, strict=True)
        )
        return f"lifetime ({decay.channel}, {fit.model}, IRF {fit.irf}): tau = {taus}"

    def _blinking_line(self) -> str:
        b = self.blinking
        if b is None:
            return "blinking: not available"
        fr = b.fractions
        thr = ", ".join(_cps(t) for t in b.thresholds_cps)
        line = (
            f"blinking ({b.bin_ps / 1e9:g} ms bins, thresholds {thr}, {b.method}): "
            f"on {fr['on']:.2f}, grey {fr['grey']:.2f}, off {fr['off']:.2f}"
        )
        for state, alpha in (("on", b.on_exponent), ("off", b.off_exponent)):
            if alpha is not None:
                line += f"; alpha_{state} {alpha:.2f}"
        return line

    def _gap_lines(self) -> list[str]:
        if len(self.gaps_ps) == 0:
            return []
        shown = ", ".join(
            f"{s / PS_PER_S:.4g}-{e / PS_PER_S:.4g} s" for s, e in self.gaps_ps[:5].tolist()
        )
        more = f" and {len(self.gaps_ps) - 5} more" if len(self.gaps_ps) > 5 else ""
        return [f"gaps: {len(self.gaps_ps)} ({shown}{more})"]


def _plain(value: Any) -> Any:
    """JSON-ready copy: builtin types only, non-finite floats as ``None``."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


def value_with_error(value: float, error: float) -> str:
    """``value ± error`` with the error to two significant digits."""
    if not (math.isfinite(error) and error > 0):
        return f"{value:.4g}"
    digits = 1 - math.floor(math.log10(error))
    if not 0 <= digits <= 6:
        return f"{value:.4g} ± {error:.2g}"
    return f"{value:.{digits}f} ± {error:.{digits}f}"


def _seconds(s: float) -> str:
    return f"{s * 1e3:.3g} ms" if abs(s) < 1 else f"{s:.4g} s"


def _cps(rate: float) -> str:
    for scale, prefix in ((1e6, "M"), (1e3, "k")):
        if abs(rate) >= scale:
            return f"{rate / scale:.3g} {prefix}cps"
    return f"{rate:.3g} cps"


def _hertz(rate: float) -> str:
    for scale, prefix in ((1e6, "M"), (1e3, "k")):
        if abs(rate) >= scale:
            return f"{rate / scale:.4g} {prefix}Hz"
    return f"{rate:.4g} Hz"
