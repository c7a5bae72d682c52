"""ID Quantique Time Controller (ID900, ID1000) over ZeroMQ.

Commands are SCPI strings on a REQ socket to the controller (port 5555); refusals hold
``SCPI_ERR_``. Timestamps reach the computer through IDQ's DataLinkTarget service (a REQ socket
on port 6060 taking ``start-stream``/``stop`` commands and answering JSON): for each input it
streams over ZeroMQ to a local port (4241 + input), one message per sub-acquisition holding the
input's timestamps as little-endian uint64 ps counted from the sub-acquisition's start. The
acquisition runs as an endless series of sub-acquisitions of ``sub_duration_s``, each followed by
the controller's dead time (``DEAD_TIME_PS``): sub-acquisition ``k`` starts at ``k * period``,
and the dead times are gaps. Inputs have no reference (``RAW<n>:REF:LINK NONE``), so all are on
one time base.
"""

from __future__ import annotations

import json
import time
from typing import Any, ClassVar

import numpy as np
import zmq

from tagstream.sources.device_protocol import (
    DeviceError,
    DeviceInfo,
    DeviceStatus,
    Setting,
    TagBlock,
    TagSource,
    check_settings,
)

SCPI_PORT = 5555
DLT_ENDPOINT = "tcp://127.0.0.1:6060"
STREAM_PORT_BASE = 4241
#: Dead time the controller needs between sub-acquisitions, ps (at least 40 ns).
DEAD_TIME_PS = 400_000
INPUTS = 4
#: Seconds without timestamps after which the controller is asked whether it is still there.
HEARTBEAT_S = 1.0


class IdqTimeController(TagSource):
    """The controller at host ``address``, streaming ``channels`` (inputs 1-4) through the
    DataLinkTarget service at ``dlt``."""

    NAME = "ID Quantique Time Controller"
    SETTINGS: ClassVar[dict[str, Setting]] = {
        "sub_duration_s": Setting("sub_duration_s", float, 0.01, 60.0, unit="s"),
    }

    def __init__(
        self,
        address: str,
        channels: list[int] | tuple[int, ...] = (1, 2),
        scpi_port: int = SCPI_PORT,
        dlt: str = DLT_ENDPOINT,
        stream_host: str = "127.0.0.1",
        stream_port_base: int = STREAM_PORT_BASE,
        timeout_s: float = 2.0,
    ):
        self.address = address
        self.channels = tuple(int(c) for c in channels)
        if not self.channels or any(not 1 <= c <= INPUTS for c in self.channels):
            raise DeviceError(f"{self.NAME}: channels must be inputs 1-{INPUTS}")
        self._ctx = zmq.Context()
        self._timeout_ms = int(timeout_s * 1000)
        self._streams: dict[int, zmq.Socket] = {}
        self._ids: dict[int, str] = {}
        self.sub_duration_ps = 10**12
        self._status = DeviceStatus()
        self._stream_host, self._port_base = stream_host, stream_port_base
        try:
            self._tc = self._req(f"tcp://{address}:{scpi_port}")
            self._dlt = self._req(dlt)
            self.ident = self.scpi("*IDN?")
            if "ID900" not in self.ident and "ID1000" not in self.ident:
                raise DeviceError(f"{self.NAME} at {address}: answers {self.ident!r}")
        except zmq.ZMQError as err:
            self._ctx.destroy(linger=0)
            raise DeviceError(f"{self.NAME} at {address}: cannot connect ({err})") from None
        except DeviceError:
            self._ctx.destroy(linger=0)
            raise

    def _req(self, endpoint: str) -> zmq.Socket:
        sock = self._ctx.socket(zmq.REQ)
        sock.setsockopt(zmq.LINGER, 0)
        # after a request that timed out, the next one may still be sent (its answer matched)
        sock.setsockopt(zmq.REQ_RELAXED, 1)
        sock.setsockopt(zmq.REQ_CORRELATE, 1)
        sock.setsockopt(zmq.RCVTIMEO, self._timeout_ms)
        sock.setsockopt(zmq.SNDTIMEO, self._timeout_ms)
        sock.connect(endpoint)
        return sock

    # --- the two conversations ---------------------------------------------------------------
    def scpi(self, command: str) -> str:
        """Send a SCPI command; its answer (empty for settings)."""
        try:
            self._tc.send_string(command)
            answer = self._tc.recv().decode("utf-8", "replace")
        except zmq.ZMQError as err:
            raise DeviceError(f"{self.NAME} at {self.address}: lost ({err})") from None
        if "SCPI_ERR_" in answer:
            raise DeviceError(f"{self.NAME} at {self.address}: {command!r} refused ({answer})")
        return answer.strip()

    def datalink(self, command: str) -> dict:
        """Send a command to the DataLinkTarget service; its JSON answer."""
        try:
            self._dlt.send_string(command)
            text = self._dlt.recv().decode("utf-8", "replace")
        except zmq.ZMQError as err:
            raise DeviceError(
                f"{self.NAME}: the DataLinkTarget service does not answer ({err})"
            ) from None
        try:
            answer = json.loads(text) if text.strip() else {}
        except json.JSONDecodeError:
            raise DeviceError(f"{self.NAME}: DataLinkTarget answered {text[:60]!r}") from None
        if not isinstance(answer, dict):
            raise DeviceError(f"{self.NAME}: DataLinkTarget answered {text[:60]!r}")
        if "error" in answer:
            error = answer["error"]
            why = error.get("description", "unknown error") if isinstance(error, dict) else error
            raise DeviceError(f"{self.NAME}: DataLinkTarget refused {command.split()[0]!r} ({why})")
        return answer

    # --- the source protocol -------------------------------------------------------------------
    def configure(self, **settings: Any) -> None:
        """Apply ``settings`` (checked first): ``sub_duration_s``, the length of each
        sub-acquisition, s."""
        checked = check_settings(self.SETTINGS, settings, self.NAME)
        if "sub_duration_s" in checked:
            self.sub_duration_ps = round(checked["sub_duration_s"] * 1e12)

    def info(self) -> DeviceInfo:
        """Model (ID900 or ID1000), serial, resolution (1 ps) and the streamed channels."""
        parts = [p.strip() for p in self.ident.split(",")]
        model = next((p for p in parts if p in ("ID900", "ID1000")), "ID900")
        serial = parts[2] if len(parts) > 2 else ""
        return DeviceInfo(model, serial, 1.0, self.channels)

    @property
    def period_ps(self) -> int:
        """Period of the sub-acquisitions, ps: their duration plus the controller's dead time
        between them."""
        return self.sub_duration_ps + DEAD_TIME_PS

    def start(self) -> None:
        """Start recording endless sub-acquisitions and a timestamp stream per channel; time 0 is
        the start of the first."""
        for command in ("REC:TRIG:ARM:MODE MANUal", "REC:ENABle ON", "REC:STOP", "REC:NUM INF"):
            self.scpi(command)
        self.scpi(f"REC:PWID {self.sub_duration_ps};PPER {self.period_ps}")
        self._received = {c: 0 for c in self.channels}
        self._status = DeviceStatus()
        for c in self.channels:
            self.scpi(f"RAW{c}:REF:LINK NONE")
            self.scpi(f"RAW{c}:ERRORS:CLEAR")
            port = self._port_base + c
            sock = self._ctx.socket(zmq.PAIR)
            sock.setsockopt(zmq.LINGER, 0)
            sock.connect(f"tcp://{self._stream_host}:{port}")
            self._streams[c] = sock
            command = f"start-stream --address {self.address} --channel {c} --stream-port {port}"
            self._ids[c] = str(self.datalink(command).get("id"))
            self.scpi(f"RAW{c}:SEND ON")
        self._heard = time.monotonic()
        self._gaps_told = 0
        self.scpi("REC:PLAY")

    def read(self) -> TagBlock:
        """The tags received since the last read, in time order (ps), complete up to the end of the
        last sub-acquisition every channel finished, with the dead times between sub-acquisitions
        as gaps."""
        times, chans = [], []
        for c, sock in self._streams.items():
            while True:
                try:
                    message = sock.recv(zmq.NOBLOCK)
                except zmq.Again:
                    break
                k = self._received[c]
                t = np.frombuffer(message, dtype="<u8").astype(np.int64) + k * self.period_ps
                self._received[c] = k + 1
                times.append(t)
                chans.append(np.full(t.size, c, np.uint8))
        now = time.monotonic()
        if times:
            self._heard = now
        elif now - self._heard > HEARTBEAT_S:  # quiet: is the controller still there?
            self.scpi("*IDN?")
            self._heard = now
        t = np.concatenate(times) if times else np.zeros(0, np.int64)
        ch = np.concatenate(chans) if chans else np.zeros(0, np.uint8)
        order = np.argsort(t, kind="stable")
        done = min(self._received.values()) if self._received else 0
        gaps = None
        if done > self._gaps_told:  # the dead times of the newly finished sub-acquisitions
            k = np.arange(self._gaps_told, done, dtype=np.int64)
            starts = k * self.period_ps + self.sub_duration_ps
            gaps = np.stack((starts, starts + DEAD_TIME_PS), axis=1)
            self._gaps_told = done
        return TagBlock(t[order], ch[order], done * self.period_ps, None, gaps)

    def stop(self) -> None:
        """Stop the acquisition and every stream that was started, each step on its own (the
        first failure is raised once all were tried)."""
        if not self._streams and not self._ids:
            return
        failed: list[DeviceError] = []

        def step(call, *args):
            try:
                return call(*args)
            except DeviceError as err:
                failed.append(err)
                return None

        step(self.scpi, "REC:STOP")
        for c, acquisition in list(self._ids.items()):
            answer = step(self.datalink, f"stop --id {acquisition}") or {}
            status = answer.get("status", {}) if isinstance(answer.get("status"), dict) else {}
            for error in status.get("errors", []):
                why = error.get("description") if isinstance(error, dict) else error
                self._status.warnings.append(f"input {c}: {why}")
            step(self.scpi, f"RAW{c}:SEND OFF")
            errors = step(self.scpi, f"RAW{c}:ERRORS?")
            if errors and errors.isdigit() and int(errors):
                self._status.overflow = True
                self._status.warnings.append(f"input {c}: {errors} timestamp errors")
        self._ids.clear()
        for sock in self._streams.values():
            sock.close(0)
        self._streams.clear()
        if failed:
            raise failed[0]

    def status(self) -> DeviceStatus:
        """Count rates and warnings since the start."""
        return self._status

    @property
    def latency_s(self) -> float:  # a sub-acquisition's timestamps come when it is over
        """Longest wait for a tag, s: a sub-acquisition's timestamps come when it is over."""
        return self.sub_duration_ps * 1e-12 + 1.0

    def close(self) -> None:
        """Stop the acquisition and release the streams' sockets."""
        try:
            self.stop()
        finally:
            self._ctx.destroy(linger=0)
