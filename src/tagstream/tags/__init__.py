"""Layer 1: the tag model (batches, run metadata, intervals) and units."""

from . import intervals
from .batch import TagBatch
from .batch_checks import CHANNEL_DTYPE, TIMESTAMP_DTYPE
from .metadata import Channel, ChannelMap, Role, RunMetadata, resolve_channel
from .units import (
    format_frequency,
    format_time,
    parse_frequency,
    parse_period_ps,
    parse_power_w,
    parse_time,
    parse_time_range,
)

__all__ = [
    "CHANNEL_DTYPE",
    "TIMESTAMP_DTYPE",
    "Channel",
    "ChannelMap",
    "Role",
    "RunMetadata",
    "TagBatch",
    "format_frequency",
    "format_time",
    "intervals",
    "parse_frequency",
    "parse_period_ps",
    "parse_power_w",
    "parse_time",
    "parse_time_range",
    "resolve_channel",
]
