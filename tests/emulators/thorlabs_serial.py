"""A Thorlabs FW102C filter wheel or SC10 shutter controller at the far end of a pseudo-terminal:
each CR-ended command is echoed, answered and followed by the ``"> "`` prompt, as the devices
do."""

from __future__ import annotations

import os
import select
import threading
import tty


class ThorlabsSerialEmulator:
    """``kind`` is ``"fw102c"`` (``positions`` filters) or ``"sc10"``; :attr:`port` is the
    path to open, :attr:`commands` what was received."""

    def __init__(self, kind: str, positions: int = 6):
        self.kind = kind
        self.positions = positions
        self.position = 1
        self.open = 0
        self.commands: list[str] = []
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.port = os.ttyname(self._slave)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        pending = b""
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.01)
            if not ready:
                continue
            try:
                pending += os.read(self.master, 1024)
            except OSError:
                return
            while b"\r" in pending:
                line, pending = pending.split(b"\r", 1)
                command = line.decode("ascii").strip()
                self.commands.append(command)
                answer = self._answer(command)
                out = command + "\r" + ("" if answer is None else answer + "\r") + "> "
                os.write(self.master, out.encode("ascii"))

    def _answer(self, command: str) -> str | None:
        if command == "*idn?":
            name = "FW102C/FW212C Filter Wheel" if self.kind == "fw102c" else "SC10"
            return f"THORLABS {name} version 1.07"
        if self.kind == "fw102c":
            if command == "pcount?":
                return str(self.positions)
            if command == "pos?":
                return str(self.position)
            if command.startswith("pos="):
                value = command[4:]
                if not value.isdigit() or not 1 <= int(value) <= self.positions:
                    return "Command error CMD_ARG_INVALID"
                self.position = int(value)
                return None
        else:
            if command == "ens?":
                return str(self.open)
            if command == "ens":
                self.open = 1 - self.open
                return None
        return "Command error CMD_NOT_DEFINED"

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        os.close(self.master)
        os.close(self._slave)

    def __enter__(self) -> ThorlabsSerialEmulator:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
