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

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import chdtrc  # chi2.sf without importing scipy.stats (slow)

from ..errors import AnalysisError, FitError, TagstreamError
from ..kernels.channel_counts import channel_counts
from ..tags import Role, RunMetadata, TagBatch, format_frequency
from .blinking import MIN_BLINKING_BINS, NO_BLINKING, BlinkingResult
from .decay_fit import POOR_FIT_P_VALUE, SHORTEST_TAU_BINS, DecayFit
from .fit_progress import announce, reporting
from .flid import FlidResult
from .g2 import G2Result
from .g2_fits import CWG2Fit, find_period
from .g2_log import LogG2Result
from .g2_zero import G2Zero, estimate_g2_zero
from .lifetime import DecayResult
from .measurement import build_measurements
from .poisson_fit import poisson_deviance
from .stream import Coverage
from .summary_settings import (
    LIFETIME_MODELS,
    SummarySettings,
    check_choice,
    check_irf,
    default_g2_binning,
    default_lifetime_bin,
    irf_file,
    resolve_settings,
)
from .trace import TraceResult

PS_PER_S = 10**12
#: The keys of the summary JSON's blocks, present (``None``) even when a block is not computed.
G2_KEYS = (
    "pair", "excitation", "period_ns", "g2_zero", "g2_zero_err", "rate_per_ns", "method",
    "zero_delay_ns", "jitter_ps", "gate_ns",
)  # fmt: skip
LIFETIME_KEYS = (
    "channel", "model", "tau_ns", "tau_err_ns", "amplitudes", "irf", "intensity_fractions",
    "tau_mean_ns", "jitter_ps", "reduced_deviance", "deviance", "dof", "period_ns", "divider",
    "photons",
)  # fmt: skip
BLINKING_KEYS = (
    "bin_s", "thresholds_cps", "fractions", "on_exponent", "off_exponent", "on_exponent_err",
    "off_exponent_err", "on_dwell_min_s", "off_dwell_min_s", "dwell_min_method", "on_dwells",
    "off_dwells", "gate_ns",
)  # fmt: skip
#: A lifetime component is resolved when it lies this many standard errors above zero.
MIN_TAU_SIGNIFICANCE = 3.0
#: A CW antibunching dip must lower the Poisson deviance by this much against a flat g2 (the
#: fit may place the dip anywhere in the window, so noise offers many places to choose from).
MIN_DIP_DEVIANCE_DROP = 25.0


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
        self.counts += channel_counts(batch.channels)
        self.mode = self.mode or batch.mode
        self.batches += 1


def _feeds(settings: SummarySettings, metadata: RunMetadata, notes: list[str]) -> dict[str, _Feed]:
    """The measurements of the resolved settings, by kind (kinds the run rules out are
    missing)."""
    built = build_measurements(settings, metadata, notes)
    return {m.kind: _Feed(m.part_name(), m) for m in built}


def _result(feeds: dict[str, _Feed], kind: str) -> Callable[[], Any]:
    """What gives the result of the measurement ``kind`` (``None`` when it is not there)."""
    feed = feeds.get(kind)
    return (lambda: None) if feed is None else feed.result


def summarize(
    batches: Iterable[TagBatch],
    metadata: RunMetadata,
    name: str,
    settings: SummarySettings | None = None,
    progress: Callable[[int], object] | None = None,
    warnings: Iterable[str] = (),
    irf_counts: np.ndarray | None = None,
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
    warnings
        What the reader found wrong with the run's file (a file that ends early, damaged
        records); they lead the summary's warnings.
    irf_counts
        The measured IRF's histogram in the decay's bins, when ``settings.irf`` names a file
        (see :func:`tagstream.pipeline.offline.measured_irf`).

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
    file_warnings = [f"file: {w}" for w in warnings]
    with reporting(getattr(progress, "phase", None)):  # the fits name their phase
        return _finish(name, metadata, resolved, tally, feeds, notes, file_warnings, irf_counts)


# ---------------------------------------------------------------------------------- the fits
def _attempt(part: str, notes: list[str], compute: Callable[[], Any]) -> Any:
    """``compute()``, or ``None`` with a note when the data do not allow it."""
    announce(part)
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
    warnings: list[str],
    irf_counts: np.ndarray | None = None,
) -> RunSummary:
    decay = _attempt("lifetime", notes, _result(feeds, "lifetime"))
    fits = None
    if decay is not None:
        fits = _attempt("lifetime", notes, lambda: _decay_fits(decay, settings, irf_counts))
    chosen = fits[0] if fits is not None else None
    g2 = _attempt("g2", notes, _result(feeds, "g2"))
    hint = float(np.max(chosen.tau_ps)) if chosen is not None else None
    zero = None
    if g2 is not None:
        zero = _attempt("g2", notes, lambda: _g2_zero(g2, settings, hint))
    trace = _attempt("trace", notes, _result(feeds, "trace"))
    blink = None
    if trace is not None:
        blink = _attempt("blinking", notes, lambda: _blinking(trace, settings))
    flid = _attempt("flid", notes, _result(feeds, "flid"))
    g2_log = _attempt("g2", notes, _result(feeds, "g2_log"))
    _note_unmapped(tally.counts, metadata, notes)
    for part, value in (("g2", zero), ("lifetime", chosen), ("blinking", blink)):
        if value is None and not any(n.startswith(f"{part}: ") for n in notes):
            notes.append(f"{part}: no data to analyse")
    if zero is not None:
        warnings += [f"g2: {w}" for w in zero.detail.warnings]
        warnings += [f"g2: {w}" for w in _range_warnings(metadata)]
    if chosen is not None:
        warnings += [f"lifetime: {w}" for w in chosen.warnings]
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
        g2_log=g2_log,
        notes=tuple(notes),
        warnings=tuple(warnings),
    )


def _range_warnings(metadata: RunMetadata) -> list[str]:
    """A T3 unit that records delays over less than the sync period loses the later photons of
    each sync period: the photon stream is cut periodically, which distorts the g2 peaks."""
    reach, sync = metadata.nanotime_range_ps, metadata.sync_period_ps
    if metadata.mode != "T3" or not reach or not sync or reach >= sync * (1 - 1e-6):
        return []
    return [
        f"the unit records delays only up to {reach / 1e3:.4g} ns of the {sync / 1e3:.4g} ns "
        "sync period: photons arriving later are lost, which distorts the g2 peaks and may "
        "bias g2(0); widen the TCSPC range (a coarser resolution) or record in T2"
    ]


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
            result,
            "pulsed",
            method=settings.g2_method,
            lifetime_ps=lifetime_ps,
            search_zero_peak=not settings.delays,
        )
    jitter = settings.cw_jitter
    try:
        zero = estimate_g2_zero(result, "cw", jitter_ps=None if jitter == "none" else jitter)
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
    irf_counts: np.ndarray | None = None,
) -> tuple[DecayFit, dict[str, DecayFit]]:
    """Fit a decay histogram, choosing the number of exponentials for ``model="auto"``.

    The rule: fit mono, then bi, then tri; a component is added only while the deviance drops
    by more than ``-2 ln(significance)`` (the χ²(2) quantile of a likelihood-ratio test for two
    more parameters; 13.8 at 0.1 %) and every lifetime of the larger model lies at least three
    standard errors above zero. A larger model that cannot be fitted (too few counts) ends the
    search. The test is approximate: the simpler model sits on the boundary of the larger one
    (zero amplitude), where the χ² law only bounds the deviance drop roughly. A larger model that
    is rejected because a lifetime is not resolved (for example a fast component within one bin
    of the pulse) although it lowers the deviance beyond the χ² quantile of the poor-fit warning
    (p below ``POOR_FIT_P_VALUE``; 27.6 for two parameters) leaves a warning on the chosen fit:
    the data hold more than its components, so its lifetimes are those of an inadequate model.
    The stricter level keeps the warning off single decays, for which the drop of a free extra
    lifetime exceeds the χ² law's quantiles more often than they claim (it can fit a chance
    excess of a few bins).
    With ``irf`` a file name, ``irf_counts`` is the measured IRF's histogram in the decay's bins.

    Returns
    -------
    The chosen fit and every fit made, by model name.

    Raises
    ------
    FitError
        The simplest model cannot be fitted.
    """
    check_choice("lifetime model", model, LIFETIME_MODELS)
    check_irf(irf)
    if irf_file(irf) is None:
        options = {"gaussian": irf == "gaussian", "irf_sigma_ps": irf_sigma_ps}
    elif irf_counts is None:
        raise AnalysisError(f"irf {irf}: the measured IRF's histogram was not given")
    else:
        options = {"irf": irf_counts}
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
        drop = chosen.deviance - candidate.deviance
        if _decisive(drop, chosen, candidate) and not _resolved(candidate):
            chosen = _with_rejected_model(chosen, candidate, drop)
            fits[chosen.model] = chosen
        if not (drop > limit and _resolved(candidate)):
            break
        chosen = candidate
    return chosen, fits


def _decisive(drop: float, smaller: DecayFit, bigger: DecayFit) -> bool:
    """Whether a deviance ``drop`` from ``smaller`` to ``bigger`` is beyond doubt: less likely
    than ``POOR_FIT_P_VALUE`` under the χ² law for the extra parameters."""
    extra = 2 * (bigger.tau_ps.size - smaller.tau_ps.size)
    return bool(drop > 0 and chdtrc(extra, drop) < POOR_FIT_P_VALUE)


def _resolved(fit: DecayFit) -> bool:
    return bool(np.all(_resolved_lifetimes(fit)))


def _resolved_lifetimes(fit: DecayFit) -> np.ndarray:
    """Per component: whether its lifetime lies at least three standard errors above zero.

    A lifetime held at the shortest the fit allows is not resolved whatever its error says: at
    a bound the Fisher matrix does not measure the uncertainty (it can even give zero).
    """
    err = np.asarray(fit.tau_err_ps)
    shortest = SHORTEST_TAU_BINS * float(np.min(np.diff(fit.edges_ps))) * (1 + 1e-9)
    return (
        np.isfinite(err)
        & (err > 0)
        & (fit.tau_ps > MIN_TAU_SIGNIFICANCE * err)
        & (fit.tau_ps > shortest)
    )


def _with_rejected_model(chosen: DecayFit, bigger: DecayFit, drop: float) -> DecayFit:
    """``chosen`` with a warning that ``bigger`` fits significantly better (the deviance
    ``drop``) but was not taken because some of its lifetimes are not resolved."""
    from dataclasses import replace

    def lifetime(tau_ps: float, err_ps: float) -> str:
        return f"{tau_ps / 1e3:.4g} ± {err_ps / 1e3:.2g} ns"

    loose = ~_resolved_lifetimes(bigger)
    pairs = list(zip(bigger.tau_ps, bigger.tau_err_ps, strict=True))
    unresolved = ", ".join(lifetime(t, e) for (t, e), bad in zip(pairs, loose, strict=True) if bad)
    extra = 2 * (bigger.tau_ps.size - chosen.tau_ps.size)
    which = "lifetimes" if np.count_nonzero(loose) > 1 else "lifetime"
    verb = "are" if np.count_nonzero(loose) > 1 else "is"
    warning = (
        f"a {bigger.model}-exponential model lowers the deviance by {drop:.0f} for {extra} more "
        f"parameters, but its {which} {unresolved} {verb} not resolved (less than "
        f"{MIN_TAU_SIGNIFICANCE:g} standard errors above zero; its lifetimes: "
        f"{', '.join(lifetime(t, e) for t, e in pairs)}); the {chosen.model}-exponential "
        "lifetimes are those of an inadequate model"
    )
    return replace(chosen, model_warnings=(*chosen.model_warnings, warning))


def _decay_fits(
    decay: DecayResult, settings: SummarySettings, irf_counts: np.ndarray | None = None
) -> tuple[DecayFit, dict[str, DecayFit]]:
    if decay.counts.sum() == 0:
        raise AnalysisError(f"no photons on {decay.channel} in the decay histogram")
    return fit_lifetime(
        decay,
        settings.lifetime_model,
        settings.irf,
        None if settings.irf_sigma is None else float(settings.irf_sigma),
        settings.model_significance,
        irf_counts,
    )


def _blinking(trace: TraceResult, settings: SummarySettings) -> BlinkingResult:
    full = int(np.count_nonzero(trace.exposure_ps == trace.bin_ps))
    if full < MIN_BLINKING_BINS:
        raise AnalysisError(
            f"{full} full trace bins of {trace.bin_ps / 1e9:g} ms; a blinking analysis needs "
            f"at least {MIN_BLINKING_BINS}"
        )
    return trace.states(
        settings.thresholds_cps, settings.n_states, powerlaw_min_ps=settings.powerlaw_min
    )


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
    g2_log
        Log-binned (multi-tau) g2 of the pair, for runs without decays (CW); else ``None``.
    notes
        Why parts are missing, and anything else worth knowing, as ``"part: reason"``.
    warnings
        What may make a number wrong or uninformative, as ``"part: reason"`` (``"file: ..."``
        for what the reader found wrong with the file).
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
    warnings: tuple[str, ...] = ()
    g2_log: LogG2Result | None = field(default=None, repr=False)

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
        """The notes and warnings about one part (``"g2"``, ``"lifetime"``, ...)."""
        prefix = f"{part}: "
        return [n[len(prefix) :] for n in (*self.notes, *self.warnings) if n.startswith(prefix)]

    def note(self, part: str) -> str | None:
        """The ``"note"`` of a summary block: its notes and warnings joined, or ``None``."""
        found = self.notes_for(part)
        return "; ".join(found) if found else None

    def to_dict(self) -> dict[str, Any]:
        """The summary JSON of ``tagstream analyze --json``: plain types, ``None`` for
        anything not computed or not finite. Every block is present, with ``None`` values and
        a ``"note"`` saying why when it could not be computed."""
        return _plain(
            {
                "file": self.name,
                "duration_s": self.duration_s,
                "live_s": self.live_s,
                "mode": self.mode,
                "channels": self._channels_dict(),
                "g2": self._g2_dict(),
                "lifetime": self._lifetime_dict(),
                "blinking": self._blinking_dict(),
                "gaps": [[s / PS_PER_S, e / PS_PER_S] for s, e in self.gaps_ps.tolist()],
                "warnings": list(self.warnings),
            }
        )

    def _g2_dict(self) -> dict[str, Any]:
        pair = self.settings.g2_pair
        block = dict.fromkeys(G2_KEYS) | {"pair": None if pair is None else list(pair)}
        if self.g2_zero is not None:
            block |= self.g2_zero.to_dict()
        return block | {"gate_ns": self._gate_ns(), "note": self.note("g2")}

    def _gate_ns(self) -> list[float] | None:
        """The nanotime gate of the g2 and the trace, ns (``None``: every photon)."""
        gate = self.settings.gate
        return None if gate is None else [float(v) / 1e3 for v in gate]

    def _gate_text(self) -> str:
        gate = self._gate_ns()
        return "" if gate is None else f"; photons {gate[0]:g}-{gate[1]:g} ns after the pulse"

    def _lifetime_dict(self) -> dict[str, Any]:
        block = dict.fromkeys(LIFETIME_KEYS) | {"channel": self.settings.lifetime_channel}
        if self.decay_fit is not None and self.decay is not None:
            block |= {"channel": self.decay.channel, **self.decay_fit.to_dict()}
            block["photons"] = int(self.decay.counts.sum())
            block["divider"] = self.decay.divider
        return block | {"note": self.note("lifetime")}

    def _blinking_dict(self) -> dict[str, Any]:
        block = dict.fromkeys(BLINKING_KEYS)
        if self.blinking is not None:
            block |= self.blinking.to_dict()
        return block | {"gate_ns": self._gate_ns(), "note": self.note("blinking")}

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

    def text(self) -> str:
        """A short human summary: duration, rates, g2(0), lifetimes, blinking, gaps, notes and
        warnings; a line whose value has a warning says so."""
        lines = [self._run_line(), self._rates_line()]
        parts = (("g2", self._g2_line()), ("lifetime", self._lifetime_line()))
        parts += (("blinking", self._blinking_line()),)
        for part, line in parts:
            warned = any(w.startswith(f"{part}: ") for w in self.warnings)
            lines.append(f"{line}  [see warning]" if warned else line)
        lines += self._gap_lines()
        lines += [f"note: {n}" for n in self.notes]
        lines += [f"warning: {w}" for w in self.warnings]
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
        head = (
            f"g2(0) = {value_with_error(z.value, z.error)} ({z.excitation}, {z.method}; "
            f"{pair}{self._gate_text()})"
        )
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
        folded = f", {decay.divider} pulses per sync" if decay.divider > 1 else ""
        return f"lifetime ({decay.channel}, {fit.model}, IRF {fit.irf}{folded}): tau = {taus}"

    def _blinking_line(self) -> str:
        b = self.blinking
        if b is None:
            if any(n.startswith(f"blinking: {NO_BLINKING}") for n in self.notes):
                return "blinking: none seen, the trace shows one state (see the note)"
            return "blinking: not available"
        fr = b.fractions
        thr = ", ".join(_cps(t) for t in b.thresholds_cps)
        line = (
            f"blinking ({b.bin_ps / 1e9:g} ms bins, thresholds {thr}, {b.method}"
            f"{self._gate_text()}): "
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
    return format_frequency(rate, digits=4)
