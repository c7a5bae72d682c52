"""Who may talk to a pipeline: ZeroMQ's CURVE security, checked by a ZAP handler.

Every ``tcp://`` and ``ipc://`` socket a run binds is a CURVE server: traffic is encrypted and
a peer must prove it holds a secret key whose public half the run trusts, or it never gets a
message through. The run trusts

- a key pair it generates for itself and hands to the local workers it starts (through the
  environment variable :data:`WORKER_KEYS_ENV`, never on a command line);
- with ``[pipeline] keys = DIR`` (made by ``tagstream keys DIR``), every public key ``*.key`` in
  that folder; the run then uses the folder's ``acquisition.key_secret`` as its own key, so a
  worker on another host can connect with ``tagstream worker --keys DIR`` holding
  ``acquisition.key`` and ``worker.key_secret``.

The control socket also admits CURVE clients with keys it does not know, as guests: they may ask
for ``status`` and nothing else (see :func:`trusted_sender`). ``inproc://`` endpoints are
reachable from this process only and carry no security. Binding a ``tcp://`` address other than
loopback without ``[pipeline] keys`` is refused (:func:`check_exposure`).
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator
from zmq.utils import z85

from ..errors import TagstreamError

#: How a run hands its local worker processes their keys: "server public secret" (Z85, whose
#: alphabet has no space).
WORKER_KEYS_ENV = "TAGSTREAM_WORKER_KEYS"
#: Names of the key files in a key folder.
ACQUISITION, WORKER = "acquisition", "worker"
#: ZAP domains of the three sockets of a run.
DATA, RESULTS, CONTROL = "tagstream-data", "tagstream-results", "tagstream-control"
#: User-Id the ZAP handler gives a peer with a trusted key, and any other control client.
TRUSTED, GUEST = "trusted", "guest"


class SecurityError(TagstreamError):
    """Keys that cannot be used, or an address that may not be bound without them."""


def is_local(endpoint: str) -> bool:
    """Whether only this host can reach ``endpoint`` (loopback ``tcp://``, ``ipc://``,
    ``inproc://``)."""
    if not endpoint.startswith("tcp://"):
        return True
    host = endpoint[len("tcp://") :].rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # '*', an interface name, a host name
        return False


def check_exposure(endpoints: dict[str, str], keyed: bool) -> None:
    """Refuse to bind an address other hosts can reach unless the run has a key folder.

    Raises
    ------
    SecurityError
        Naming the setting and what to do.
    """
    if keyed:
        return
    for name, endpoint in endpoints.items():
        if not is_local(endpoint):
            raise SecurityError(
                f"[pipeline] {name} = {endpoint!r} can be reached from other hosts: give "
                "[pipeline] keys = DIR (made by `tagstream keys DIR`) or bind 127.0.0.1"
            )


def _load(path: Path, secret: bool) -> tuple[bytes, bytes | None]:
    try:
        public, secret_key = zmq.auth.load_certificate(path)
    except (OSError, ValueError) as exc:
        raise SecurityError(f"{path}: not a ZeroMQ key file ({exc})") from None
    if secret and secret_key is None:
        raise SecurityError(f"{path}: holds no secret key")
    return public, secret_key


def create_key_folder(folder: str | os.PathLike, force: bool = False) -> list[Path]:
    """Make a key folder: a key pair for the acquisition and one for remote workers.

    Returns
    -------
    list of Path
        The files written (secret files readable by their owner only).
    """
    folder = Path(folder)
    names = [f"{n}.{ext}" for n in (ACQUISITION, WORKER) for ext in ("key", "key_secret")]
    existing = [folder / n for n in names if (folder / n).exists()]
    if existing and not force:
        raise SecurityError(f"{existing[0]} exists (use --force to replace the keys)")
    previous = os.umask(0o077)  # the secret files are private from their first byte
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        written = []
        for name in (ACQUISITION, WORKER):
            public, secret = zmq.auth.create_certificates(folder, name)
            os.chmod(public, 0o644)  # public halves may be read by anyone
            written += [Path(public), Path(secret)]
    except OSError as exc:
        raise SecurityError(f"{folder}: cannot write keys ({exc.strerror})") from None
    finally:
        os.umask(previous)
    return written


@dataclass(frozen=True)
class ClientKeys:
    """What a worker (or any client) needs to reach a run: the run's public key and its own
    key pair (Z85 bytes)."""

    server_public: bytes
    public: bytes
    secret: bytes = field(repr=False)

    def to_env(self) -> str:
        """The three keys as one environment value (space-separated Z85), for a worker process."""
        return b" ".join((self.server_public, self.public, self.secret)).decode("ascii")

    @classmethod
    def from_env(cls, text: str) -> ClientKeys:
        """The keys of an environment value made by :meth:`to_env`; a :class:`SecurityError` if
        malformed."""
        parts = text.encode("ascii", "replace").split(b" ")
        if len(parts) != 3 or any(len(p) != 40 for p in parts):
            raise SecurityError(f"{WORKER_KEYS_ENV}: expected three Z85 keys separated by spaces")
        return cls(*parts)

    @classmethod
    def from_folder(cls, folder: str | os.PathLike) -> ClientKeys:
        """The keys of a worker on another host: ``acquisition.key`` and
        ``worker.key_secret`` of a key folder."""
        folder = Path(folder)
        server_public, _ = _load(folder / f"{ACQUISITION}.key", secret=False)
        public, secret = _load(folder / f"{WORKER}.key_secret", secret=True)
        return cls(server_public, public, secret)

    @classmethod
    def guest(cls, server_public: bytes) -> ClientKeys:
        """A fresh key pair no run trusts: enough to ask a run's control socket for status."""
        public, secret = zmq.curve_keypair()
        return cls(server_public, public, secret)

    def apply(self, socket: zmq.Socket, endpoint: str) -> None:
        """Make ``socket`` a CURVE client of the run before it connects to ``endpoint``."""
        if endpoint.startswith("inproc://"):
            return
        socket.curve_serverkey = self.server_public
        socket.curve_publickey = self.public
        socket.curve_secretkey = self.secret


@dataclass(frozen=True)
class RunKeys:
    """The keys of one run: its own pair, the pair it hands local workers, and every public
    key it trusts (Z85 bytes).

    Parameters
    ----------
    folder
        A key folder (``[pipeline] keys``); ``None`` makes a fresh pair for the run.
    """

    public: bytes
    secret: bytes = field(repr=False)
    local: ClientKeys
    trusted: frozenset[bytes]

    @classmethod
    def for_run(cls, folder: str | os.PathLike | None = None) -> RunKeys:
        """The keys of a run: from the key folder (the acquisition pair, trusting every worker key
        in it) or a fresh pair without one; a fresh pair for local workers either way."""
        local_public, local_secret = zmq.curve_keypair()
        remote: list[bytes] = []
        if folder is None:
            public, secret = zmq.curve_keypair()
        else:
            folder = Path(folder)
            if not folder.is_dir():
                raise SecurityError(f"{folder}: no such key folder (make one: tagstream keys DIR)")
            public, secret = _load(folder / f"{ACQUISITION}.key_secret", secret=True)
            for path in sorted(folder.glob("*.key")):
                key, _ = _load(path, secret=False)
                if key != public:
                    remote.append(key)
            if not remote:
                raise SecurityError(f"{folder}: no worker key (*.key) to trust")
        local = ClientKeys(public, local_public, local_secret)
        return cls(public, secret, local, frozenset({local_public, *remote}))

    def apply(self, socket: zmq.Socket, endpoint: str, domain: str) -> None:
        """Make ``socket`` a CURVE server in ZAP ``domain`` before it binds ``endpoint``."""
        if endpoint.startswith("inproc://"):
            return
        socket.curve_server = True
        socket.curve_publickey = self.public
        socket.curve_secretkey = self.secret
        socket.zap_domain = domain.encode()


class Gatekeeper(ThreadAuthenticator):
    """The ZAP handler of a run's context: trusted keys everywhere, other keys only on the
    control socket (as guests); counts the peers it turned away."""

    def __init__(self, context: zmq.Context, keys: RunKeys):
        super().__init__(context)
        self.keys = keys
        self.refused = 0

    def start(self) -> None:
        """Start the authenticator and take the CURVE checks of the data, results and control
        domains."""
        super().start()
        for domain in (DATA, RESULTS, CONTROL):
            self.configure_curve_callback(domain, self)

    def callback(self, domain: str, key: bytes) -> bool:
        """Called by the handler thread for each CURVE handshake (``key`` in Z85)."""
        if key in self.keys.trusted or domain == CONTROL:
            return True
        self.refused += 1
        return False

    def curve_user_id(self, client_public_key: bytes) -> str:
        """``"trusted"`` for a trusted client key, else ``"guest"`` (allowed on the control socket
        only)."""
        return TRUSTED if z85.encode(client_public_key) in self.keys.trusted else GUEST


def trusted_sender(frame: zmq.Frame, endpoint: str) -> bool:
    """Whether the message that ``frame`` opened came from a peer with a trusted key (any
    peer of an ``inproc://`` endpoint: this process)."""
    if endpoint.startswith("inproc://"):
        return True
    try:
        return frame.get("User-Id") == TRUSTED
    except zmq.ZMQError:  # no User-Id: not authenticated by the handler
        return False
