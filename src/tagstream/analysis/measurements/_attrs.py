"""Series attributes shared by the built-in kinds."""

from __future__ import annotations

import math


def period_attr(period_ps: float | None) -> float:
    """A period as a series attribute: NaN when unknown."""
    return float("nan") if period_ps is None else float(period_ps)


def period(value: object) -> float | None:
    """A period read back from a series attribute."""
    value = float(value)
    return None if math.isnan(value) else value


def numbers_attr(numbers) -> str:
    """Channel numbers as a series attribute: ``"65,69"``."""
    return ",".join(str(int(n)) for n in numbers)


def numbers(value: object) -> tuple[int, ...]:
    """Channel numbers read back from a series attribute."""
    return tuple(int(n) for n in str(value).split(",") if n.strip())
