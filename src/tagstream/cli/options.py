"""Options that several verbs share."""

from __future__ import annotations

import argparse
import dataclasses
import tomllib

from ..analysis.summary_settings import SummarySettings
from ..errors import TagstreamError
from ..tags import parse_time


def add_delay_option(parser: argparse.ArgumentParser) -> None:
    """Add the repeatable ``--delay CHANNEL=DELAY`` option (a channel's cable delay) to
    ``parser``."""
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


def add_set_option(parser: argparse.ArgumentParser) -> None:
    """Add the repeatable ``--set KEY=VALUE`` option (an ``[analysis]`` setting over the config's)
    to ``parser``."""
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an [analysis] setting, over the config's: --set trace_bin=1ms, --set "
        "gate='[\"1 ns\", \"50 ns\"]', --set irf=irf.h5, --set thresholds_cps=15000 "
        "(repeatable; VALUE in TOML, or plain text)",
    )


def with_settings(settings: SummarySettings, given: list[str]) -> SummarySettings:
    """``settings`` with the ``--set KEY=VALUE`` options applied (checked like the config)."""
    if not given:
        return settings
    table = settings.to_table()
    for key, value in key_values(given, "trace_bin=1ms"):
        kind, dot, own = key.partition(".")
        if dot:  # a measurement kind's own setting: --set coincidences.window=2ns
            table[kind] = {**dict(table.get(kind) or {}), own: value}
        else:
            table[key] = value
    try:
        return SummarySettings.from_dict(table)
    except TagstreamError as exc:
        raise TagstreamError(f"--set: {exc}") from None


def key_values(given: list[str], example: str) -> list[tuple[str, object]]:
    """``--set KEY=VALUE`` options as ``(key, value)``, VALUE read as TOML (else as text); a
    one-line error shows ``example``."""
    out = []
    for item in given:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise TagstreamError(f"--set {item!r}: give KEY=VALUE, e.g. --set {example}")
        out.append((key.strip(), _toml_value(text.strip())))
    return out


def _toml_value(text: str) -> object:
    """A TOML value (number, boolean, array, quoted string), else the text itself."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def check_duration(text: str | None, option: str = "--duration") -> None:
    """A run length given on the command line: a positive time (checked before any work)."""
    if text is not None and parse_time(text, option) <= 0:
        raise TagstreamError(f"{option} {text}: give a positive time, e.g. {option} 10s")


def add_view_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--view [HOST:]PORT`` and ``--view-token TOKEN`` (the live web view) to ``parser``."""
    parser.add_argument(
        "--view",
        metavar="[HOST:]PORT",
        help="serve the live web view here (127.0.0.1 unless a host is given; any other "
        "interface needs a token, made and printed unless --view-token gives one); 0: a free port",
    )
    parser.add_argument("--view-token", metavar="TOKEN", help="the web view's token")
