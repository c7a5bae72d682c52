"""The simulator's model, as settings: emitter, blinking states and the measurement setup.

A configuration is a TOML file (see ``configs/``) or a nested dict with the same keys; every
quantity takes a unit (``"6 ns"``, ``"40 MHz"``, ``"100 Hz"``). Unknown keys are errors, so a
typo does not silently fall back to a default.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from ...errors import TagstreamError, UnitError
from ...tags import parse_frequency, parse_power_w, parse_time

STATE_NAMES = ("on", "grey", "off")


class ConfigError(TagstreamError):
    """A simulator setting is missing, unknown or out of range."""


@dataclass(frozen=True)
class Decay:
    """A radiative state: total lifetime (ps) and the probability that its decay emits a photon."""

    lifetime_ps: float
    quantum_yield: float


@dataclass(frozen=True)
class Excitation:
    """Pulsed: a Poisson number of excitations (mean ``mean_excitations``) per pulse. CW: the
    emitter is excited at ``pump_rate_hz`` whenever it holds fewer than two excitons.
    ``saturation_power_w``: the power at the sample that makes ``<N> = 1`` (the dot's
    absorption), used when the excitation follows a (simulated) laser's power."""

    mode: str = "pulsed"
    repetition_rate_hz: float = 40e6
    mean_excitations: float = 0.1
    pump_rate_hz: float = 0.0
    sync_divider: int = 1
    saturation_power_w: float | None = None

    @property
    def period_ps(self) -> float:
        """Laser repetition period, ps."""
        return 1e12 / self.repetition_rate_hz


@dataclass(frozen=True)
class Blinking:
    """Switching between ON and the dark or dim states.

    From ON the emitter goes to ``grey`` with probability ``to_grey`` (if that state exists), else
    to ``off``; from either it returns to ON. Dwell times are exponential (``mean_dwell_ps``) or
    truncated power laws (``exponent`` between ``dwell_min_ps`` and ``dwell_max_ps``). ON dwells
    shrink by ``(mean_excitations / excitation_reference) ** excitation_power``.
    """

    states: tuple[str, ...] = ("on",)
    dwell: str = "none"
    mean_dwell_ps: Mapping[str, float] = field(default_factory=dict)
    exponent: Mapping[str, float] = field(default_factory=dict)
    dwell_min_ps: float = 1e9
    dwell_max_ps: float = 1e13
    to_grey: float = 0.5
    excitation_reference: float = 0.1
    excitation_power: float = 0.0


@dataclass(frozen=True)
class Detector:
    """A single-photon detector behind the beam splitter."""

    name: str
    channel: int
    efficiency: float = 0.65
    dark_rate_hz: float = 100.0
    dead_time_ps: int = 22_000
    jitter_ps: float = 35.0
    jitter_tail_ps: float = 0.0
    jitter_tail_fraction: float = 0.0
    afterpulsing: float = 0.0
    afterpulse_delay_ps: int = 100_000
    afterpulse_spread_ps: float = 20_000.0
    cable_delay_ps: int = 0


@dataclass(frozen=True)
class Setup:
    """Microscope, splitter, detectors, tagger.

    With two detectors ``splitter_ratio`` of the light goes to the first; with more, the light is
    shared equally. ``background_rate_hz`` counts uncorrelated background photons detected per
    second (all detectors together, in proportion to their share and efficiency).
    """

    mode: str = "T2"
    nanotime_unit_ps: float = 4.0
    collection_efficiency: float = 0.05
    splitter_ratio: float = 0.5
    background_rate_hz: float = 0.0
    sync_channel: int = 0
    detectors: tuple[Detector, ...] = (
        Detector("A", 1),
        Detector("B", 2),
    )


@dataclass(frozen=True)
class SimConfig:
    """Everything the simulator needs."""

    name: str = "custom"
    description: str = ""
    excitation: Excitation = field(default_factory=Excitation)
    exciton: Decay = field(default_factory=lambda: Decay(6_000.0, 0.9))
    biexciton: Decay = field(default_factory=lambda: Decay(100.0, 0.02))
    grey: Decay = field(default_factory=lambda: Decay(2_000.0, 0.3))
    off: Decay = field(default_factory=lambda: Decay(900.0, 0.05))
    blinking: Blinking = field(default_factory=Blinking)
    bleach_time_ps: float = math.inf
    drift_amplitude: float = 0.0
    drift_period_ps: float = 6e13
    setup: Setup = field(default_factory=Setup)

    def decay(self, state: str) -> Decay:
        """Exciton decay in ``state`` (ON: the neutral exciton; a bleached emitter is dark)."""
        if state == "bleached":
            return Decay(self.exciton.lifetime_ps, 0.0)
        return {"on": self.exciton, "grey": self.grey, "off": self.off}[state]

    def split(self) -> tuple[float, ...]:
        """Share of the collected light reaching each detector."""
        n = len(self.setup.detectors)
        if n == 2:
            return (self.setup.splitter_ratio, 1.0 - self.setup.splitter_ratio)
        return tuple([1.0 / n] * n)

    def detection_probabilities(self) -> tuple[float, ...]:
        """Probability that an emitted photon is detected by each detector (at full drift)."""
        eta = self.setup.collection_efficiency * (1.0 + self.drift_amplitude)
        return tuple(
            eta * s * d.efficiency for s, d in zip(self.split(), self.setup.detectors, strict=True)
        )

    def mean_excitations_equivalent(self) -> float:
        """<N> of a pulse (pulsed), or pump rate x exciton lifetime (CW)."""
        if self.excitation.mode == "pulsed":
            return self.excitation.mean_excitations
        return self.excitation.pump_rate_hz * self.exciton.lifetime_ps * 1e-12

    def with_values(self, **changes: Any) -> SimConfig:
        """A copy with the fields in ``changes`` replaced."""
        return replace(self, **changes)


# --------------------------------------------------------------------------- parsing


def load_config(source: str | Path | Mapping[str, Any]) -> SimConfig:
    """A configuration from a TOML file or a dict; validated."""
    if isinstance(source, Mapping):
        raw, origin = dict(source), "config"
    else:
        path = Path(source)
        try:
            raw = tomllib.loads(path.read_text())
        except FileNotFoundError as exc:
            raise ConfigError(f"{path}: no such file") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
        origin = str(path)
    try:
        return _config(raw)
    except (ConfigError, UnitError) as exc:
        raise ConfigError(f"{origin}: {exc}") from None


def _config(raw: dict[str, Any]) -> SimConfig:
    raw = dict(raw)
    raw.pop("source", None)  # run configurations name their source kind here
    name = str(raw.pop("name", "custom"))
    description = str(raw.pop("description", ""))
    sections = {
        "excitation": _excitation,
        "exciton": lambda d, k: _decay(d, k),
        "biexciton": lambda d, k: _decay(d, k),
        "grey": lambda d, k: _decay(d, k),
        "off": lambda d, k: _decay(d, k),
        "blinking": _blinking,
        "emitter": _emitter,
        "setup": _setup,
    }
    _no_unknown(raw, set(sections), "")
    values: dict[str, Any] = {"name": name, "description": description}
    for key, parse in sections.items():
        if key in raw:
            parsed = parse(_table(raw[key], key), key)
            if key == "emitter":
                values.update(parsed)
            else:
                values[key] = parsed
    config = SimConfig(**values)
    _check_consistency(config)
    return config


def _table(value: Any, key: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"[{key}] must be a table")
    return dict(value)


def _no_unknown(table: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        place = f"[{where}] " if where else ""
        known = ", ".join(sorted(allowed))
        raise ConfigError(f"{place}unknown setting {unknown[0]!r} (known: {known})")


def _number(table: Mapping[str, Any], key: str, where: str, lo: float, hi: float, default):
    if key not in table:
        return default
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{where}.{key}: expected a number, got {value!r}")
    if not lo <= value <= hi:
        raise ConfigError(f"{where}.{key}: {value} is outside [{lo}, {hi}]")
    return float(value)


def _time(table: Mapping[str, Any], key: str, where: str, default, positive: bool = True):
    if key not in table:
        return default
    value = table[key]
    if value in ("none", "never", "inf"):
        return math.inf
    ps = parse_time(value, f"{where}.{key}")
    if positive and ps <= 0:
        raise ConfigError(f"{where}.{key}: must be positive, got {value!r}")
    if ps < 0:
        raise ConfigError(f"{where}.{key}: must not be negative, got {value!r}")
    return ps


def _rate(table: Mapping[str, Any], key: str, where: str, default, positive: bool = False):
    if key not in table:
        return default
    hz = parse_frequency(table[key], f"{where}.{key}")
    if hz < 0 or (positive and hz == 0):
        raise ConfigError(f"{where}.{key}: must be {'positive' if positive else 'non-negative'}")
    return hz


def _decay(table: dict[str, Any], where: str) -> Decay:
    _no_unknown(table, {"lifetime", "quantum_yield"}, where)
    if "lifetime" not in table or "quantum_yield" not in table:
        raise ConfigError(f"[{where}] needs lifetime and quantum_yield")
    return Decay(
        float(_time(table, "lifetime", where, None)),
        float(_number(table, "quantum_yield", where, 0.0, 1.0, None)),
    )


def _excitation(table: dict[str, Any], where: str) -> Excitation:
    _no_unknown(
        table,
        {"mode", "repetition_rate", "mean_excitations", "pump_rate", "sync_divider",
         "saturation_power"},
        where,
    )  # fmt: skip
    mode = str(table.get("mode", "pulsed"))
    if mode not in ("pulsed", "cw"):
        raise ConfigError(f"{where}.mode: must be 'pulsed' or 'cw', got {mode!r}")
    divider = table.get("sync_divider", 1)
    if not isinstance(divider, int) or divider < 1:
        raise ConfigError(f"{where}.sync_divider: must be a positive integer")
    exc = Excitation(
        mode=mode,
        repetition_rate_hz=_rate(table, "repetition_rate", where, 40e6, positive=True),
        mean_excitations=_number(table, "mean_excitations", where, 0.0, 50.0, 0.1),
        pump_rate_hz=_rate(table, "pump_rate", where, 0.0),
        sync_divider=divider,
        saturation_power_w=_saturation_power(table, where),
    )
    if mode == "cw" and exc.pump_rate_hz <= 0:
        raise ConfigError(f"{where}.pump_rate: CW excitation needs a positive pump rate")
    return exc


def _saturation_power(table: dict[str, Any], where: str) -> float | None:
    if "saturation_power" not in table:
        return None
    power = parse_power_w(table["saturation_power"], f"{where}.saturation_power")
    if not power > 0:
        raise ConfigError(f"{where}.saturation_power: must be positive")
    return power


def _blinking(table: dict[str, Any], where: str) -> Blinking:
    allowed = {
        "states",
        "dwell",
        "mean_dwell",
        "exponent",
        "dwell_min",
        "dwell_max",
        "to_grey",
        "excitation_reference",
        "excitation_power",
    }
    _no_unknown(table, allowed, where)
    states = tuple(table.get("states", ("on",)))
    if (
        not states
        or states[0] != "on"
        or len(set(states)) != len(states)
        or any(s not in STATE_NAMES for s in states)
    ):
        raise ConfigError(f"{where}.states: 'on' first, then 'grey' and/or 'off', got {states}")
    dwell = str(table.get("dwell", "none" if len(states) == 1 else "exponential"))
    if dwell not in ("none", "exponential", "power-law"):
        raise ConfigError(f"{where}.dwell: 'exponential', 'power-law' or 'none', got {dwell!r}")
    means = {
        s: parse_time(v, f"{where}.mean_dwell.{s}")
        for s, v in dict(table.get("mean_dwell", {})).items()
    }
    exponents = {s: float(v) for s, v in dict(table.get("exponent", {})).items()}
    needed = states if len(states) > 1 else ()
    for s in needed:
        if dwell == "exponential" and s not in means:
            raise ConfigError(f"{where}.mean_dwell: missing the mean dwell of state {s!r}")
        if dwell == "power-law" and s not in exponents:
            raise ConfigError(f"{where}.exponent: missing the exponent of state {s!r}")
    for s, a in exponents.items():
        if not 0.0 < a < 4.0:
            raise ConfigError(f"{where}.exponent.{s}: {a} is outside (0, 4)")
    blink = Blinking(
        states=states,
        dwell=dwell,
        mean_dwell_ps=means,
        exponent=exponents,
        dwell_min_ps=float(_time(table, "dwell_min", where, 1e9)),
        dwell_max_ps=float(_time(table, "dwell_max", where, 1e13)),
        to_grey=_number(table, "to_grey", where, 0.0, 1.0, 0.5),
        excitation_reference=_number(table, "excitation_reference", where, 1e-9, 1e3, 0.1),
        excitation_power=_number(table, "excitation_power", where, 0.0, 10.0, 0.0),
    )
    if blink.dwell_max_ps <= blink.dwell_min_ps:
        raise ConfigError(f"{where}: dwell_max must exceed dwell_min")
    return blink


def _emitter(table: dict[str, Any], where: str) -> dict[str, Any]:
    _no_unknown(table, {"bleach_time", "drift_amplitude", "drift_period"}, where)
    return {
        "bleach_time_ps": float(_time(table, "bleach_time", where, math.inf)),
        "drift_amplitude": _number(table, "drift_amplitude", where, 0.0, 0.99, 0.0),
        "drift_period_ps": float(_time(table, "drift_period", where, 6e13)),
    }


def _detector(table: dict[str, Any], where: str) -> Detector:
    allowed = {f.name for f in fields(Detector)}
    aliases = {
        "dark_rate": "dark_rate_hz",
        "dead_time": "dead_time_ps",
        "jitter": "jitter_ps",
        "jitter_tail": "jitter_tail_ps",
        "afterpulse_delay": "afterpulse_delay_ps",
        "afterpulse_spread": "afterpulse_spread_ps",
        "cable_delay": "cable_delay_ps",
    }
    _no_unknown(table, (allowed - set(aliases.values())) | set(aliases), where)
    if "name" not in table or "channel" not in table:
        raise ConfigError(f"[{where}] needs a name and a channel")
    channel = table["channel"]
    if not isinstance(channel, int) or not 0 <= channel <= 255:
        raise ConfigError(f"{where}.channel: an integer 0..255, got {channel!r}")
    return Detector(
        name=str(table["name"]),
        channel=channel,
        efficiency=_number(table, "efficiency", where, 0.0, 1.0, 0.65),
        dark_rate_hz=_rate(table, "dark_rate", where, 100.0),
        dead_time_ps=int(_time(table, "dead_time", where, 22_000, positive=False)),
        jitter_ps=float(_time(table, "jitter", where, 35, positive=False)),
        jitter_tail_ps=float(_time(table, "jitter_tail", where, 0, positive=False)),
        jitter_tail_fraction=_number(table, "jitter_tail_fraction", where, 0.0, 1.0, 0.0),
        afterpulsing=_number(table, "afterpulsing", where, 0.0, 0.2, 0.0),
        afterpulse_delay_ps=int(_time(table, "afterpulse_delay", where, 100_000, positive=False)),
        afterpulse_spread_ps=float(
            _time(table, "afterpulse_spread", where, 20_000, positive=False)
        ),
        cable_delay_ps=int(_time(table, "cable_delay", where, 0, positive=False)),
    )


def _setup(table: dict[str, Any], where: str) -> Setup:
    allowed = {
        "mode",
        "nanotime_unit",
        "collection_efficiency",
        "splitter_ratio",
        "background_rate",
        "sync_channel",
        "detectors",
    }
    _no_unknown(table, allowed, where)
    mode = str(table.get("mode", "T2"))
    if mode not in ("T2", "T3"):
        raise ConfigError(f"{where}.mode: 'T2' or 'T3', got {mode!r}")
    detectors = Setup().detectors
    if "detectors" in table:
        items = table["detectors"]
        if not isinstance(items, list) or not items:
            raise ConfigError(f"{where}.detectors: a list of at least one detector")
        detectors = tuple(
            _detector(_table(d, f"{where}.detectors[{k}]"), f"{where}.detectors[{k}]")
            for k, d in enumerate(items)
        )
    return Setup(
        mode=mode,
        nanotime_unit_ps=float(_time(table, "nanotime_unit", where, 4)),
        collection_efficiency=_number(table, "collection_efficiency", where, 0.0, 1.0, 0.05),
        splitter_ratio=_number(table, "splitter_ratio", where, 0.0, 1.0, 0.5),
        background_rate_hz=_rate(table, "background_rate", where, 0.0),
        sync_channel=int(table.get("sync_channel", 0)),
        detectors=detectors,
    )


def _check_consistency(config: SimConfig) -> None:
    setup = config.setup
    channels = [d.channel for d in setup.detectors]
    names = [d.name for d in setup.detectors]
    if len(set(channels)) != len(channels) or len(set(names)) != len(names):
        raise ConfigError("detectors need distinct names and channels")
    if setup.mode == "T2" and config.excitation.mode == "pulsed" and setup.sync_channel in channels:
        raise ConfigError(f"setup.sync_channel {setup.sync_channel} is also a detector channel")
    if "sync" in names:
        raise ConfigError("'sync' is reserved for the sync channel")
    if config.excitation.mode == "cw" and setup.mode == "T3":
        raise ConfigError("T3 output needs pulsed excitation (nanotimes count from the sync)")
