"""What ``tagstream run`` and ``tagstream replay`` share: signals, the live view, the report."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..pipeline.allocator import reuse_freed_memory
from ..pipeline.live_run import LivePipeline
from ..tags import format_time
from .live_view import LiveView, losses, rejections


@contextmanager
def stopped_by_signals(pipeline: LivePipeline) -> Iterator[None]:
    """Ctrl-C and SIGTERM end the run cleanly (the file is completed) instead of killing it."""

    def handler(signum: int, frame: object) -> None:
        pipeline.stop("stopped by " + ("Ctrl-C" if signum == signal.SIGINT else "SIGTERM"))

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def run_live(pipeline: LivePipeline, duration_ps: int | None) -> Path:
    """Run the pipeline with the live view and signal handling; print what it did."""
    reuse_freed_memory()
    with stopped_by_signals(pipeline), LiveView(pipeline):
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
