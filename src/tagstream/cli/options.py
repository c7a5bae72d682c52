"""Options that several verbs share."""

from __future__ import annotations

import argparse
import dataclasses

from ..analysis.summary_settings import SummarySettings
from ..errors import TagstreamError


def add_delay_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--delay",
        action="append",
        default=[],
        metavar="CHANNEL=DELAY",
        help="cable delay to take off a channel's tags, e.g. --delay B=5ns (repeatable; "
        "adds to [analysis] delays)",
    )


def with_delays(settings: SummarySettings, given: list[str]) -> SummarySettings:
    """``settings`` with the ``--delay CHANNEL=DELAY`` options added to its delays."""
    if not given:
        return settings
    delays = dict(settings.delays or {})
    for item in given:
        channel, sep, delay = item.partition("=")
        if not sep or not channel.strip() or not delay.strip():
            raise TagstreamError(f"--delay {item!r}: give CHANNEL=DELAY, e.g. --delay B=5ns")
        delays[channel.strip()] = delay.strip()
    return dataclasses.replace(settings, delays=delays)
