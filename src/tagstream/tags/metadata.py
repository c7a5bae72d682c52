"""Run metadata: the source, its settings, the time resolution and the named channel map."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ..errors import ChannelError, TagstreamError

MAX_CHANNEL = 255  # channels are stored as uint8
#: How many channel numbers there are (0..MAX_CHANNEL): the length of per-channel tables.
N_CHANNELS = MAX_CHANNEL + 1


class Role(StrEnum):
    """What a channel carries."""

    SYNC = "sync"
    DETECTOR = "detector"
    MARKER = "marker"


@dataclass(frozen=True, slots=True)
class Channel:
    """One input of the time tagger: its number in the tag stream, a name, and a role."""

    number: int
    name: str
    role: Role = Role.DETECTOR

    def __post_init__(self) -> None:
        if not 0 <= self.number <= MAX_CHANNEL:
            raise ChannelError(
                f"channel {self.name!r}: number {self.number} outside 0..{MAX_CHANNEL}"
            )
        if not self.name:
            raise ChannelError(f"channel {self.number}: the name must not be empty")
        object.__setattr__(self, "role", Role(self.role))


class ChannelMap:
    """The named channels of a run, looked up by name or by number.

    Parameters
    ----------
    channels
        The channels; numbers and names must be unique.
    """

    __slots__ = ("_by_name", "_by_number", "channels")

    def __init__(self, channels: Iterable[Channel]):
        self.channels: tuple[Channel, ...] = tuple(sorted(channels, key=lambda c: c.number))
        self._by_name: dict[str, Channel] = {}
        self._by_number: dict[int, Channel] = {}
        for ch in self.channels:
            if ch.name in self._by_name:
                raise ChannelError(f"channel name {ch.name!r} is used twice")
            if ch.number in self._by_number:
                raise ChannelError(f"channel number {ch.number} is used twice")
            self._by_name[ch.name] = ch
            self._by_number[ch.number] = ch

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any]) -> ChannelMap:
        """Build from ``{name: number}`` or ``{name: {"number": n, "role": r}}``."""
        channels = []
        for name, value in spec.items():
            if isinstance(value, Mapping):
                channels.append(
                    Channel(int(value["number"]), str(name), Role(value.get("role", "detector")))
                )
            else:
                channels.append(Channel(int(value), str(name)))
        return cls(channels)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """The map as ``{name: {"number": n, "role": role}}`` (its JSON form)."""
        return {c.name: {"number": c.number, "role": str(c.role)} for c in self.channels}

    def __iter__(self):
        return iter(self.channels)

    def __len__(self) -> int:
        return len(self.channels)

    def __contains__(self, key: object) -> bool:
        return key in self._by_name or key in self._by_number

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ChannelMap) and self.channels == other.channels

    def __repr__(self) -> str:
        inner = ", ".join(f"{c.name}={c.number}:{c.role}" for c in self.channels)
        return f"ChannelMap({inner})"

    def __getitem__(self, key: str | int) -> Channel:
        return self.lookup(key)

    def lookup(self, key: str | int) -> Channel:
        """Return the channel with this name or number."""
        if isinstance(key, str):
            if key in self._by_name:
                return self._by_name[key]
            known = ", ".join(self._by_name) or "none"
            raise ChannelError(f"no channel named {key!r} (channels: {known})")
        number = int(key)
        if number in self._by_number:
            return self._by_number[number]
        raise ChannelError(f"no channel number {number} in the channel map")

    def with_role(self, role: Role | str) -> tuple[Channel, ...]:
        """The channels of ``role``, in map order."""
        return tuple(c for c in self.channels if c.role == Role(role))

    @property
    def sync(self) -> Channel | None:
        """The sync channel, if the run has one."""
        syncs = self.with_role(Role.SYNC)
        return syncs[0] if syncs else None

    @property
    def detectors(self) -> tuple[Channel, ...]:
        """The detector channels, in map order."""
        return self.with_role(Role.DETECTOR)


def resolve_channel(key: str | int, channels: ChannelMap | None) -> int:
    """Turn a channel name or number into a channel number.

    Names need a channel map; numbers are accepted as they are when there is none.
    """
    if channels is not None:
        return channels.lookup(key).number
    if isinstance(key, str):
        raise ChannelError(f"channel {key!r} given by name, but these tags carry no channel map")
    number = int(key)
    if not 0 <= number <= MAX_CHANNEL:
        raise ChannelError(f"channel number {number} outside 0..{MAX_CHANNEL}")
    return number


@dataclass(slots=True)
class RunMetadata:
    """What a run carries once, up front, and stores with its results.

    Attributes
    ----------
    source
        Where the tags come from (``"simulator"``, ``"hydraharp"``, a file path, ...).
    channels
        Named channel map.
    mode
        ``"T2"`` (absolute timestamps, the sync is a channel) or ``"T3"`` (nanotimes after
        each sync).
    resolution_ps
        Timestamp resolution of the source, ps.
    sync_period_ps
        Period of the sync signal seen by the tagger (after any divider), ps; ``None`` for CW.
    laser_period_ps
        Repetition period of the laser itself, ps (the spacing of pulsed g2 peaks); defaults to
        ``sync_period_ps``.
    nanotime_unit_ps
        Unit of T3 nanotimes, ps.
    hbt_pair
        Names of the two detectors behind the beam splitter, if known.
    settings
        The source's settings, JSON-serialisable.
    nanotime_range_ps
        T3: the longest delay after the sync the unit records (its TCSPC range), ps; ``None``
        when every delay up to the sync period is recorded.
    """

    source: str
    channels: ChannelMap
    mode: str = "T2"
    resolution_ps: float = 1.0
    sync_period_ps: float | None = None
    nanotime_unit_ps: float | None = None
    hbt_pair: tuple[str, str] | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    laser_period_ps: float | None = None
    nanotime_range_ps: float | None = None

    def __post_init__(self) -> None:
        if self.laser_period_ps is None:
            self.laser_period_ps = self.sync_period_ps
        if self.mode not in ("T2", "T3"):
            raise TagstreamError(f"metadata: mode must be 'T2' or 'T3', got {self.mode!r}")
        if self.mode == "T3" and not self.nanotime_unit_ps:
            raise TagstreamError("metadata: T3 mode needs nanotime_unit_ps")
        if self.hbt_pair is not None:
            self.hbt_pair = (str(self.hbt_pair[0]), str(self.hbt_pair[1]))
            for name in self.hbt_pair:
                self.channels.lookup(name)

    def to_dict(self) -> dict[str, Any]:
        """The metadata as a JSON-ready dict (times in ps), read back by :meth:`from_dict`."""
        return {
            "source": self.source,
            "mode": self.mode,
            "resolution_ps": self.resolution_ps,
            "sync_period_ps": self.sync_period_ps,
            "laser_period_ps": self.laser_period_ps,
            "nanotime_unit_ps": self.nanotime_unit_ps,
            "nanotime_range_ps": self.nanotime_range_ps,
            "hbt_pair": list(self.hbt_pair) if self.hbt_pair else None,
            "channels": self.channels.to_dict(),
            "settings": self.settings,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RunMetadata:
        """Metadata from the dict of :meth:`to_dict` (missing optional fields take their
        defaults)."""
        pair = d.get("hbt_pair")
        return cls(
            source=str(d["source"]),
            channels=ChannelMap.from_dict(d["channels"]),
            mode=str(d.get("mode", "T2")),
            resolution_ps=float(d.get("resolution_ps", 1.0)),
            sync_period_ps=_float_or_none(d.get("sync_period_ps")),
            laser_period_ps=_float_or_none(d.get("laser_period_ps")),
            nanotime_unit_ps=_float_or_none(d.get("nanotime_unit_ps")),
            nanotime_range_ps=_float_or_none(d.get("nanotime_range_ps")),
            hbt_pair=None if pair is None else (str(pair[0]), str(pair[1])),
            settings=dict(d.get("settings", {})),
        )


def _float_or_none(value: Any) -> float | None:
    return None if value is None else float(value)
