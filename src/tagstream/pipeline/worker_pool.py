"""The analysis workers of a live run: those that joined, with their progress, and the local ones
the run started itself (threads for ``inproc://`` endpoints, else child processes), restarted
when one dies.

The pool's state is read and changed under the run's lock (a ``threading.Condition``, notified
whenever a worker's state changes).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import zmq

from ..transport.security import WORKER_KEYS_ENV, ClientKeys
from .worker import PARENT_ENV, AnalysisWorker

MAX_RESTARTS = 10


@dataclass
class WorkerInfo:
    """A worker as the acquisition sees it."""

    name: str
    sequence: int  # last batch message it finished
    t_end: int | None = None
    latency_s: float = 0.0  # from publishing a batch to its analysis
    counters: dict[str, Any] = field(default_factory=dict)
    active: bool = True
    done: bool = False
    ready: bool = False  # the run's header reached it


class WorkerThread(threading.Thread):
    """A local worker in a thread; :attr:`exit_code` is set when it returns (not when it
    fails)."""

    def __init__(self, worker: AnalysisWorker):
        super().__init__(name=f"tagstream-{worker.name}", daemon=True)
        self.worker = worker
        self.exit_code: int | None = None

    def run(self) -> None:
        """Run the worker until the run ends; exit code 1 when the run's context went away first."""
        try:
            self.exit_code = self.worker.run()
        except zmq.ContextTerminated:  # the run ended without waiting for it (a second stop)
            self.exit_code = 1


Handle = subprocess.Popen | WorkerThread


@dataclass
class LocalWorker:
    """A worker this run started."""

    index: int
    name: str
    handle: Handle
    finished: bool = False

    @property
    def alive(self) -> bool:
        """Whether its thread or process still runs."""
        if isinstance(self.handle, subprocess.Popen):
            return self.handle.poll() is None
        return self.handle.is_alive()

    @property
    def exit_code(self) -> int | None:
        """Its exit code, ``None`` while it runs (or for a thread that failed)."""
        handle = self.handle
        return handle.poll() if isinstance(handle, subprocess.Popen) else handle.exit_code


@dataclass(frozen=True)
class Launcher:
    """Starts local workers for a run whose control socket is ``control``: threads in this
    process when the data endpoint is ``inproc://`` (sharing ``context``), else child
    processes (each in a session of its own, handed ``keys`` through its environment)."""

    control: str
    inproc: bool
    context: zmq.Context
    keys: ClientKeys

    def __call__(self, index: int, name: str) -> LocalWorker:
        """Start local worker ``index`` called ``name``: a thread or a child process, as the
        endpoints allow."""
        if self.inproc:
            handle: Handle = WorkerThread(
                AnalysisWorker(self.control, self.context, name, self.keys)
            )
            handle.start()
            return LocalWorker(index, name, handle)
        command = [sys.executable, "-m", "tagstream", "worker"]
        command += ["--control", self.control, "--name", name]
        env = {
            **os.environ,
            WORKER_KEYS_ENV: self.keys.to_env(),  # never on a command line
            PARENT_ENV: str(os.getpid()),
        }
        # a session of its own: Ctrl-C at the terminal reaches only the acquisition, which
        # ends the stream in order
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, start_new_session=True, env=env
        )
        return LocalWorker(index, name, process)


class WorkerPool:
    """The workers of a run.

    Parameters
    ----------
    lock
        The run's lock, held to read or change :attr:`joined`.
    note
        Says something in the run's report (takes the lock itself).

    Attributes
    ----------
    joined
        Every worker that said hello, by name.
    local
        The workers this run started.
    restarts
        Local workers restarted so far.
    """

    def __init__(self, lock: threading.Condition, note: Callable[[str], None]):
        self._lock = lock
        self._note = note
        self._launch: Launcher | None = None
        self.joined: dict[str, WorkerInfo] = {}
        self.local: list[LocalWorker] = []
        self.restarts = 0

    def start(self, count: int, launch: Launcher) -> None:
        """Start ``count`` local workers."""
        self._launch = launch
        for index in range(count):
            self.local.append(launch(index, f"local-{index}"))

    def supervise(self, restart: bool, stopping: bool) -> None:
        """Restart local workers that died (up to :data:`MAX_RESTARTS` in all; not when
        ``restart`` is false or the run is ``stopping``)."""
        for k, local in enumerate(self.local):
            if local.finished or local.alive:
                continue
            local.finished = True
            if local.exit_code == 0:  # its last records may still be on their way
                continue
            with self._lock:
                info = self.joined.get(local.name)
                ended = info is not None and info.done
                if info is not None:
                    info.active = False
                self._lock.notify_all()
            if ended:
                continue
            if not restart or self.restarts >= MAX_RESTARTS or stopping or self._launch is None:
                self._note(f"analysis worker {local.name} died")
                continue
            with self._lock:
                self.restarts += 1
                restarts = self.restarts
            self.local[k] = self._launch(local.index, f"local-{local.index}.{restarts}")

    def stop(self) -> None:
        """Wait a little for the worker processes to end, then kill those that do not."""
        for local in self.local:
            handle = local.handle
            if isinstance(handle, subprocess.Popen):
                try:
                    handle.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    handle.kill()
                    handle.wait()

    # ------------------------------------------------------------------ under the lock
    def active(self) -> list[WorkerInfo]:
        """Joined workers still analysing."""
        return [w for w in self.joined.values() if w.active and not w.done]

    def joining(self) -> list[LocalWorker]:
        """Local workers started (a replacement, say) that have not joined yet."""
        return [w for w in self.local if not w.finished and w.name not in self.joined]

    def ready(self) -> int:
        """Joined workers the run's header reached."""
        return sum(w.ready for w in self.joined.values())
