"""The simulated measurement setup as settings: the microscope's collection, the splitters and
spectral filters, the detectors and the tagger; and how ``[setup]`` is read."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from .config_fields import ConfigError, as_table, no_unknown, number_in, rate_hz, time_ps


@dataclass(frozen=True)
class Detector:
    """A single-photon detector behind the beam splitter.

    ``line`` is its spectral filter: ``"all"`` (none), ``"X"`` (the exciton line only) or
    ``"BX"`` (the biexciton line only). A dichroic mirror sends each line only to the detectors
    that pass it, shared among them as the splitters share the light.
    """

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
    line: str = "all"

    def passes(self, line: str) -> bool:
        """Whether the detector sees photons of ``line`` (``"X"``, ``"BX"``; ``"all"``: any
        light, as the uncorrelated background)."""
        return self.line == "all" or line in ("all", self.line)


#: The spectral filters a detector may have.
LINES = ("all", "X", "BX")


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
    no_unknown(table, (allowed - set(aliases.values())) | set(aliases), where)
    if "name" not in table or "channel" not in table:
        raise ConfigError(f"[{where}] needs a name and a channel")
    channel = table["channel"]
    if not isinstance(channel, int) or not 0 <= channel <= 255:
        raise ConfigError(f"{where}.channel: an integer 0..255, got {channel!r}")
    line = table.get("line", "all")
    if line not in LINES:
        raise ConfigError(f"{where}.line: one of {', '.join(map(repr, LINES))}, got {line!r}")
    return Detector(
        line=line,
        name=str(table["name"]),
        channel=channel,
        efficiency=number_in(table, "efficiency", where, 0.0, 1.0, 0.65),
        dark_rate_hz=rate_hz(table, "dark_rate", where, 100.0),
        dead_time_ps=int(time_ps(table, "dead_time", where, 22_000, positive=False)),
        jitter_ps=float(time_ps(table, "jitter", where, 35, positive=False)),
        jitter_tail_ps=float(time_ps(table, "jitter_tail", where, 0, positive=False)),
        jitter_tail_fraction=number_in(table, "jitter_tail_fraction", where, 0.0, 1.0, 0.0),
        afterpulsing=number_in(table, "afterpulsing", where, 0.0, 0.2, 0.0),
        afterpulse_delay_ps=int(time_ps(table, "afterpulse_delay", where, 100_000, positive=False)),
        afterpulse_spread_ps=float(
            time_ps(table, "afterpulse_spread", where, 20_000, positive=False)
        ),
        cable_delay_ps=int(time_ps(table, "cable_delay", where, 0, positive=False)),
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
    no_unknown(table, allowed, where)
    mode = str(table.get("mode", "T2"))
    if mode not in ("T2", "T3"):
        raise ConfigError(f"{where}.mode: 'T2' or 'T3', got {mode!r}")
    detectors = Setup().detectors
    if "detectors" in table:
        items = table["detectors"]
        if not isinstance(items, list) or not items:
            raise ConfigError(f"{where}.detectors: a list of at least one detector")
        detectors = tuple(
            _detector(as_table(d, f"{where}.detectors[{k}]"), f"{where}.detectors[{k}]")
            for k, d in enumerate(items)
        )
    return Setup(
        mode=mode,
        nanotime_unit_ps=float(time_ps(table, "nanotime_unit", where, 4)),
        collection_efficiency=number_in(table, "collection_efficiency", where, 0.0, 1.0, 0.05),
        splitter_ratio=number_in(table, "splitter_ratio", where, 0.0, 1.0, 0.5),
        background_rate_hz=rate_hz(table, "background_rate", where, 0.0),
        sync_channel=int(table.get("sync_channel", 0)),
        detectors=detectors,
    )
