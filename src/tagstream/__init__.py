"""tagstream: a photon time-tag engine for single-emitter spectroscopy.

>>> import tagstream as ts
>>> g = ts.g2(tags, "A", "B", window="100 ns", bin="100 ps")   # doctest: +SKIP

The names below are loaded on first use, so that ``import tagstream`` (and the command line's
start) is quick and an early Ctrl-C never lands in the middle of importing numba or scipy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__ as __version__

#: Public name -> the module (relative to this package) that defines it, and its name there.
_EXPORTS: dict[str, tuple[str, str]] = {
    "blinking": (".analysis.api", "blinking"),
    "flid": (".analysis.api", "flid"),
    "g2": (".analysis.api", "g2"),
    "g2_log": (".analysis.api", "g2_log"),
    "image": (".pipeline.scan_images", "image"),
    "find_dots": (".analysis.dots", "find_dots"),
    "lifetime": (".analysis.api", "lifetime"),
    "trace": (".analysis.api", "trace"),
    "BlinkingResult": (".analysis.blinking", "BlinkingResult"),
    "FlidAnalyzer": (".analysis.flid", "FlidAnalyzer"),
    "FlidResult": (".analysis.flid", "FlidResult"),
    "G2Analyzer": (".analysis.g2", "G2Analyzer"),
    "G2Result": (".analysis.g2", "G2Result"),
    "LogG2Analyzer": (".analysis.g2_log", "LogG2Analyzer"),
    "LogG2Result": (".analysis.g2_log", "LogG2Result"),
    "G2Zero": (".analysis.g2_zero", "G2Zero"),
    "DecayResult": (".analysis.lifetime", "DecayResult"),
    "LifetimeAnalyzer": (".analysis.lifetime", "LifetimeAnalyzer"),
    "g2_in_state": (".analysis.state_resolved", "g2_in_state"),
    "in_state": (".analysis.state_resolved", "in_state"),
    "state_lifetimes": (".analysis.state_resolved", "state_lifetimes"),
    "TraceAnalyzer": (".analysis.trace", "TraceAnalyzer"),
    "TraceResult": (".analysis.trace", "TraceResult"),
    "TagstreamError": (".errors", "TagstreamError"),
    "summary": (".pipeline.offline", "summary"),
    "population": (".pipeline.population", "population"),
    "results": (".pipeline.result_series", "read_results"),
    "open": (".sources.files", "open_run"),
    "simulate": (".sources.factory", "simulate"),
    "virtual_channels": (".sources.virtual_run", "with_virtual_channels"),
    "Channel": (".tags", "Channel"),
    "ChannelMap": (".tags", "ChannelMap"),
    "Role": (".tags", "Role"),
    "RunMetadata": (".tags", "RunMetadata"),
    "TagBatch": (".tags", "TagBatch"),
    "format_time": (".tags", "format_time"),
    "parse_frequency": (".tags", "parse_frequency"),
    "parse_period_ps": (".tags", "parse_period_ps"),
    "parse_time": (".tags", "parse_time"),
}

__all__ = [
    "BlinkingResult",
    "Channel",
    "ChannelMap",
    "DecayResult",
    "FlidAnalyzer",
    "FlidResult",
    "G2Analyzer",
    "G2Result",
    "G2Zero",
    "LifetimeAnalyzer",
    "LogG2Analyzer",
    "LogG2Result",
    "Role",
    "RunMetadata",
    "TagBatch",
    "TagstreamError",
    "TraceAnalyzer",
    "TraceResult",
    "blinking",
    "find_dots",
    "flid",
    "format_time",
    "g2",
    "g2_in_state",
    "g2_log",
    "image",
    "in_state",
    "lifetime",
    "open",
    "parse_frequency",
    "parse_period_ps",
    "parse_time",
    "population",
    "results",
    "simulate",
    "state_lifetimes",
    "summary",
    "trace",
    "virtual_channels",
]


def __getattr__(name: str) -> Any:
    try:
        module, attribute = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'tagstream' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module, __name__), attribute)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


if TYPE_CHECKING:  # what type checkers and IDEs see
    from .analysis.api import blinking, flid, g2, g2_log, lifetime, trace
    from .analysis.blinking import BlinkingResult
    from .analysis.dots import find_dots
    from .analysis.flid import FlidAnalyzer, FlidResult
    from .analysis.g2 import G2Analyzer, G2Result
    from .analysis.g2_log import LogG2Analyzer, LogG2Result
    from .analysis.g2_zero import G2Zero
    from .analysis.lifetime import DecayResult, LifetimeAnalyzer
    from .analysis.state_resolved import g2_in_state, in_state, state_lifetimes
    from .analysis.trace import TraceAnalyzer, TraceResult
    from .errors import TagstreamError
    from .pipeline.offline import summary
    from .pipeline.population import population
    from .pipeline.result_series import read_results as results
    from .pipeline.scan_images import image
    from .sources.factory import simulate
    from .sources.files import open_run as open  # noqa: A004  (ts.open: the documented API)
    from .tags import (
        Channel,
        ChannelMap,
        Role,
        RunMetadata,
        TagBatch,
        format_time,
        parse_frequency,
        parse_period_ps,
        parse_time,
    )
