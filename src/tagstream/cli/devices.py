"""``tagstream devices``: the hardware the adapters find on this machine."""

from __future__ import annotations

import argparse

from ..sources.device_registry import ADAPTERS, find_devices


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``devices`` command to the subcommand parsers ``sub``."""
    p = sub.add_parser(
        "devices",
        help="list the time taggers and instruments found on this machine",
        description="Each adapter looks for its devices (serial ports, vendor libraries); "
        "an adapter whose library is missing says what to install. Use the adapter name "
        "and address in a run config's [source] (configs/device-*.toml).",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print the devices every adapter finds (adapter, address, description), what the adapters
    without devices say, and the adapters looked at; returns the exit status (0)."""
    found = find_devices()
    for name, address, text in found:
        if address:
            print(f"{name:24s} {address:24s} {text}")
    missing = [(name, text) for name, address, text in found if not address]
    looked = sorted({name for name, _, _ in found} | set(ADAPTERS))
    if not any(address for _, address, _ in found):
        print("no devices found")
    for name, text in missing:
        print(f"{name:24s} {'-':24s} {text}")
    print(f"adapters: {', '.join(looked)}")
    return 0
