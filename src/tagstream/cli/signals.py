"""Ctrl-C and SIGTERM as a request to stop: the verb finishes its file instead of dying."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager

#: A stop asked for before a verb took the signals over (the reason), kept even where the
#: exception the early handlers raise is swallowed (a signal handled inside a finaliser).
EARLY: dict[str, str] = {}


def remember(signum: int) -> str:
    """Keep an early Ctrl-C or SIGTERM for :func:`stop_on_signals`; its reason."""
    reason = "stopped by " + ("Ctrl-C" if signum == signal.SIGINT else "SIGTERM")
    EARLY.setdefault("reason", reason)
    return reason


class StopRequest:
    """Whether Ctrl-C or SIGTERM asked the work to stop, and which.

    Each signal calls ``on_stop`` with the reason ("stopped by Ctrl-C"). Without ``on_stop``,
    a second Ctrl-C raises :class:`KeyboardInterrupt` at once (for a user who will not wait for
    the file to be completed; what was committed stays readable).
    """

    def __init__(self, on_stop: Callable[[str], object] | None = None):
        self.reason: str | None = None
        self._on_stop = on_stop

    def __call__(self) -> str | None:
        """Why the work should stop ("stopped by Ctrl-C"), or ``None`` while it goes on."""
        return self.reason

    def _handle(self, signum: int, frame: object) -> None:
        if self._on_stop is None and self.reason is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt("interrupted again; the file keeps its last commit")
        reason = "stopped by " + ("Ctrl-C" if signum == signal.SIGINT else "SIGTERM")
        self.reason = self.reason or reason
        if self._on_stop is not None:
            self._on_stop(reason)


@contextmanager
def stop_on_signals(on_stop: Callable[[str], object] | None = None) -> Iterator[StopRequest]:
    """Within the block, Ctrl-C and SIGTERM set the yielded :class:`StopRequest` (and call
    ``on_stop``) instead of raising; the previous handlers are restored after it. A stop asked
    for earlier and not acted on (:data:`EARLY`) is delivered at once."""
    request = StopRequest(on_stop)
    previous = {s: signal.signal(s, request._handle) for s in (signal.SIGINT, signal.SIGTERM)}
    early = EARLY.pop("reason", None)
    if early is not None:  # asked before the handlers were ours, and not acted on
        request.reason = early
        if on_stop is not None:
            on_stop(early)
    try:
        yield request
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
