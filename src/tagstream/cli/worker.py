"""``tagstream worker``: an analysis worker for a running pipeline, on this host or another."""

from __future__ import annotations

import argparse
import os
import sys

from ..errors import TagstreamError
from ..pipeline.worker import PARENT_ENV, AnalysisWorker
from ..transport.security import WORKER_KEYS_ENV, ClientKeys
from ..transport.streams import check_endpoint


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``worker`` command (control endpoint, key folder, name) to the subcommand parsers
    ``sub``."""
    p = sub.add_parser(
        "worker",
        help="join a running pipeline as an analysis worker",
        description="Started by `tagstream run` for its local workers; start one by hand to "
        "analyse on another host (with [pipeline] workers = 0 and [pipeline] keys = DIR).",
    )
    p.add_argument("--control", required=True, metavar="ENDPOINT", help="the run's control socket")
    p.add_argument(
        "--keys",
        metavar="DIR",
        help="the run's key folder (from `tagstream keys`; this host needs its acquisition.key "
        "and worker.key_secret)",
    )
    p.add_argument("--name", help="how the worker is called in status reports")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Join the run at ``args.control`` as an analysis worker (with the keys of ``--keys``, or those
    its parent handed over) until the run ends; returns the worker's exit status."""
    handed = os.environ.pop(WORKER_KEYS_ENV, None)  # not passed on to anything it starts
    parent = os.environ.pop(PARENT_ENV, None)
    if args.keys is not None:
        keys = ClientKeys.from_folder(args.keys)
    elif handed is not None:
        keys = ClientKeys.from_env(handed)
    elif args.control.startswith("inproc://"):
        keys = None
    else:
        raise TagstreamError(
            f"--control {args.control}: give --keys DIR, the run's key folder (a run accepts "
            "only workers holding a key it trusts)"
        )
    parent_pid = int(parent) if parent and parent.isdigit() else None
    worker = AnalysisWorker(args.control, name=args.name, keys=keys, parent=parent_pid)
    if parent_pid is None:  # started by hand: say what it waits for, and when it is done
        check_endpoint(args.control)
        print(f"tagstream worker: joining the run at {args.control} ...", file=sys.stderr)
    code = worker.run()
    if parent_pid is None:
        print(f"tagstream worker: the run ended (exit code {code})", file=sys.stderr)
    return code
