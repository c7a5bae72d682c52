"""``tagstream worker``: an analysis worker for a running pipeline, on this host or another."""

from __future__ import annotations

import argparse

from ..pipeline.worker import AnalysisWorker


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "worker",
        help="join a running pipeline as an analysis worker",
        description="Started by `tagstream run` for its local workers; start one by hand to "
        "analyse on another host (with [pipeline] workers = 0).",
    )
    p.add_argument("--control", required=True, metavar="ENDPOINT", help="the run's control socket")
    p.add_argument("--name", help="how the worker is called in status reports")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    return AnalysisWorker(args.control, name=args.name).run()
