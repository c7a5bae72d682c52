"""What ``tagstream run`` and ``tagstream replay`` share: signals, the live view, the report."""

from __future__ import annotations

from pathlib import Path

from ..pipeline.allocator import reuse_freed_memory
from ..pipeline.live_run import LivePipeline
from ..tags import format_time
from .live_view import LiveView, losses, rejections
from .signals import stop_on_signals


def run_live(pipeline: LivePipeline, duration_ps: int | None) -> Path:
    """Run the pipeline with the live view and signal handling; print what it did.

    Ctrl-C and SIGTERM end the run cleanly, like its end: the file is completed and the exit
    code is 0 (a second Ctrl-C does not wait)."""
    reuse_freed_memory()
    with stop_on_signals(pipeline.stop), LiveView(pipeline):
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
