"""``tagstream bench``: kernel throughput against numpy.sum and against peers."""

from __future__ import annotations

import argparse
import sys

from ..errors import TagstreamError
from .output import check_writable, write_json


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``bench`` command (simulated length in s, repeats, threads, peers, JSON output) to
    the subcommand parsers ``sub``."""
    p = sub.add_parser("bench", help="measure correlator throughput (tags/s, ratios)")
    p.add_argument("--json", metavar="OUT", help="also write the figures as JSON")
    p.add_argument(
        "--seconds",
        type=float,
        default=10.0,
        help="length of the simulated measurement, s (default 10; 2 Mtags/s)",
    )
    p.add_argument("--repeats", type=int, default=3, help="best of this many runs (default 3)")
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="threads per analyzer (default: the machine's cores, at most 4)",
    )
    p.add_argument("--no-peers", action="store_true", help="skip tttrlib, pycorrelate and numpy")
    p.add_argument("--force", action="store_true", help="overwrite the JSON file")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Measure the correlators' throughput (tags/s, and ratios to ``numpy.sum``) on simulated data,
    print the table and write it as JSON if asked; returns the exit status (0)."""
    if args.json:
        check_writable(args.json, args.force)
    from ..benchmarks import run_suite
    from ..benchmarks.suite import format_table

    if args.seconds <= 0 or args.repeats < 1:
        raise TagstreamError("bench: --seconds must be positive and --repeats at least 1")
    report = run_suite(
        seconds=args.seconds,
        repeats=args.repeats,
        peers_too=not args.no_peers,
        threads=args.threads,
        progress=lambda msg: print(f"  {msg}...", file=sys.stderr, flush=True),
    )
    print(format_table(report))
    if args.json:
        write_json(args.json, report, args.force)
    return 0
