"""What ``tagstream run`` and ``tagstream replay`` share: signals, the live views (terminal and
web), the report."""

from __future__ import annotations

import argparse
import socket
from contextlib import ExitStack
from pathlib import Path

from ..errors import TagstreamError
from ..pipeline.allocator import reuse_freed_memory
from ..pipeline.live_run import LivePipeline
from ..tags import format_time
from ..view import ViewAddress, ViewProcess, parse_view_address
from .live_view import LiveView, losses, rejections
from .signals import stop_on_signals


def view_address(args: argparse.Namespace) -> ViewAddress | None:
    """The web view's address from ``--view`` and ``--view-token`` (``None``: no web view)."""
    if args.view is None:
        if args.view_token is not None:
            raise TagstreamError("--view-token needs --view [HOST:]PORT")
        return None
    return parse_view_address(args.view, args.view_token)


def print_elsewhere(view: ViewAddress, url: str) -> None:
    """For a view on every interface, the address other machines use (this host's name)."""
    if view.host in ("0.0.0.0", "::", ""):
        elsewhere = url.replace("127.0.0.1", socket.gethostname(), 1)
        print(f"from other machines: {elsewhere} (or this machine's address)", flush=True)


def run_live(pipeline: LivePipeline, duration_ps: int | None,
             view: ViewAddress | None = None) -> Path:  # fmt: skip
    """Run the pipeline with the live views and signal handling; print what it did.

    Ctrl-C and SIGTERM end the run cleanly, like its end: the file is completed and the exit
    code is 0 (a second Ctrl-C does not wait). With ``view``, the web view is served while the
    run goes on (its address printed first) and closes when the run ends."""
    reuse_freed_memory()
    with ExitStack() as stack:
        if view is not None:
            server = ViewProcess(pipeline, view)
            url = server.start()
            stack.callback(server.stop)
            print(f"web view: {url}", flush=True)
            print_elsewhere(view, url)
        stack.enter_context(stop_on_signals(pipeline.stop))
        stack.enter_context(LiveView(pipeline))
        out = pipeline.run(duration_ps)
    status = pipeline.status()
    t_s = status["t_s"] or 0.0
    print(f"wrote {out} ({format_time(round(t_s * 1e12))}, {status['tags']} tags)")
    if pipeline.stop_reason:
        print(f"run {pipeline.stop_reason}")
    print("analysis: " + ", ".join(losses(status)))
    turned_away = rejections(status)
    if turned_away:
        print("rejected: " + ", ".join(turned_away))
    for note in pipeline.notes:
        print(f"note: {note}")
    return out
