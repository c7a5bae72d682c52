"""A one-line progress bar on stderr, for long jobs."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    """Shows how much of a run (in ps of tag time) is done; redraws at most 10 times a second.

    On a terminal the line is redrawn in place; otherwise a line is printed every 10 %. After
    the data pass, :meth:`phase` names what is being computed ("fitting lifetime (bi)"), so a
    full bar does not sit silently while the fits run.
    """

    def __init__(self, label: str, total_ps: int | None, stream: TextIO | None = None):
        self.label = label
        self.total = total_ps
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.start = time.monotonic()
        self._last_draw = 0.0
        self._last_decile = -1
        self._done_ps = 0
        self._phase: str | None = None
        self._width = 0

    def __call__(self, done_ps: int) -> None:
        """Show that the run is done up to ``done_ps`` (ps of tag time): redrawn in place on a
        terminal (at most 10 times a second), else a line every 10 %."""
        now = time.monotonic()
        self._done_ps = done_ps
        fraction = self._fraction()
        if self.tty:
            if now - self._last_draw < 0.1 and fraction != 1.0:
                return
            self._last_draw = now
            self._draw(self._line(done_ps, fraction, now))
        elif fraction is not None and int(fraction * 10) > self._last_decile:
            self._last_decile = int(fraction * 10)
            self.stream.write(self._line(done_ps, fraction, now) + "\n")

    def phase(self, text: str) -> None:
        """Show that ``text`` (a computation after the data pass) has started."""
        if text == self._phase:
            return
        self._phase = text
        now = time.monotonic()
        if self.tty:
            self._last_draw = now
            self._draw(self._line(self._done_ps, self._fraction(), now))
        else:
            self.stream.write(f"{self.label}: {text}… ({now - self.start:.1f} s)\n")
        self.stream.flush()

    def _fraction(self) -> float | None:
        return min(self._done_ps / self.total, 1.0) if self.total else None

    def _draw(self, line: str) -> None:
        """Redraw the terminal line, blanking what a longer previous line left behind."""
        pad = max(self._width - len(line), 0)
        self._width = len(line)
        self.stream.write("\r" + line + " " * pad)
        self.stream.flush()

    def _line(self, done_ps: int, fraction: float | None, now: float) -> str:
        elapsed = now - self.start
        seconds = done_ps * 1e-12
        phase = f"  {self._phase}…" if self._phase else ""
        if fraction is None:
            return f"{self.label}: {seconds:.1f} s of data in {elapsed:.1f} s{phase}"
        bar = "#" * int(30 * fraction) + "." * (30 - int(30 * fraction))
        return (
            f"{self.label} [{bar}] {100 * fraction:5.1f} %  {seconds:.1f} s  ({elapsed:.1f} s)"
            f"{phase}"
        )

    def close(self) -> None:
        """End the bar's line on a terminal."""
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
