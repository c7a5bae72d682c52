"""The web view's server: the page, its assets and one websocket, in a thread of its own.

It serves nothing but the page (``/``), its own assets (``/assets/<name>`` from a fixed list:
the page's script and style, and Plotly's script from the installed ``plotly`` package, so no
CDN is needed) and the websocket (``/ws``); no path from a request reaches the file system.

Safety: loopback by default, where requests must name this machine as their host (a page of
another site cannot reach the view through DNS rebinding). With a token (required for any other
interface), every request and the websocket carry ``?token=``; others get 403. A websocket
opened from a page of another origin is refused. The first page to connect holds the controls;
later ones watch, and the next in line takes over when it leaves.
"""

from __future__ import annotations

import asyncio
import hmac
import html
import json
import threading
from dataclasses import dataclass, field
from importlib import resources
from typing import Any
from urllib.parse import quote, urlsplit

from aiohttp import WSMsgType, web

from ..errors import TagstreamError
from .address import ViewAddress, is_loopback
from .hub import ViewHub

STATIC = resources.files("tagstream.view") / "static"
#: Largest message a page may send, bytes.
MAX_MESSAGE = 64 * 1024
#: Seconds the server waits for its last messages to go out when it stops.
FLUSH_S = 1.0
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'"
)


def _assets() -> dict[str, tuple[Any, str]]:
    """The files the server may send, by name: (file, content type)."""
    plotly = resources.files("plotly") / "package_data" / "plotly.min.js"
    return {
        "app.js": (STATIC / "app.js", "text/javascript"),
        "view.css": (STATIC / "view.css", "text/css"),
        "plotly.min.js": (plotly, "text/javascript"),
    }


@dataclass(eq=False)
class _Page:
    """One connected page: its socket and the messages waiting to go to it (latest of each
    kind only: a slow page skips to the newest results rather than falling behind)."""

    socket: web.WebSocketResponse
    following: bool = True  # takes the latest panels (not a file's snapshot it asked for)
    window: float | None = None  # the "last N s" it shows (None: since the start)
    pending: dict[str, str] = field(default_factory=dict)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    replies: int = 0

    def offer(self, kind: str, text: str) -> None:
        self.pending.pop(kind, None)
        self.pending[kind] = text
        self.ready.set()

    async def pump(self) -> None:
        while not self.socket.closed:
            await self.ready.wait()
            self.ready.clear()
            while self.pending:
                kind = next(iter(self.pending))
                text = self.pending.pop(kind)
                await self.socket.send_str(text)


class ViewServer:
    """Serves the page for ``hub`` at ``address`` (see the module docstring).

    Parameters
    ----------
    hub
        Makes the messages.
    address
        Where to listen, and the token.
    """

    def __init__(self, hub: ViewHub, address: ViewAddress):
        self.hub = hub
        self.address = address
        self.port: int | None = None
        self.pages: list[_Page] = []
        self.refused = 0
        self._controller: _Page | None = None
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._serve, name="tagstream-view", daemon=True)
        self._assets = _assets()

    # ------------------------------------------------------------------ outside the loop
    @property
    def url(self) -> str:
        """The page's address (with the token)."""
        host = self.address.host
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        query = f"?token={quote(self.address.token)}" if self.address.token else ""
        return f"http://{host}:{self.port}/{query}"

    def start(self) -> str:
        """Listen and serve; the page's address.

        Raises
        ------
        TagstreamError
            The address cannot be bound (in use, not an interface of this machine).
        """
        self._thread.start()
        self._started.wait(10)
        if self._error is not None:
            a = self.address
            reason = getattr(self._error, "strerror", None) or self._error
            raise TagstreamError(f"web view: cannot listen on {a.host}:{a.port} ({reason})")
        self.hub.publish = self._publish_threadsafe
        self.hub.start()
        return self.url

    def stop(self) -> None:
        """Send the last results, close the pages' sockets and stop listening."""
        self.hub.stop()
        if self._thread.is_alive():
            future = asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)
            try:
                future.result(FLUSH_S + 5)
            except Exception:  # the page is gone either way
                pass
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)

    def __enter__(self) -> ViewServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _publish_threadsafe(self, message: dict[str, Any]) -> None:
        text = json.dumps(message, allow_nan=False)
        if not self._loop.is_closed():
            kind, window = message["type"], message.get("window_s")
            if kind == "panels":  # the latest of each kind's panels waits for a slow page
                kind += ":" + ",".join(p["key"] for p in message["panels"])
            self._loop.call_soon_threadsafe(self._broadcast, kind, text, window)

    # ------------------------------------------------------------------ the loop's thread
    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._listen())
        except BaseException as exc:  # reported by start()
            self._error = exc
            self._loop.close()
            self._started.set()
            return
        self._started.set()
        try:
            self._loop.run_forever()
        finally:
            self._loop.close()

    async def _listen(self) -> None:
        app = web.Application(middlewares=[self._guard], client_max_size=MAX_MESSAGE)
        app.router.add_get("/", self._index)
        app.router.add_get("/assets/{name}", self._asset)
        app.router.add_get("/ws", self._socket)
        app.router.add_get("/favicon.ico", _no_content)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.address.host, self.address.port)
        try:
            await site.start()
        except BaseException:
            await self._runner.cleanup()
            raise
        self.port = site._server.sockets[0].getsockname()[1]

    async def _shutdown(self) -> None:
        deadline = self._loop.time() + FLUSH_S
        while any(p.pending for p in self.pages) and self._loop.time() < deadline:
            await asyncio.sleep(0.02)
        for page in list(self.pages):
            await page.socket.close(message=b"the run ended")
        if self._runner is not None:
            await self._runner.cleanup()

    def _broadcast(self, kind: str, text: str, window: float | None) -> None:
        for page in self.pages:
            if not kind.startswith("panels") or (page.following and page.window == window):
                page.offer(kind, text)

    def _windows_changed(self) -> None:
        """Tell the hub which windows the following pages show."""
        self.hub.windows = {None} | {p.window for p in self.pages if p.following}

    @web.middleware
    async def _guard(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """Refuse a request without the token, or for a host other than this machine (loopback),
        or a websocket opened from another origin."""
        reason = self._refusal(request)
        if reason is not None:
            self.refused += 1
            return web.Response(status=403, text=f"tagstream view: {reason}\n")
        response = await handler(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        cache = "private, max-age=3600" if request.path.startswith("/assets/") else "no-store"
        response.headers.setdefault("Cache-Control", cache)
        return response

    def _refusal(self, request: web.Request) -> str | None:
        token = self.address.token
        if token is not None:
            given = request.query.get("token", "")
            if not hmac.compare_digest(given.encode(), token.encode()):
                return "this view needs its token (the URL printed when it started)"
        if self.address.loopback and not is_loopback(request.host.rsplit(":", 1)[0]):
            return f"host {request.host!r} is not this machine"
        origin = request.headers.get("Origin")
        if request.path == "/ws" and origin is not None and urlsplit(origin).netloc != request.host:
            return f"a websocket from another origin ({origin[:60]})"
        return None

    async def _index(self, request: web.Request) -> web.Response:
        page = (STATIC / "index.html").read_text(encoding="utf-8")
        token = self.address.token
        query = f"?token={quote(token)}" if token else ""
        page = page.replace("{{query}}", query).replace("{{title}}", _html(self.hub.feed.title))
        return web.Response(text=page, content_type="text/html")

    async def _asset(self, request: web.Request) -> web.Response:
        found = self._assets.get(request.match_info["name"])
        if found is None:
            raise web.HTTPNotFound()
        file, content_type = found
        return web.Response(body=file.read_bytes(), content_type=content_type, charset="utf-8")

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(heartbeat=20, max_msg_size=MAX_MESSAGE)
        await socket.prepare(request)
        page = _Page(socket)
        self.pages.append(page)
        if self._controller is None:
            self._controller = page
        page.offer("hello", json.dumps(self.hub.hello(page is self._controller)))
        latest = self.hub.latest(None)
        if latest is not None:
            page.offer("panels", json.dumps(latest, allow_nan=False))
        pump = asyncio.ensure_future(page.pump())
        try:
            async for msg in socket:
                if msg.type == WSMsgType.TEXT:
                    await self._request(page, msg.data)
        finally:
            pump.cancel()
            self.pages.remove(page)
            self._windows_changed()
            if self._controller is page:
                self._controller = self.pages[0] if self.pages else None
                if self._controller is not None:
                    self._controller.offer("hello", json.dumps(self.hub.hello(True)))
        return socket

    async def _request(self, page: _Page, data: str) -> None:
        try:
            message = json.loads(data)
        except ValueError:
            message = None
        if not isinstance(message, dict):
            refusal = {"type": "reply", "op": None, "ok": False, "text": "not a JSON object"}
            page.replies += 1
            page.offer(f"reply{page.replies}", json.dumps(refusal))
            return
        controls = page is self._controller
        answer = await self._loop.run_in_executor(None, self.hub.request, message, controls)
        if answer is None:
            return
        if answer["type"] == "panels":
            page.following = message.get("k") is None
            page.window = answer["window_s"]
            self._windows_changed()
            self.hub.resend(page.window)
            page.offer("panels", json.dumps(answer, allow_nan=False))
        else:
            page.replies += 1
            page.offer(f"reply{page.replies}", json.dumps(answer, allow_nan=False))


async def _no_content(request: web.Request) -> web.Response:
    return web.Response(status=204)


def _html(text: str) -> str:
    return html.escape(text, quote=True)
