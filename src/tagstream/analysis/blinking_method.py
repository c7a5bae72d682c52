"""Which method finds the blinking states of a run (the ``blinking_method`` setting)."""

from __future__ import annotations

from typing import Any


def blinking_method(settings: Any) -> str:
    """``"levels"`` or ``"thresholds"``: the settings' blinking method, ``"auto"`` resolved
    (levels, unless thresholds are given)."""
    if settings.blinking_method != "auto":
        return settings.blinking_method
    return "thresholds" if settings.thresholds_cps is not None else "levels"
