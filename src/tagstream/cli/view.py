"""``tagstream view FILE.h5``: the web view of a run file — followed while another process
writes it, or browsed snapshot by snapshot once it is complete."""

from __future__ import annotations

import argparse
import threading

from ..view import ViewHub, ViewServer, parse_view_address
from ..view.feeds import FileFeed
from .live import print_elsewhere
from .signals import stop_on_signals

DEFAULT_LISTEN = "127.0.0.1:8050"


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``view`` command (a run file, where to listen, the token) to the subcommand
    parsers ``sub``."""
    p = sub.add_parser(
        "view",
        help="the web view of a run file: follow a run another process records, or browse one",
        description="Serves the page until Ctrl-C. For a run in this process, use "
        "`tagstream run CONFIG --view PORT` (or `replay FILE --view PORT`) instead.",
    )
    p.add_argument(
        "file", metavar="FILE.h5", help="a run file of tagstream (run, replay, simulate)"
    )
    p.add_argument(
        "--listen",
        metavar="[HOST:]PORT",
        default=DEFAULT_LISTEN,
        help=f"where to serve the page (default {DEFAULT_LISTEN}; any interface other than "
        "loopback needs a token, made and printed unless --token gives one; port 0: a free one)",
    )
    p.add_argument("--token", metavar="TOKEN", help="require this token in every request")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Serve the file's web view until Ctrl-C or SIGTERM; returns the exit status (0)."""
    address = parse_view_address(args.listen, args.token, where="--listen")
    feed = FileFeed(args.file)
    done = threading.Event()
    with ViewServer(ViewHub(feed), address) as server, stop_on_signals(lambda *a: done.set()):
        print(f"web view of {args.file}: {server.url}", flush=True)
        print_elsewhere(address, server.url)
        print("Ctrl-C stops it", flush=True)
        while not done.wait(0.5):
            pass
    return 0
