"""``tagstream bench``: kernel throughput against numpy.sum and against peers."""

from __future__ import annotations

import argparse
import sys

from .output import check_writable, write_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="measure correlator throughput (tags/s, ratios)")
    p.add_argument("--json", metavar="OUT", help="also write the figures as JSON")
    p.add_argument("--quick", action="store_true", help="1 s of data instead of 10 s")
    p.add_argument("--repeats", type=int, default=3, help="best of this many runs (default 3)")
    p.add_argument("--force", action="store_true", help="overwrite the JSON file")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.json:
        check_writable(args.json, args.force)
    from ..benchmarks import run_suite
    from ..benchmarks.suite import format_table

    report = run_suite(quick=args.quick, repeats=args.repeats,
                       progress=lambda msg: print(f"  {msg}...", file=sys.stderr, flush=True))
    print(format_table(report))
    if args.json:
        write_json(args.json, report, args.force)
    return 0
