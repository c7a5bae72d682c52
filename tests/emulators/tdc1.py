"""A TDC1 at the far end of a pseudo-terminal: it answers the text commands the way the device
does and, in timestamp mode, streams its 32-bit words until ``abort``."""

from __future__ import annotations

import time

import numpy as np

from .pty_device import PtyDevice

IDENT = "S-Fifteen Instruments,TDC1,TDC1-0042,1.3"
#: Seconds between the last words sent and the unplugging.
LAST_WORDS_S = 0.3


class Tdc1Emulator(PtyDevice):
    """Serve ``words`` (uint32) on a pty whose slave path is :attr:`port`.

    Parameters
    ----------
    words
        The timestamp words streamed after ``counts?`` in timestamp mode.
    ident
        The answer to ``*idn?``.
    chunk
        Bytes written at a time while streaming.
    lose_after
        Bytes of words after which the device vanishes (the pty is closed), or None.
    seconds
        Spread the words over this long from ``counts?`` on, as the device would send them
        (0: as fast as the pty takes them).
    """

    def __init__(
        self,
        words,
        ident: str = IDENT,
        chunk: int = 4096,
        lose_after: int | None = None,
        seconds: float = 0.0,
    ):
        self.data = np.asarray(words, dtype="<u4").tobytes()
        self.ident = ident
        self.chunk = chunk
        self.lose_after = lose_after
        self.per_s = len(self.data) / seconds if seconds else 0.0
        self.began = 0.0
        self.commands: list[str] = []
        self.sent = 0
        self.mode = "singles"
        self.streaming = False
        super().__init__()

    def line(self, text: str) -> None:
        for command in text.split(";"):
            self._obey(command.strip())

    def tick(self) -> None:
        if not self.streaming or self.sent >= len(self.data):
            return
        end = min(self.sent + self.chunk, len(self.data))
        if self.per_s:
            allowed = int((time.monotonic() - self.began) * self.per_s) // 4 * 4
            end = min(end, max(allowed, self.sent))
        if self.lose_after is not None and end >= self.lose_after:
            self.write(self.data[self.sent : self.lose_after])
            time.sleep(LAST_WORDS_S)  # read before the unplugging discards them
            self.vanish()
        elif end > self.sent:
            self.write(self.data[self.sent : end])
            self.sent = end

    def _obey(self, command: str) -> None:
        self.commands.append(command)
        word = command.lower()
        if word == "*idn?":
            self.write(self.ident.encode() + b"\r\n")
        elif word == "timestamp":
            self.mode = "timestamp"
        elif word == "counts?" and self.mode == "timestamp":
            self.streaming = True
            self.began = time.monotonic()
        elif word == "abort":
            self.streaming = False
