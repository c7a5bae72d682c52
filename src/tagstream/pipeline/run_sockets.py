"""The three sockets a live run binds: the tag stream it publishes (data), the results its
workers push, and the control socket it answers. Every one but an ``inproc://`` one is a CURVE
server with the run's keys (:mod:`tagstream.transport.security`)."""

from __future__ import annotations

import zmq

from ..transport.security import CONTROL, RESULTS, RunKeys
from ..transport.streams import MAX_PART_BYTES, BatchPublisher, bind
from .run_config import PipelineSettings

#: Largest control request accepted, bytes.
MAX_CONTROL_BYTES = 1 << 20


class RunSockets:
    """The bound sockets of a run (binding them is all or nothing: on a failure the ones
    already open are closed, else the context would wait for them forever, and the error is
    raised).

    Attributes
    ----------
    publisher
        The tag stream.
    results, control
        The PULL socket of the results and the REP socket of the control requests.
    results_endpoint, control_endpoint
        Where they are bound (a ``*`` port resolved).
    """

    def __init__(self, context: zmq.Context, settings: PipelineSettings, keys: RunKeys):
        self.publisher: BatchPublisher | None = None
        self.results: zmq.Socket | None = None
        self.control: zmq.Socket | None = None
        try:
            self.publisher = BatchPublisher(context, settings.data, hwm=settings.hwm, keys=keys)
            self.results = _socket(context, zmq.PULL, MAX_PART_BYTES)
            keys.apply(self.results, settings.results, RESULTS)
            self.results_endpoint = bind(self.results, settings.results)
            self.control = _socket(context, zmq.REP, MAX_CONTROL_BYTES)
            keys.apply(self.control, settings.control, CONTROL)
            self.control_endpoint = bind(self.control, settings.control)
        except BaseException:
            if self.publisher is not None:
                self.publisher.close()
            for socket in (self.results, self.control):
                if socket is not None:
                    socket.close(0)
            raise

    def close(self) -> None:
        """Close the sockets (after counting the subscriptions the publisher has seen), without
        lingering."""
        self.publisher.poll_subscriptions()  # count what subscribers sent to the end
        self.publisher.close()
        self.results.close(0)
        self.control.close(0)


def _socket(context: zmq.Context, kind: int, max_bytes: int) -> zmq.Socket:
    socket = context.socket(kind)
    socket.setsockopt(zmq.LINGER, 0)
    socket.setsockopt(zmq.MAXMSGSIZE, max_bytes)
    return socket
