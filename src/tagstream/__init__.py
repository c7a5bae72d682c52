"""tagstream: a photon time-tag engine for single-emitter spectroscopy.

>>> import tagstream as ts
>>> g = ts.g2(tags, "A", "B", window="100 ns", bin="100 ps")   # doctest: +SKIP
"""

from .analysis.api import blinking, flid, g2, g2_log, lifetime, trace
from .analysis.blinking import BlinkingResult
from .analysis.flid import FlidAnalyzer, FlidResult
from .analysis.g2 import G2Analyzer, G2Result
from .analysis.g2_log import LogG2Analyzer, LogG2Result
from .analysis.g2_zero import G2Zero
from .analysis.lifetime import DecayResult, LifetimeAnalyzer
from .analysis.state_resolved import g2_in_state, in_state, state_lifetimes
from .analysis.trace import TraceAnalyzer, TraceResult
from .errors import TagstreamError
from .pipeline.offline import summary
from .pipeline.result_series import read_results as results
from .sources.files import open_run as open
from .sources.simulator import simulate
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

__version__ = "0.1.0"

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
    "flid",
    "format_time",
    "g2",
    "g2_in_state",
    "g2_log",
    "in_state",
    "lifetime",
    "open",
    "parse_frequency",
    "parse_period_ps",
    "parse_time",
    "results",
    "simulate",
    "state_lifetimes",
    "summary",
    "trace",
]
