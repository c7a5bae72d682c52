"""A TDC1 at the far end of a pseudo-terminal: it answers the text commands the way the device
does and, in timestamp mode, streams its 32-bit words until ``abort``."""

from __future__ import annotations

import os
import select
import threading
import time
import tty

import numpy as np

IDENT = "S-Fifteen Instruments,TDC1,TDC1-0042,1.3"
#: Seconds between the last words sent and the unplugging.
LAST_WORDS_S = 0.3


class Tdc1Emulator:
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
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.port = os.ttyname(self._slave)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        pending = b""
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.005)
            if ready:
                try:
                    pending += os.read(self.master, 4096)
                except OSError:
                    return
                while b"\r\n" in pending:
                    line, pending = pending.split(b"\r\n", 1)
                    for command in line.decode("ascii").split(";"):
                        self._obey(command.strip())
            if self.streaming and self.sent < len(self.data):
                end = min(self.sent + self.chunk, len(self.data))
                if self.per_s:
                    allowed = int((time.monotonic() - self.began) * self.per_s) // 4 * 4
                    end = min(end, max(allowed, self.sent))
                    if end == self.sent:
                        continue
                if self.lose_after is not None and end >= self.lose_after:
                    os.write(self.master, self.data[self.sent : self.lose_after])
                    time.sleep(LAST_WORDS_S)  # read before the unplugging discards them
                    self.vanish()
                    return
                os.write(self.master, self.data[self.sent : end])
                self.sent = end

    def _obey(self, command: str) -> None:
        self.commands.append(command)
        word = command.lower()
        if word == "*idn?":
            os.write(self.master, self.ident.encode() + b"\r\n")
        elif word == "timestamp":
            self.mode = "timestamp"
        elif word == "counts?" and self.mode == "timestamp":
            self.streaming = True
            self.began = time.monotonic()
        elif word == "abort":
            self.streaming = False

    def vanish(self) -> None:
        """The device is unplugged."""
        os.close(self.master)
        os.close(self._slave)
        self._stop.set()

    def close(self) -> None:
        if not self._stop.is_set():
            self._stop.set()
            self._thread.join()
            os.close(self.master)
            os.close(self._slave)

    def __enter__(self) -> Tdc1Emulator:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
