"""How numbers read in the summary, the figure and the live status: values with errors, times,
count rates, and JSON-ready copies."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..tags import format_frequency


def value_with_error(value: float, error: float) -> str:
    """``value ± error`` with the error to two significant digits."""
    if not (math.isfinite(error) and error > 0):
        return f"{value:.4g}"
    digits = 1 - math.floor(math.log10(error))
    if not 0 <= digits <= 6:
        return f"{value:.4g} ± {error:.2g}"
    return f"{value:.{digits}f} ± {error:.{digits}f}"


def plus_minus(value: float | None, error: float | None, spec: str) -> str:
    """``value ± error`` both in format ``spec``; ``(no error)`` where the uncertainty is missing
    or zero, ``-`` for no value."""
    if value is None:
        return "-"
    if not error:
        return f"{format(value, spec)} (no error)"
    return f"{format(value, spec)} ± {format(error, spec)}"


def seconds(s: float) -> str:
    """A duration: ``12.5 ms`` below a second, else ``3.2 s``."""
    return f"{s * 1e3:.3g} ms" if abs(s) < 1 else f"{s:.4g} s"


def count_rate(rate: float) -> str:
    """A count rate: ``27.1 kcps``."""
    for scale, prefix in ((1e6, "M"), (1e3, "k")):
        if abs(rate) >= scale:
            return f"{rate / scale:.3g} {prefix}cps"
    return f"{rate:.3g} cps"


def hertz(rate: float) -> str:
    """A frequency to four digits: ``80 MHz``."""
    return format_frequency(rate, digits=4)


def plain(value: Any) -> Any:
    """JSON-ready copy: builtin types only, non-finite floats as ``None``."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [plain(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


def gate_ns(gate: tuple[int, int] | None) -> list[float] | None:
    """A nanotime gate (resolved, ps) in ns, for the summary JSON (``None``: every photon)."""
    return None if gate is None else [float(v) / 1e3 for v in gate]


def gate_text(gate: tuple[int, int] | None) -> str:
    """What a nanotime gate (resolved, ps) adds to a summary line."""
    ns = gate_ns(gate)
    return "" if ns is None else f"; photons {ns[0]:g}-{ns[1]:g} ns after the pulse"
