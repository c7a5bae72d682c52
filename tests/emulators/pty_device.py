"""A device at the far end of a pseudo-terminal, for serial-port adapters: a thread reads the
commands the adapter writes, line by line, and the device writes its answers back."""

from __future__ import annotations

import os
import select
import threading
import tty


class PtyDevice:
    """:attr:`port` is the path the adapter opens. Subclasses answer each command line (ended by
    :attr:`EOL`) in :meth:`line` and may send on their own in :meth:`tick`, called between
    polls."""

    EOL = b"\r\n"

    def __init__(self):
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.port = os.ttyname(self._slave)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def line(self, text: str) -> None:
        """Answer one command line."""
        raise NotImplementedError

    def tick(self) -> None:
        """Between polls: send what the device sends unasked."""

    def write(self, data: bytes) -> None:
        os.write(self.master, data)

    def _serve(self) -> None:
        pending = b""
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.005)
            if ready:
                try:
                    pending += os.read(self.master, 4096)
                except OSError:
                    return
                while self.EOL in pending:
                    text, pending = pending.split(self.EOL, 1)
                    self.line(text.decode("ascii"))
            if not self._stop.is_set():
                self.tick()

    def vanish(self) -> None:
        """The device is unplugged (from the serving thread)."""
        self._stop.set()
        os.close(self.master)
        os.close(self._slave)

    def close(self) -> None:
        if not self._stop.is_set():
            self._stop.set()
            self._thread.join()
            os.close(self.master)
            os.close(self._slave)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
