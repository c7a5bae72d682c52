"""A Thorlabs FW102C filter wheel or SC10 shutter controller at the far end of a pseudo-terminal:
each CR-ended command is echoed, answered and followed by the ``"> "`` prompt, as the devices
do."""

from __future__ import annotations

from .pty_device import PtyDevice


class ThorlabsSerialEmulator(PtyDevice):
    """``kind`` is ``"fw102c"`` (``positions`` filters) or ``"sc10"``; :attr:`port` is the
    path to open, :attr:`commands` what was received."""

    EOL = b"\r"

    def __init__(self, kind: str, positions: int = 6):
        self.kind = kind
        self.positions = positions
        self.position = 1
        self.open = 0
        self.commands: list[str] = []
        super().__init__()

    def line(self, text: str) -> None:
        command = text.strip()
        self.commands.append(command)
        answer = self._answer(command)
        out = command + "\r" + ("" if answer is None else answer + "\r") + "> "
        self.write(out.encode("ascii"))

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
