"""The web view's messages: the panels of every measurement kind in the registry, and the run's
status, made in a thread of their own from a feed (:mod:`.feeds`) and handed to the server.

Messages are JSON objects with a ``type``: ``panels`` (when new results arrive),
``status`` (every :data:`STATUS_EVERY_S`: the count rates for alignment), ``hello`` (to a page
that connects) and ``reply`` (to a page's request).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from ..analysis.measurement import registered
from ..analysis.series import RecordedSeries
from ..analysis.view_panel import ViewPanel
from ..errors import TagstreamError

#: Seconds between status messages (count rates): 5 updates per second.
STATUS_EVERY_S = 0.2
#: Latencies kept (publication of a snapshot to its panel drawn in a page), s.
MAX_LATENCIES = 10_000


def build_panels(series: dict[str, RecordedSeries], settings: Any) -> list[ViewPanel]:
    """The panels of every registered kind for ``series``, in slot order; a kind whose panel
    fails gets a panel that says so."""
    out: list[ViewPanel] = []
    for cls in registered():
        try:
            out += cls.view_panels(series, settings)
        except Exception as exc:  # a plug-in's fault must not take the page down
            reason = f"{type(exc).__name__}: {exc}"
            out.append(ViewPanel(cls.kind, cls.kind, 99, notes=(f"panel failed ({reason})",)))
    return sorted(out, key=lambda p: p.slot)


class ViewHub:
    """Makes the page's messages from ``feed`` and hands them to ``publish``.

    Parameters
    ----------
    feed
        A :class:`~tagstream.view.feeds.LiveFeed` or :class:`~tagstream.view.feeds.FileFeed`.

    Attributes
    ----------
    publish
        Called from the hub's thread with each message for every page (set by the server).
    latencies_s
        Publication-to-page latency of each panel update the pages reported, s.
    """

    def __init__(self, feed: Any):
        self.feed = feed
        self.publish: Callable[[dict[str, Any]], None] = lambda message: None
        self.latencies_s: list[float] = []
        self.latest_panels: dict[str, Any] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="tagstream-view-hub", daemon=True)

    def start(self) -> None:
        """Start making messages."""
        self._thread.start()

    def stop(self) -> None:
        """Stop (after the last results were sent)."""
        self._stop.set()
        self._thread.join(5)

    def _loop(self) -> None:
        next_status = time.monotonic()
        panels_due = True
        while not self._stop.is_set():
            wait = max(0.0, next_status - time.monotonic())
            panels_due |= self.feed.wait(wait)
            if panels_due:
                panels_due = False
                self.latest_panels = self.panels()
                self.publish(self.latest_panels)
            if time.monotonic() >= next_status:
                next_status = time.monotonic() + STATUS_EVERY_S
                self.publish(self.status())
        self.latest_panels = self.panels()  # the run's last results
        self.publish(self.latest_panels)
        self.publish(self.status())

    def panels(self, k: int | None = None) -> dict[str, Any]:
        """The ``panels`` message for the latest results (``k``: snapshot ``k`` of a file)."""
        series = self.feed.series(k)
        panels = build_panels(series, self.feed.settings)
        return {
            "type": "panels",
            "panels": [p.to_dict() for p in panels],
            "snapshots": self.feed.snapshots,
            "shown": k,
            "sent_s": time.time(),
        }

    def status(self) -> dict[str, Any]:
        """The ``status`` message: the feed's status now."""
        return {"type": "status", **self.feed.status(), "sent_s": time.time()}

    def hello(self, control: bool) -> dict[str, Any]:
        """The ``hello`` message to a page that connects: what it views and whether it controls."""
        return {"type": "hello", "mode": self.feed.mode, "title": self.feed.title,
                "control": control}  # fmt: skip

    def request(self, message: dict[str, Any], controls: bool) -> dict[str, Any] | None:
        """The answer to a page's ``message`` (``None`` for none); ``controls``: whether that page
        holds the controls."""
        op = message.get("op")
        if op == "shown":  # a panel drawn: its latency
            published, shown = message.get("published_s"), message.get("shown_s")
            if isinstance(published, (int, float)) and isinstance(shown, (int, float)):
                if len(self.latencies_s) < MAX_LATENCIES:
                    self.latencies_s.append(float(shown) - float(published))
            return None
        if op == "show":  # a file's snapshot k (or the latest: null)
            k = message.get("k")
            if k is not None and not isinstance(k, int):
                return _reply(op, False, "k must be a snapshot number")
            return self.panels(k)
        if not isinstance(op, str) or not op.isidentifier():
            return _reply(str(op)[:40], False, "unknown request")
        if not controls:
            return _reply(op, False, "another page holds the controls; this one watches")
        try:
            return _reply(op, True, self.feed.control(op))
        except TagstreamError as exc:
            return _reply(op, False, str(exc))


def _reply(op: str, ok: bool, text: str) -> dict[str, Any]:
    return {"type": "reply", "op": op, "ok": ok, "text": text}
