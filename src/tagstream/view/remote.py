"""The view's own process: it follows a live run from what the run's process hands it over a
pipe (see :mod:`.process`) and serves the page."""

from __future__ import annotations

import itertools
import signal
import sys
import threading
from multiprocessing.connection import Connection
from typing import Any

from ..analysis.measurement import load_plugins
from ..analysis.series import RecordedSeries
from ..analysis.summary_settings import SummarySettings
from ..errors import TagstreamError
from .address import ViewAddress
from .hub import ViewHub
from .live_feed import FollowedSeries
from .server import ViewServer

#: Seconds a control request waits for the run's answer.
CONTROL_TIMEOUT_S = 10.0


class RemoteFeed:
    """A live run followed from another process (the feed of :class:`~.hub.ViewHub`).

    Parameters
    ----------
    conn
        The pipe to the run's process.
    title
        What the page is titled (the run file).
    settings
        The run's analysis settings.
    """

    mode = "live"

    def __init__(self, conn: Any, title: str, settings: SummarySettings):
        self.title = title
        self.settings = settings
        self._conn = conn
        self._send_lock = threading.Lock()
        self._followed = FollowedSeries()
        self._status: dict[str, Any] = {"state": "starting", "t_s": None, "rates_cps": {}}
        self._changed = threading.Event()
        self._replies: dict[int, list] = {}
        self._numbers = itertools.count()
        self._replied = threading.Condition()

    @property
    def snapshots(self) -> int:
        """Bundles of snapshots received so far."""
        return self._followed.snapshots

    def receive(self) -> None:
        """Take what the run's process sends until it says stop or goes away."""
        while True:
            try:
                kind, value = self._conn.recv()
            except (EOFError, OSError):
                return
            if kind == "snapshots":
                self._followed.take(value)
                self._changed.set()
            elif kind == "follow":
                self._followed.follow(*value)
            elif kind == "status":
                self._status = value
            elif kind == "reply":
                with self._replied:
                    self._replies[value[0]] = value
                    self._replied.notify_all()
            elif kind == "stop":
                return

    def wait(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for new results; whether there are some."""
        changed = self._changed.wait(timeout_s)
        self._changed.clear()
        return changed

    def series(
        self, k: int | None = None, before_ps: int | None = None
    ) -> dict[str, RecordedSeries]:
        """The current segment's series and the run's own (``k`` is for files)."""
        return self._followed.series(before_ps)

    def status(self) -> dict[str, Any]:
        """The run's last status."""
        return dict(self._status)

    def control(self, op: str, args: dict[str, Any]) -> str:
        """Ask the run for ``op``; its answer.

        Raises
        ------
        TagstreamError
            The run refused, or did not answer.
        """
        number = next(self._numbers)
        clean = {k: v for k, v in args.items() if isinstance(v, (str, int, float, type(None)))}
        with self._send_lock:
            self._conn.send(("control", (number, op, clean)))
        with self._replied:
            if not self._replied.wait_for(lambda: number in self._replies, CONTROL_TIMEOUT_S):
                raise TagstreamError("the run did not answer")
            _, ok, text = self._replies.pop(number)
        if not ok:
            raise TagstreamError(text)
        return text


def serve(conn: Any, address: ViewAddress, title: str, table: dict[str, Any]) -> None:
    """The view process's work: serve the page for the run at the other end of ``conn`` until
    it says stop; then hand back the latencies the pages reported."""
    try:
        settings = SummarySettings.from_dict(table)
        load_plugins(settings.plugins)
        feed = RemoteFeed(conn, title, settings)
        server = ViewServer(ViewHub(feed), address)
        url = server.start()
    except TagstreamError as exc:
        conn.send(("error", str(exc)))
        return
    conn.send(("ready", url))
    try:
        feed.receive()
    finally:
        server.stop()  # the last panels and status go out first
        try:
            conn.send(("latencies", list(server.hub.latencies_s)))
        except (OSError, EOFError):
            pass


def main(fd: int) -> None:
    """Serve the view for the run at the other end of the socket ``fd`` (its first message
    says where and what). Signals are the run's to handle: the run says when to stop."""
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, signal.SIG_IGN)
    conn = Connection(fd)
    kind, args = conn.recv()
    if kind == "start":
        serve(conn, *args)
    conn.close()


if __name__ == "__main__":
    main(int(sys.argv[1]))
