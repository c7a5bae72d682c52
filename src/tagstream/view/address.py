"""Where the web view listens, and whether it needs a token: ``[HOST:]PORT``, loopback by
default; any other interface only with a token (made for the run when none is given)."""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass

from ..errors import TagstreamError

DEFAULT_HOST = "127.0.0.1"


@dataclass(frozen=True)
class ViewAddress:
    """Where the view listens.

    Attributes
    ----------
    host
        Interface to bind (``127.0.0.1``; ``0.0.0.0`` for every interface).
    port
        TCP port (0: any free port).
    token
        Required in every request and socket (``?token=``); ``None`` for none (loopback only).
    """

    host: str = DEFAULT_HOST
    port: int = 0
    token: str | None = None

    @property
    def loopback(self) -> bool:
        """Whether only this machine can reach it."""
        return is_loopback(self.host)


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (``localhost``, ``127.x``, ``::1``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_view_address(text: str, token: str | None = None, where: str = "--view") -> ViewAddress:
    """``[HOST:]PORT`` as a :class:`ViewAddress`; a token is made for a host other than loopback
    when none is given.

    Raises
    ------
    TagstreamError
        Not ``PORT`` or ``HOST:PORT`` with a port 0-65535 (named with ``where``).
    """
    host, sep, port_text = str(text).strip().rpartition(":")
    host = host.strip("[]") if sep else DEFAULT_HOST
    try:
        port = int(port_text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535 or not host:
        raise TagstreamError(f"{where} {text!r}: give PORT or HOST:PORT (e.g. 8050, 0.0.0.0:8050)")
    if token is not None and not token.strip():
        raise TagstreamError(f"{where}: the token is empty")
    if token is None and not is_loopback(host):
        token = secrets.token_urlsafe(18)
    return ViewAddress(host, port, token)
