"""What the run summary computes: its settings (the ``[analysis]`` table of a run config) and
the defaults that depend on the run (pair, bins, windows, lifetime channel; the bins and windows
in :mod:`~tagstream.analysis.summary_binning`)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import AnalysisError, TagstreamError
from ..tags import RunMetadata, parse_time
from .channels import channel_key
from .decay_fit import MODELS
from .g2_zero import EXCITATIONS
from .summary_binning import MIN_TRACE_BIN_PS, g2_binning, resolve_lifetime_bin

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
        Decay bin width; default 16 ps, widened so that one laser period holds at most 4096
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
        unless ``irf_sigma`` is given), ``"none"`` (tail fit from the maximum), or the name of
        a run file (PTU, Photon-HDF5, ours) of an IRF measurement — scattered laser light on
        the same detector at the same repetition rate — whose decay histogram, made like the
        run's, is reconvolved (its shift fitted). In a config file the name is taken from the
        config's folder.
    irf_sigma
        Fixed width (standard deviation) of the Gaussian IRF.
    trace_bin
        Bin of the intensity trace and the blinking analysis (default 10 ms).
    thresholds_cps
        One (OFF / ON) or two (OFF / grey / ON) intensity thresholds, counts/s; default:
        automatic (Poisson-mixture fit of the occurrence histogram).
    n_states
        2 or 3 states for the automatic thresholds and the levels; ``None`` lets the
        information criterion choose.
    blinking_method
        How the blinking fractions and dwell times are found: ``"levels"`` (change-point
        intensity levels of the photons, Watkins & Yang 2005; exact switch times, see
        :mod:`~tagstream.analysis.levels`), ``"thresholds"`` (trace bins against intensity
        thresholds), or ``"auto"`` (default: levels, thresholds when ``thresholds_cps`` are
        given). The levels' options go in ``[analysis.levels]`` (``alpha``).
    flid_bin
        Time bin of the FLID map; default: the trace bin.
    delays
        ``{channel: delay}``: cable delays taken off each channel's tags (``{B = "5 ns"}``) in
        the g2, the decay histograms and FLID. Without them the zero-delay peak of an
        antibunched emitter is still found for delays up to one period, with a warning.
    cw_jitter
        Timing jitter of the CW g2 model (both detectors together, standard deviation):
        ``"fit"`` (default: fitted), ``"none"`` (a bare exponential dip), or a time held fixed
        (e.g. from a measured instrument response).
    powerlaw_min
        Shortest dwell time in the power-law fits of the blinking dwell times: ``"auto"``
        (default: the Kolmogorov–Smirnov-minimising cut of Clauset, Shalizi & Newman 2009) or
        a time.
    gate
        ``[start, stop]``: only photons that arrive this long after the laser pulse enter the
        g2 and the trace (and with it the blinking analysis), e.g. ``["1 ns", "50 ns"]`` to
        leave out the fast biexciton and scattered-laser photons of the first nanosecond. The
        decay histogram and FLID keep every photon. Needs the laser sync.
    plugins
        Python modules to import before the analysis, each registering measurement kinds of its
        own (see :mod:`tagstream.analysis.measurement`), e.g. ``["mylab.coincidences"]``; the
        live run's workers import them too.
    kinds
        The settings of measurement kinds that take their own, by kind: the sub-table
        ``[analysis.<kind>]`` of a config (each kind checks its own).
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
    blinking_method: str = "auto"
    flid_bin: TimeLike | None = None
    delays: Mapping[ChannelKey, TimeLike] | None = None
    cw_jitter: TimeLike = "fit"
    powerlaw_min: TimeLike = "auto"
    gate: tuple[TimeLike, TimeLike] | None = None
    plugins: tuple[str, ...] = ()
    kinds: Mapping[str, Mapping[str, Any]] | None = None

    def __post_init__(self) -> None:
        if self.g2_pair is not None:
            object.__setattr__(self, "g2_pair", _pair(self.g2_pair))
        if self.thresholds_cps is not None:
            object.__setattr__(self, "thresholds_cps", _thresholds(self.thresholds_cps))
        _check_choices(self)
        _check_times(self)
        if self.delays is not None:
            object.__setattr__(self, "delays", _delays(self.delays))
        _check_fit_options(self)
        if self.gate is not None:
            object.__setattr__(self, "gate", _gate(self.gate))
        object.__setattr__(self, "plugins", _plugins(self.plugins))
        if self.plugins or self.kinds:
            object.__setattr__(self, "kinds", _kind_settings(self.plugins, self.kinds or {}))

    def to_table(self) -> dict[str, Any]:
        """The settings as a config's ``[analysis]`` table again (only what differs from the
        defaults; the kinds' own settings as sub-tables)."""
        table = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name != "kinds" and getattr(self, f.name) != f.default
        }
        return table | {name: dict(own) for name, own in (self.kinds or {}).items()}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SummarySettings:
        """Settings from a config's ``[analysis]`` table (keys = the attribute names).

        Raises
        ------
        AnalysisError
            An unknown key or an invalid value.
        """
        from .measurement import load_plugins

        known = [f.name for f in dataclasses.fields(cls) if f.name != "kinds"]
        kinds = {k.kind for k in load_plugins(_plugins(d.get("plugins", ())))}
        tables = {k: v for k, v in d.items() if k in kinds and isinstance(v, Mapping)}
        unknown = sorted(set(d) - set(known) - set(tables))
        if unknown:
            raise AnalysisError(
                f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(known)} (a "
                "measurement kind's own settings go in its table, [analysis.<kind>])"
            )
        return cls(**{k: v for k, v in d.items() if k not in tables}, kinds=tables or None)


def _pair(pair: object) -> tuple[ChannelKey, ChannelKey]:
    """The g2 pair as a tuple of two different channels."""
    if isinstance(pair, str | bytes) or not isinstance(pair, Sequence):
        raise AnalysisError(f"g2_pair: give two different channels, got {pair!r}")
    out = tuple(pair)
    if len(out) != 2 or out[0] == out[1]:
        raise AnalysisError(f"g2_pair: give two different channels, got {pair!r}")
    return out


def _check_choices(settings: SummarySettings) -> None:
    """The named choices, the number of states, the model significance and the IRF width."""
    check_choice("excitation", settings.excitation, EXCITATIONS)
    check_choice("g2_method", settings.g2_method, PULSED_METHODS)
    check_choice("lifetime_model", settings.lifetime_model, LIFETIME_MODELS)
    check_irf(settings.irf)
    check_choice("blinking_method", settings.blinking_method, ("auto", "levels", "thresholds"))
    if settings.blinking_method == "levels" and settings.thresholds_cps is not None:
        raise AnalysisError(
            "thresholds_cps are for blinking_method thresholds (or auto), not levels"
        )
    if settings.n_states not in (None, 2, 3):
        raise AnalysisError(f"n_states must be 2, 3 or absent, got {settings.n_states!r}")
    significance = settings.model_significance
    if not isinstance(significance, float | int) or not (0 < significance < 1):
        raise AnalysisError(f"model_significance must lie between 0 and 1, got {significance!r}")
    if settings.irf_sigma is not None and settings.irf != "gaussian":
        raise AnalysisError("irf_sigma is the width of a Gaussian IRF: it needs irf='gaussian'")


def _check_times(settings: SummarySettings) -> None:
    """The windows and bins are positive times, the trace and FLID bins at least
    :data:`MIN_TRACE_BIN_PS`."""
    for name in ("g2_window", "g2_bin", "lifetime_bin", "irf_sigma", "trace_bin", "flid_bin"):
        value = getattr(settings, name)
        if value is not None and parse_time(value, name) <= 0:
            raise AnalysisError(f"{name} must be positive, got {value!r}")
    for name in ("trace_bin", "flid_bin"):
        value = getattr(settings, name)
        if value is not None and parse_time(value, name) < MIN_TRACE_BIN_PS:
            raise AnalysisError(
                f"{name} must be at least {MIN_TRACE_BIN_PS // 10**6} us (a bin per "
                f"{MIN_TRACE_BIN_PS // 10**6} us of run time is kept), got {value!r}"
            )


def _delays(delays: object) -> dict[ChannelKey, TimeLike]:
    """The cable delays as a dict, each checked to be a time."""
    if not isinstance(delays, Mapping):
        raise AnalysisError(
            f"delays: a table of channel = delay, e.g. {{B = '5 ns'}}, got {delays!r}"
        )
    for key, value in delays.items():
        parse_time(value, f"delays.{key}")
    return dict(delays)


def _check_fit_options(settings: SummarySettings) -> None:
    """The CW jitter (``"fit"``, ``"none"`` or a time) and the power-law cut (``"auto"`` or a
    positive time)."""
    jitter = settings.cw_jitter
    if jitter not in ("fit", "none") and parse_time(jitter, "cw_jitter") < 0:
        raise AnalysisError(f"cw_jitter must be 'fit', 'none' or a time, got {jitter!r}")
    cut = settings.powerlaw_min
    if cut != "auto" and parse_time(cut, "powerlaw_min") <= 0:
        raise AnalysisError(f"powerlaw_min must be 'auto' or a positive time, got {cut!r}")


def check_choice(name: str, value: object, allowed: Sequence[str]) -> None:
    """Check that setting ``name`` is one of ``allowed``; an :class:`AnalysisError` naming them if
    not."""
    if value not in allowed:
        raise AnalysisError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")


def check_irf(value: object) -> None:
    """``"gaussian"``, ``"none"``, or the name of a file holding a measured IRF."""
    if value == "measured":
        raise AnalysisError(
            'irf: give the file of the IRF measurement (irf = "irf.h5", a run of scattered '
            "laser light on the same detector), 'gaussian' or 'none'"
        )
    if not isinstance(value, str) or not value.strip():
        raise AnalysisError(f"irf must be 'gaussian', 'none' or a file name, got {value!r}")


def irf_file(value: object) -> str | None:
    """The IRF file's name when ``value`` (an ``irf`` setting) names one, else ``None``."""
    return value if isinstance(value, str) and value not in IRFS else None


def _plugins(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, Sequence) or not all(isinstance(v, str) and v for v in value):
        raise AnalysisError(
            f"plugins: give module names, e.g. ['mylab.coincidences'], got {value!r}"
        )
    return tuple(value)


def _kind_settings(
    plugins: tuple[str, ...], tables: Mapping[str, Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    """The settings of each kind, checked by the kind (after importing the plug-ins)."""
    from .measurement import load_plugins

    kinds = {cls.kind: cls for cls in load_plugins(plugins)}
    out = {}
    for name, table in tables.items():
        if name not in kinds:
            raise AnalysisError(f"{name}: no measurement {name!r} is registered (plugins?)")
        if not isinstance(table, Mapping):
            raise AnalysisError(f"{name}: a table of settings expected, got {table!r}")
        try:
            kinds[name].check_settings(table)
        except TagstreamError as exc:
            raise AnalysisError(f"{name}: {exc}") from None
        out[name] = dict(table)
    return out


def _gate(value: object) -> tuple[TimeLike, TimeLike]:
    if isinstance(value, str | bytes) or not isinstance(value, Sequence) or len(value) != 2:
        raise AnalysisError(f"gate: give [start, stop], e.g. ['1 ns', '50 ns'], got {value!r}")
    start, stop = (parse_time(v, "gate") for v in value)
    if stop <= start:
        raise AnalysisError(f"gate: the stop must come after the start, got {list(value)!r}")
    return value[0], value[1]


def _thresholds(values: Iterable[float] | float) -> tuple[float, ...]:
    if isinstance(values, int | float) and not isinstance(values, bool):
        values = (values,)  # one threshold, given as a number
    try:
        thr = tuple(float(v) for v in values)
    except (TypeError, ValueError) as exc:
        raise AnalysisError(f"thresholds_cps: numbers expected, got {values!r}") from exc
    ok = len(thr) in (1, 2) and all(math.isfinite(t) and t > 0 for t in thr)
    if not ok or (len(thr) == 2 and thr[1] <= thr[0]):
        raise AnalysisError(f"thresholds_cps: one or two increasing rates (counts/s), got {thr}")
    return thr


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
    window, width = g2_binning(settings, metadata.laser_period_ps)
    channel = _resolve_lifetime_channel(settings, metadata, pair, notes)
    lifetime_bin = resolve_lifetime_bin(settings, metadata) if channel is not None else None
    trace_bin = parse_time(settings.trace_bin, "trace_bin")
    flid_bin = trace_bin if settings.flid_bin is None else parse_time(settings.flid_bin, "flid_bin")
    sigma = None if settings.irf_sigma is None else parse_time(settings.irf_sigma, "irf_sigma")
    delays = {
        _name(channel_key(k, metadata.channels), metadata): parse_time(v, f"delays.{k}")
        for k, v in (settings.delays or {}).items()
    }
    jitter = settings.cw_jitter
    jitter = jitter if jitter in ("fit", "none") else parse_time(jitter, "cw_jitter")
    low = settings.powerlaw_min
    low = low if low == "auto" else parse_time(low, "powerlaw_min")
    gate = None
    if settings.gate is not None:
        reason = no_decay_reason(metadata)
        if reason is not None:
            raise AnalysisError(f"gate: {reason}; a nanotime gate needs the laser sync")
        gate = tuple(parse_time(v, "gate") for v in settings.gate)
        period = metadata.laser_period_ps or metadata.sync_period_ps
        if gate[1] - gate[0] > period:
            raise AnalysisError(
                f"gate: {(gate[1] - gate[0]) / 1e3:g} ns is wider than the laser period "
                f"({period / 1e3:g} ns)"
            )
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
        delays=delays or None,
        cw_jitter=jitter,
        powerlaw_min=low,
        gate=gate,
    )
    return resolved, notes


def _name(key: ChannelKey, metadata: RunMetadata) -> str:
    return metadata.channels.lookup(key).name


def detector_names(metadata: RunMetadata) -> list[str]:
    """Names of the run's detector channels, in the order of its channel map."""
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
    detectors = detector_names(metadata)
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
    reason = no_decay_reason(metadata)
    if settings.lifetime_channel is not None:
        channel = _name(settings.lifetime_channel, metadata)
    elif pair is not None:
        channel = pair[0]
    else:
        detectors = detector_names(metadata)
        channel = detectors[0] if detectors else None
        if channel is None:
            reason = reason or "the run has no detector channel"
    if reason is not None:
        notes.append(f"lifetime: {reason}")
        return None
    return channel


def no_decay_reason(metadata: RunMetadata) -> str | None:
    """Why the run cannot give decay histograms (or FLID), or ``None``."""
    if metadata.sync_period_ps is None:
        return "the run's metadata give no laser sync period"
    if metadata.mode == "T2" and metadata.channels.sync is None:
        return "T2 data without a sync channel"
    return None
