"""Where a long computation after the data pass has got to: fits announce their phase.

A caller (the command line's progress display) installs a reporter with :func:`reporting`;
fits call :func:`announce` with a short phase text ("fitting lifetime (bi)"). Without a
reporter announcing costs nothing. The reporter lives in a context variable, so threads and
concurrent summaries do not see each other's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

Reporter = Callable[[str], object]

_REPORTER: ContextVar[Reporter | None] = ContextVar("tagstream_fit_reporter", default=None)


@contextmanager
def reporting(reporter: Reporter | None) -> Iterator[None]:
    """Send the phases announced inside the block to ``reporter`` (``None``: to nobody)."""
    token = _REPORTER.set(reporter)
    try:
        yield
    finally:
        _REPORTER.reset(token)


def announce(phase: str) -> None:
    """Tell the installed reporter, if any, that ``phase`` starts."""
    reporter = _REPORTER.get()
    if reporter is not None:
        reporter(phase)
