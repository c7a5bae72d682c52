"""The web view of a live run, served from a process of its own.

The view runs as ``python -m tagstream.view.remote`` (whatever script started the run), and
the run's process keeps only a bridge thread: it hands the workers' snapshots (as the run stores
them), the run's status (5 times a second) and the series of each new analysis segment to the
view's process over a pipe, and carries the controlling page's requests back. Making panels
(fits), JSON and the web server then never compete with the recording for the run's
interpreter, and a fault of the view cannot touch the recording.
"""

from __future__ import annotations

import os
import queue
import socket
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

from ..errors import TagstreamError
from ..pipeline.live_run import LivePipeline
from .address import ViewAddress
from .hub import STATUS_EVERY_S
from .live_feed import live_control, live_status

#: Seconds the view's process may take to start listening (it imports the analyses).
START_TIMEOUT_S = 60.0


class ViewProcess:
    """Serves the web view of ``pipeline`` at ``address`` from a child process.

    Parameters
    ----------
    pipeline
        The live run (before it runs).
    address
        Where the view listens, and its token.

    Attributes
    ----------
    latencies_s
        After :meth:`stop`: the publication-to-page latency of each panel update the pages
        reported, as ``(panel key, s)``.
    """

    def __init__(self, pipeline: LivePipeline, address: ViewAddress):
        self.pipeline = pipeline
        self.address = address
        self.latencies_s: list[tuple[str, float]] = []
        self.url: str | None = None
        self._start_args = (address, str(pipeline.output.path), pipeline.analysis.to_table())
        self._process: subprocess.Popen | None = None
        self._conn: Connection | None = None
        self._queue: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._bridge, name="tagstream-view-bridge",
                                        daemon=True)  # fmt: skip
        self._known: set[str] = set()
        self._names: dict[str, str] | None = None
        pipeline.results.listeners.append(self._queue.put)

    def start(self) -> str:
        """Start the view's process; the page's address once it listens.

        Raises
        ------
        TagstreamError
            The view cannot listen there (the reason from its process), or did not start.
        """
        ours, theirs = socket.socketpair()
        env = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", **os.environ}
        command = [sys.executable, "-m", "tagstream.view.remote", str(theirs.fileno())]
        # a session of its own: Ctrl-C at the terminal is the run's to handle, not the view's
        self._process = subprocess.Popen(
            command, pass_fds=[theirs.fileno()], env=env, start_new_session=True
        )
        theirs.close()
        self._conn = Connection(ours.detach())
        self._conn.send(("start", self._start_args))
        try:
            if not self._conn.poll(START_TIMEOUT_S):
                raise EOFError
            kind, value = self._conn.recv()
        except (EOFError, OSError):
            self._end_process()
            raise TagstreamError("web view: its process ended before it listened") from None
        if kind == "error":
            self._process.wait(5)
            raise TagstreamError(value)
        self.url = value
        self._thread.start()
        return value

    def stop(self) -> None:
        """Hand over the last results and status, let the pages draw them, and end the view's
        process (its latencies are kept)."""
        if self._process is None or self._conn.closed:
            return
        self._stop.set()
        self._thread.join(10)
        try:
            self._conn.send(("stop", None))
            while self._conn.poll(15):
                kind, value = self._conn.recv()
                if kind == "latencies":
                    self.latencies_s = [(str(k), float(v)) for k, v in value]
                    break
        except (OSError, EOFError, ValueError, TypeError):  # the view is gone, or garbled
            pass
        self._end_process()

    def _end_process(self) -> None:
        try:
            self._process.wait(10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._conn.close()

    def __enter__(self) -> ViewProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ the bridge thread
    def _bridge(self) -> None:
        next_status = 0.0
        try:
            while True:
                stopping = self._stop.is_set()
                wait = max(0.0, min(next_status - time.monotonic(), 0.05))
                try:
                    self._send_snapshots(self._queue.get(timeout=wait))
                    while True:
                        self._send_snapshots(self._queue.get_nowait())
                except queue.Empty:
                    pass
                if time.monotonic() >= next_status or stopping:
                    next_status = time.monotonic() + STATUS_EVERY_S
                    self._conn.send(("status", live_status(self.pipeline)))
                while self._conn.poll(0):
                    self._answer(self._conn.recv())
                if stopping:
                    return
        except (OSError, EOFError, ValueError, TypeError):  # the view's process ended or broke
            if self._process.poll() is not None or not self._stop.is_set():
                self.pipeline.notes.add("the web view's process ended; the run went on without it")
        finally:
            listeners = self.pipeline.results.listeners
            if self._queue.put in listeners:
                listeners.remove(self._queue.put)

    def _send_snapshots(self, snapshots: list) -> None:
        """The snapshots, after the series of a new analysis segment when there is one."""
        results = self.pipeline.results
        with self.pipeline.lock:
            names = dict(results.segment_names)
            unknown = {s.series for s in snapshots} - self._known
            specs = [results.spec(name) for name in unknown]
        if names != self._names or unknown:
            self._known |= unknown
            self._names = names
            self._conn.send(("follow", ([s for s in specs if s is not None], names)))
        self._conn.send(("snapshots", snapshots))

    def _answer(self, message: tuple[str, Any]) -> None:
        kind, value = message
        if kind != "control":
            return
        number, op, args = value
        try:
            reply = (number, True, live_control(self.pipeline, op, args))
        except TagstreamError as exc:
            reply = (number, False, str(exc))
        self._conn.send(("reply", reply))
