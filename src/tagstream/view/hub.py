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


#: The "last N s" windows a page may choose, s.
WINDOWS_S = (10.0, 30.0, 60.0, 300.0)
#: Operations only the page that holds the controls may ask for.
CONTROLS = ("stop", "clear", "settings")


def kind_panels(
    cls: Any, series: dict[str, RecordedSeries], settings: Any,
    since: dict[str, RecordedSeries] | None,
) -> list[ViewPanel]:  # fmt: skip
    """The panels of one kind for ``series`` (what came since ``since``, when given); a kind
    whose panels fail gets one that says so."""
    try:
        return list(cls.view_panels(series, settings, since))
    except Exception as exc:  # a plug-in's fault must not take the page down
        reason = f"{type(exc).__name__}: {exc}"
        return [ViewPanel(cls.kind, cls.kind, 99, notes=(f"panel failed ({reason})",))]


class ViewHub:
    """Makes the page's messages from ``feed`` and hands them to ``publish``.

    Parameters
    ----------
    feed
        A :class:`~tagstream.view.remote.RemoteFeed` or :class:`~tagstream.view.feeds.FileFeed`.

    Attributes
    ----------
    publish
        Called from the hub's thread with each message for every page (set by the server).
    latencies_s
        Publication-to-page latency of each panel update the pages reported: ``(panel key,
        s)``.
    """

    def __init__(self, feed: Any):
        self.feed = feed
        self.publish: Callable[[dict[str, Any]], None] = lambda message: None
        self.latencies_s: list[tuple[str, float]] = []
        #: The last panels sent for each window, by panel key (for a page that connects).
        self.latest_panels: dict[float | None, dict[str, dict[str, Any]]] = {}
        self._cost: dict[str, float] = {}  # time each kind took to make its panels, s
        self._latest_lock = threading.Lock()
        #: The windows the following pages show ("last N s"; ``None``: since the start).
        self.windows: set[float | None] = {None}
        self._resend = False
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
            try:
                panels_due |= self.feed.wait(wait) or self._resend
                if panels_due:
                    panels_due = self._resend = False
                    self._publish_panels()
                if time.monotonic() >= next_status:
                    next_status = time.monotonic() + STATUS_EVERY_S
                    self.publish(self.status())
            except Exception as exc:  # the page says so, and the hub goes on
                self.publish({"type": "reply", "op": None, "ok": False,
                              "text": f"the view failed to update ({type(exc).__name__}: {exc})"})
                time.sleep(STATUS_EVERY_S)
        self._publish_panels()  # the run's last results
        self.publish(self.status())

    def _publish_panels(self) -> None:
        """Each kind's panels as soon as they are made, the quickest kinds first (a slow fit
        does not hold up the kinds that need none); a panel equal to the one last sent is not
        sent again (new results of one kind leave the others' panels as they were)."""
        for window in list(self.windows):
            latest = self.latest_panels.setdefault(window, {})
            series, since, note = self._inputs(None, window)
            for cls in sorted(registered(), key=lambda c: self._cost.get(c.kind, 0.0)):
                start = time.perf_counter()
                made = [p.to_dict() for p in kind_panels(cls, series, self.feed.settings, since)]
                self._cost[cls.kind] = time.perf_counter() - start
                with self._latest_lock:
                    changed = [p for p in made if latest.get(p["key"]) != p]
                    latest.update({p["key"]: p for p in changed})
                if changed:
                    self.publish(self._message(changed, None, window, note))

    def resend(self, window: float | None) -> None:
        """Send every panel of ``window`` again at the next update, changed or not (a page has
        just joined it, and may have missed what was sent while its answer was made)."""
        with self._latest_lock:
            self.latest_panels.pop(window, None)
        self._resend = True

    def latest(self, window: float | None = None) -> dict[str, Any] | None:
        """The last panels sent for ``window``, as one message (for a page that connects)."""
        with self._latest_lock:
            panels = list(self.latest_panels.get(window, {}).values())
        if not panels:
            return None
        message = self._message([], None, window, None)
        message["panels"] = sorted(panels, key=lambda p: p["slot"])
        return message

    def _inputs(
        self, k: int | None, window_s: float | None
    ) -> tuple[dict, dict | None, str | None]:
        """The series to show (at snapshot ``k`` of a file), the series ``window_s`` before them
        (``None``: since the segment's start) and a note when there is not that much data."""
        series = self.feed.series(k)
        since, note = None, None
        if window_s is not None:
            ends = [int(s.covered_ps[-1, 1]) for s in series.values() if len(s)]
            if ends:
                since = self.feed.series(k, before_ps=max(ends) - round(window_s * 1e12)) or None
            if since is None:
                note = (f"last {window_s:g} s: this analysis segment holds less (or its older "
                        "snapshots are no longer kept); showing the whole segment")  # fmt: skip
        return series, since, note

    def _message(self, panels: list, k: int | None, window_s: float | None,
                 note: str | None) -> dict[str, Any]:  # fmt: skip
        return {
            "type": "panels",
            "panels": [p.to_dict() if isinstance(p, ViewPanel) else p for p in panels],
            "snapshots": self.feed.snapshots,
            "shown": k,
            "window_s": window_s,
            "note": note,
            "sent_s": time.time(),
        }

    def panels(self, k: int | None = None, window_s: float | None = None) -> dict[str, Any]:
        """One ``panels`` message with every kind's panels for the latest results (``k``:
        snapshot ``k`` of a file), of the last ``window_s`` seconds of data (``None``: since
        the segment's start)."""
        series, since, note = self._inputs(k, window_s)
        panels = [p for cls in registered()
                  for p in kind_panels(cls, series, self.feed.settings, since)]  # fmt: skip
        message = self._message(sorted(panels, key=lambda p: p.slot), k, window_s, note)
        message["complete"] = True  # every panel there is: the page drops any other
        return message

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
                    key = str(message.get("key"))[:40]
                    self.latencies_s.append((key, float(shown) - float(published)))
            return None
        if op == "show":  # a file's snapshot k (or the latest: null), in a window
            k, window = message.get("k"), message.get("window_s")
            if k is not None and (not isinstance(k, int) or isinstance(k, bool) or k < 0):
                return _reply(op, False, "k must be a snapshot number")
            if window is not None and window not in WINDOWS_S:
                return _reply(op, False, f"window_s must be one of {WINDOWS_S} or null")
            return self.panels(k, window)
        if op not in CONTROLS:
            return _reply(str(op)[:40], False, "unknown request")
        if not controls:
            return _reply(op, False, "another page holds the controls; this one watches")
        try:
            return _reply(op, True, self.feed.control(op, message))
        except TagstreamError as exc:
            return _reply(op, False, str(exc))


def _reply(op: str, ok: bool, text: str) -> dict[str, Any]:
    return {"type": "reply", "op": op, "ok": ok, "text": text}
