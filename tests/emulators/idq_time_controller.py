"""An ID Quantique Time Controller and its DataLinkTarget service, as ZeroMQ servers in threads:
SCPI strings on a REP socket, the DataLinkTarget's JSON commands on another, and on ``REC:PLAY``
each input's timestamps streamed to its PAIR port, one message of uint64 ps per sub-acquisition,
at the pace of the acquisition."""

from __future__ import annotations

import json
import re
import threading
import time

import numpy as np
import zmq

IDENT = "ID Quantique,ID1000,1908029T010,8.2.1"


class IdqEmulator:
    """Serve ``tags`` (``{input: ps timestamps}``) on ``tcp://127.0.0.1`` ports chosen freely
    (:attr:`scpi_port`, :attr:`dlt_endpoint`); ``speed`` times faster than real time;
    ``vanish_after`` sub-acquisitions, the controller stops answering."""

    def __init__(self, tags: dict[int, np.ndarray], speed: float = 1.0, vanish_after=None):
        self.tags = {c: np.asarray(t, np.int64) for c, t in tags.items()}
        self.speed = speed
        self.vanish_after = vanish_after
        self.commands: list[str] = []
        self.datalink: list[str] = []
        self.pwid = self.pper = None
        self._ctx = zmq.Context()
        self._scpi = self._ctx.socket(zmq.REP)
        self.scpi_port = self._scpi.bind_to_random_port("tcp://127.0.0.1")
        self._dlt = self._ctx.socket(zmq.REP)
        self.dlt_endpoint = f"tcp://127.0.0.1:{self._dlt.bind_to_random_port('tcp://127.0.0.1')}"
        self._streams: dict[int, zmq.Socket] = {}
        self._sending: set[int] = set()
        self._playing = False
        self.sent = 0  # sub-acquisitions streamed
        self._gone = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    # --- the servers, on one thread ------------------------------------------------------------
    def _serve(self) -> None:
        poller = zmq.Poller()
        poller.register(self._scpi, zmq.POLLIN)
        poller.register(self._dlt, zmq.POLLIN)
        while not self._stop.is_set():
            ready = dict(poller.poll(5))
            if self._scpi in ready:
                command = self._scpi.recv_string()
                if self._gone:  # unplugged: the request is never answered
                    continue
                self.commands.append(command)
                self._scpi.send_string(self._answer(command))
            if self._dlt in ready:
                command = self._dlt.recv_string()
                self.datalink.append(command)
                self._dlt.send_string(json.dumps(self._link(command)))
            if self._playing and not self._gone:
                self._stream()

    def _answer(self, command: str) -> str:
        if command == "*IDN?":
            return IDENT
        if m := re.fullmatch(r"REC:PWID (\d+);PPER (\d+)", command):
            self.pwid, self.pper = int(m[1]), int(m[2])
            return ""
        if command == "REC:PLAY":
            self._playing, self._began = True, time.monotonic()
            return ""
        if command == "REC:STOP":
            self._playing = False
            return ""
        if command in ("REC:TRIG:ARM:MODE MANUal", "REC:ENABle ON", "REC:NUM INF"):
            return ""
        if m := re.fullmatch(r"RAW([1-4]):(REF:LINK NONE|ERRORS:CLEAR|SEND ON|SEND OFF)", command):
            if m[2] == "SEND ON":
                self._sending.add(int(m[1]))
            elif m[2] == "SEND OFF":
                self._sending.discard(int(m[1]))
            return ""
        if re.fullmatch(r"RAW[1-4]:ERRORS\?", command):
            return "0"
        return "SCPI_ERR_-113 Undefined header"

    def _link(self, command: str) -> dict:
        if m := re.fullmatch(
            r"start-stream --address \S+ --channel (\d) --stream-port (\d+)", command
        ):
            sock = self._ctx.socket(zmq.PAIR)
            sock.setsockopt(zmq.LINGER, 1000)
            sock.bind(f"tcp://127.0.0.1:{m[2]}")
            self._streams[int(m[1])] = sock
            return {"id": f"acq-{m[1]}"}
        if m := re.fullmatch(r"stop --id acq-(\d)", command):
            return {"status": {"acquisitions_count": self.sent, "errors": []}}
        return {"error": {"description": f"unknown command {command.split()[0]!r}"}}

    def _stream(self) -> None:
        """Send every sub-acquisition that is over by now."""
        elapsed_ps = (time.monotonic() - self._began) * self.speed * 1e12
        while (self.sent + 1) * self.pper <= elapsed_ps:
            if self.vanish_after is not None and self.sent >= self.vanish_after:
                self._gone = True
                return
            k = self.sent
            a = k * self.pper
            for channel in sorted(self._sending):
                t = self.tags.get(channel, np.zeros(0, np.int64))
                lo, hi = np.searchsorted(t, [a, a + self.pwid])
                part = (t[lo:hi] - a).astype("<u8")
                self._streams[channel].send(part.tobytes())
            self.sent += 1

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        for sock in (self._scpi, self._dlt, *self._streams.values()):
            sock.close(0)
        self._ctx.term()

    def __enter__(self) -> IdqEmulator:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
