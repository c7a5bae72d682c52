"""The simulator's model, as settings: emitter, blinking states and the measurement setup.

A configuration is a TOML file (see ``configs/``) or a nested dict with the same keys; every
quantity takes a unit (``"6 ns"``, ``"40 MHz"``, ``"100 Hz"``). Unknown keys are errors, so a
typo does not silently fall back to a default.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ...errors import UnitError
from ...tags import parse_power_w, parse_time
from .config_fields import (
    ConfigError,
    as_table,
    no_unknown,
    number_in,
    rate_hz,
    time_ps,
)
from .field import FieldSpec, ScanSpec, parse_field, parse_scan
from .interferometer import InterferometerSpec, parse_interferometer
from .setup_spec import Detector, Setup, _setup  # noqa: F401 (Detector is this module's too)

STATE_NAMES = ("on", "grey", "off")


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
    interferometer: InterferometerSpec | None = None
    field: FieldSpec | None = None
    scan: ScanSpec | None = None

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

    def detection_probabilities(self, line: str = "all") -> tuple[float, ...]:
        """Probability that an emitted photon is detected by each detector (at full drift):
        for ``line`` ``"X"`` or ``"BX"`` behind the detectors' spectral filters (a dichroic
        sends the line only to the detectors that pass it, in their shares of the light), for
        ``"all"`` without them."""
        eta = self.setup.collection_efficiency * (1.0 + self.drift_amplitude)
        dets = self.setup.detectors
        shares = [s if d.passes(line) else 0.0 for s, d in zip(self.split(), dets, strict=True)]
        total = sum(shares)
        if total <= 0:
            return tuple(0.0 for _ in dets)
        return tuple(eta * s / total * d.efficiency for s, d in zip(shares, dets, strict=True))

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
        "interferometer": parse_interferometer,
        "field": parse_field,
        "scan": parse_scan,
    }
    no_unknown(raw, set(sections), "")
    values: dict[str, Any] = {"name": name, "description": description}
    for key, parse in sections.items():
        if key in raw:
            parsed = parse(as_table(raw[key], key), key)
            if key == "emitter":
                values.update(parsed)
            else:
                values[key] = parsed
    config = SimConfig(**values)
    _check_consistency(config)
    return config


def _decay(table: dict[str, Any], where: str) -> Decay:
    no_unknown(table, {"lifetime", "quantum_yield"}, where)
    if "lifetime" not in table or "quantum_yield" not in table:
        raise ConfigError(f"[{where}] needs lifetime and quantum_yield")
    return Decay(
        float(time_ps(table, "lifetime", where, None)),
        float(number_in(table, "quantum_yield", where, 0.0, 1.0, None)),
    )


def _excitation(table: dict[str, Any], where: str) -> Excitation:
    no_unknown(
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
        repetition_rate_hz=rate_hz(table, "repetition_rate", where, 40e6, positive=True),
        mean_excitations=number_in(table, "mean_excitations", where, 0.0, 50.0, 0.1),
        pump_rate_hz=rate_hz(table, "pump_rate", where, 0.0),
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
    no_unknown(table, allowed, where)
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
        dwell_min_ps=float(time_ps(table, "dwell_min", where, 1e9)),
        dwell_max_ps=float(time_ps(table, "dwell_max", where, 1e13)),
        to_grey=number_in(table, "to_grey", where, 0.0, 1.0, 0.5),
        excitation_reference=number_in(table, "excitation_reference", where, 1e-9, 1e3, 0.1),
        excitation_power=number_in(table, "excitation_power", where, 0.0, 10.0, 0.0),
    )
    if blink.dwell_max_ps <= blink.dwell_min_ps:
        raise ConfigError(f"{where}: dwell_max must exceed dwell_min")
    return blink


def _emitter(table: dict[str, Any], where: str) -> dict[str, Any]:
    no_unknown(table, {"bleach_time", "drift_amplitude", "drift_period"}, where)
    return {
        "bleach_time_ps": float(time_ps(table, "bleach_time", where, math.inf)),
        "drift_amplitude": number_in(table, "drift_amplitude", where, 0.0, 0.99, 0.0),
        "drift_period_ps": float(time_ps(table, "drift_period", where, 6e13)),
    }


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
    if config.interferometer is not None:
        _check_interferometer(config)
    if (config.field is None) != (config.scan is None):
        raise ConfigError("[field] and [scan] go together: the sample and how it is scanned")
    if config.field is not None and (config.excitation.mode != "pulsed"
                                     or config.interferometer is not None):
        raise ConfigError("[field]: the scanned field is simulated under pulsed excitation, "
                          "without an interferometer")  # fmt: skip
    if config.excitation.mode == "cw" and any(d.line != "all" for d in setup.detectors):
        raise ConfigError(
            "spectral filters (a detector's line) are simulated under pulsed excitation only"
        )
    if config.excitation.mode == "cw" and setup.mode == "T3":
        raise ConfigError("T3 output needs pulsed excitation (nanotimes count from the sync)")


def _check_interferometer(config: SimConfig) -> None:
    """The HOM interferometer needs pulses, two detectors (its outputs) and photons that stay
    in their period (each is assigned to the pulse before it)."""
    if config.excitation.mode != "pulsed":
        raise ConfigError("[interferometer]: HOM interference of consecutive photons needs "
                          "pulsed excitation")  # fmt: skip
    if len(config.setup.detectors) != 2:
        raise ConfigError("[interferometer]: give exactly two detectors (its two outputs)")
    if any(d.line != "all" for d in config.setup.detectors):
        raise ConfigError("[interferometer]: its outputs see both lines; spectral filters "
                          "(a detector's line) are not simulated with it")  # fmt: skip
    longest = max(config.exciton.lifetime_ps, config.biexciton.lifetime_ps,
                  *(config.decay(s).lifetime_ps for s in config.blinking.states))  # fmt: skip
    if 8 * longest > config.excitation.period_ps:
        raise ConfigError(
            f"[interferometer]: the lifetime ({longest / 1e3:g} ns) must be below 1/8 of the "
            f"laser period ({config.excitation.period_ps / 1e3:g} ns) so that each photon "
            "meets the next pulse's"
        )
