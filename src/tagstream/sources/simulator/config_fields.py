"""Reading the simulator's settings: tables, unknown keys, numbers, times and rates with their
ranges, each mistake a one-line :class:`ConfigError` naming the setting."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ...errors import TagstreamError
from ...tags import parse_frequency, parse_time


class ConfigError(TagstreamError):
    """A simulator setting is missing, unknown or out of range."""


def as_table(value: Any, key: str) -> dict[str, Any]:
    """``value`` as a table (a copy), or an error naming ``[key]``."""
    if not isinstance(value, Mapping):
        raise ConfigError(f"[{key}] must be a table")
    return dict(value)


def no_unknown(table: Mapping[str, Any], allowed: set[str], where: str) -> None:
    """An error naming the first key of ``table`` that is not ``allowed``."""
    unknown = sorted(set(table) - allowed)
    if unknown:
        place = f"[{where}] " if where else ""
        known = ", ".join(sorted(allowed))
        raise ConfigError(f"{place}unknown setting {unknown[0]!r} (known: {known})")


def number_in(table: Mapping[str, Any], key: str, where: str, lo: float, hi: float, default):
    """The number ``table[key]`` in ``[lo, hi]`` (``default`` when absent)."""
    if key not in table:
        return default
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{where}.{key}: expected a number, got {value!r}")
    if not lo <= value <= hi:
        raise ConfigError(f"{where}.{key}: {value} is outside [{lo}, {hi}]")
    return float(value)


def time_ps(table: Mapping[str, Any], key: str, where: str, default, positive: bool = True):
    """The time ``table[key]`` in ps (``"none"``, ``"never"``, ``"inf"``: infinite;
    ``default`` when absent); positive, or with ``positive=False`` not negative."""
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


def rate_hz(table: Mapping[str, Any], key: str, where: str, default, positive: bool = False):
    """The rate ``table[key]`` in Hz, not negative (``positive``: above 0)."""
    if key not in table:
        return default
    hz = parse_frequency(table[key], f"{where}.{key}")
    if hz < 0 or (positive and hz == 0):
        raise ConfigError(f"{where}.{key}: must be {'positive' if positive else 'non-negative'}")
    return hz
