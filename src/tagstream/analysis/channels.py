"""Resolving the channels an analysis works on, by name or number."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import ChannelError
from ..tags import ChannelMap, Role, resolve_channel
from ..tags.metadata import N_CHANNELS


def channel_label(number: int, channels: ChannelMap | None) -> str:
    """The channel's name in the channel map, else its number as text."""
    if channels is not None and number in channels:
        return channels.lookup(number).name
    return str(number)


def channel_key(key: str | int, channels: ChannelMap | None) -> str | int:
    """A channel's name as given, else a number written as text (``"2"`` from a TOML table) as
    that number."""
    if isinstance(key, str) and (channels is None or key not in channels):
        if key.strip().isdigit():
            return int(key)
    return key


def resolve_many(
    keys: str | int | Sequence[str | int] | None, channels: ChannelMap | None
) -> list[int]:
    """Channel numbers for the given keys; ``None`` means every detector channel of the map."""
    if keys is None:
        if channels is None:
            raise ChannelError("no channels given and no channel map to pick the detectors from")
        numbers = [c.number for c in channels.with_role(Role.DETECTOR)]
        if not numbers:
            raise ChannelError("the channel map has no detector channels")
        return numbers
    if isinstance(keys, (str, int, np.integer)):
        keys = [keys]
    numbers = [resolve_channel(k, channels) for k in keys]
    if len(set(numbers)) != len(numbers):
        raise ChannelError(f"channels listed twice: {list(keys)}")
    return numbers


def row_table(numbers: Sequence[int]) -> np.ndarray:
    """int16[256] mapping each channel number to its row; the others map to the scratch row
    ``len(numbers)`` that the kernels' histograms carry."""
    rows = np.full(N_CHANNELS, len(numbers), dtype=np.int16)
    for row, number in enumerate(numbers):
        rows[number] = row
    return rows


def selection_table(numbers: Sequence[int]) -> np.ndarray:
    """bool[256], true for the selected channel numbers."""
    sel = np.zeros(N_CHANNELS, dtype=np.bool_)
    sel[list(numbers)] = True
    return sel


def resolve_sync(key: str | int | None, channels: ChannelMap | None) -> int | None:
    """The sync channel: the one given, else the channel map's (``None`` if neither)."""
    if key is not None:
        return resolve_channel(key, channels)
    if channels is not None and channels.sync is not None:
        return channels.sync.number
    return None
