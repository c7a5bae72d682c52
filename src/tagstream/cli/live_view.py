"""The live terminal view of a running pipeline: one line, refreshed about once a second."""

from __future__ import annotations

import sys
import threading
from typing import Any, TextIO

from ..analysis.formatting import count_rate
from ..analysis.measurement import registered
from ..pipeline.live_run import LivePipeline

REFRESH_S = 1.0
#: Without a terminal, print a line this often, s.
LOG_EVERY_S = 10.0


class LiveView:
    """Shows a pipeline's status while it runs (a context manager around ``pipeline.run``)."""

    def __init__(self, pipeline: LivePipeline, stream: TextIO | None = None):
        self.pipeline = pipeline
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self._stop = threading.Event()
        self._warned = False
        self._thread = threading.Thread(target=self._loop, name="tagstream-view", daemon=True)

    def __enter__(self) -> LiveView:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(2 * REFRESH_S)  # a line still being computed is not waited for
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()

    def _loop(self) -> None:
        waited = 0.0
        while not self._stop.wait(REFRESH_S):
            waited += REFRESH_S
            self._warn_once()
            if not self.tty and waited < LOG_EVERY_S:
                continue
            waited = 0.0
            line = status_line(self.pipeline)
            if self.tty:
                self.stream.write("\r\x1b[2K" + line)
            else:
                self.stream.write(line + "\n")
            self.stream.flush()

    def _warn_once(self) -> None:
        """Say on a line of its own, once, that the source falls behind real time."""
        warning = self.pipeline.status().get("source_warning")
        if warning and not self._warned:
            self._warned = True
            self.stream.write(("\r\x1b[2K" if self.tty else "") + f"warning: {warning}\n")
            self.stream.flush()


def status_line(pipeline: LivePipeline) -> str:
    """``12.0 s | A 27.1 kcps B 26.8 kcps | g2(0) 0.03 ± 0.01 | tau 5.9 ns | ON 0.96 | ...``."""
    status = pipeline.status()
    specs, latest = pipeline.current()
    parts = [f"{status['t_s'] or 0:.1f} s"]
    rates = status["rates_cps"]
    if rates:
        parts.append(" ".join(f"{name} {count_rate(r)}" for name, r in rates.items() if r > 0))
    for cls in registered():
        if cls.live:
            parts.append(cls.live_status(specs, latest, pipeline.analysis) or "")
    parts.append(_lag(status))
    queued = status["writer_queue_mb"]
    parts.append(", ".join([*losses(status), *([f"writer {queued:.0f} MB queued"] * bool(queued))]))
    rejected = sum(status.get(key) or 0 for key, _ in _REJECTIONS)
    if rejected:
        parts.append(f"{rejected} rejected")
    return " | ".join(p for p in parts if p)


def _lag(status: dict[str, Any]) -> str:
    """``lag 0.02 s``: how far the results are behind the wall clock, counting both the
    analysis and a paced source that does not keep up with real time (then said so)."""
    known = [x for x in (status["lag_s"], status.get("source_lag_s")) if x is not None]
    if not known:
        return "lag —"
    note = " (source behind real time)" if status.get("source_warning") else ""
    return f"lag {max(known):.2f} s{note}"


def losses(status: dict[str, Any]) -> list[str]:
    """What a run lost to its analysis or refused so far, from its status: one phrase each,
    or ``["nothing lost"]``."""
    counted = [
        ("missed", "messages lost to the analysis"),
        ("malformed", "malformed messages"),
        ("malformed_results", "malformed results messages"),
        ("dropped_snapshots", "snapshots not stored"),
        ("restarts", "worker restarts"),
        ("analysis_gaps", "analysis gaps"),
    ]
    out = [f"{status[key]} {what}" for key, what in counted if status.get(key)]
    if status.get("service_error"):
        out.append("live results stopped")
    return out or ["nothing lost"]


#: What a run counts as turned away at its sockets, and how to say it.
_REJECTIONS = (
    ("malformed_control", "malformed control requests"),
    ("refused_requests", "control requests without a trusted key"),
    ("malformed_subscriptions", "malformed subscription messages"),
    ("refused_peers", "handshakes with keys the run does not trust"),
)


def rejections(status: dict[str, Any]) -> list[str]:
    """What the run turned away at its sockets so far (none of it reached the recording)."""
    return [f"{status[key]} {what}" for key, what in _REJECTIONS if status.get(key)]
