"""The web view's safety: loopback by default, a token for everything else (every request and
the websocket), nothing served but the page's own files, no websocket from another origin and
no request for another host name (DNS rebinding)."""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request

import pytest

from tagstream.errors import TagstreamError
from tagstream.view import ViewHub, ViewServer, parse_view_address
from tagstream.view.address import ViewAddress
from tagstream.view.feeds import FileFeed
from tests.view.browser import browser, simulated_file

OPEN_SOCKET = """(url) => new Promise((resolve) => {
    const socket = new WebSocket(url);
    socket.onopen = () => { socket.close(); resolve('open'); };
    socket.onerror = () => resolve('refused');
})"""


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    return simulated_file(tmp_path_factory.mktemp("security") / "dot.h5", seconds=2)


def _status(url: str, host: str | None = None) -> int:
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_a_token_protected_page_refuses_everything_without_it(recorded):
    address = ViewAddress("127.0.0.1", 0, "t0ken-for-test")
    with ViewServer(ViewHub(FileFeed(recorded)), address) as server, browser() as chromium:
        base = f"http://127.0.0.1:{server.port}"
        page = chromium.new_page()
        assert page.goto(base + "/").status == 403
        assert page.goto(base + "/assets/app.js").status == 403
        assert page.goto(base + "/?token=wrong").status == 403
        assert page.goto(server.url).status == 200
        page.wait_for_selector("#connection.good", timeout=20_000)
        ws = f"ws://127.0.0.1:{server.port}/ws"
        assert page.evaluate(OPEN_SOCKET, ws) == "refused"
        assert page.evaluate(OPEN_SOCKET, ws + "?token=wrong") == "refused"
        assert page.evaluate(OPEN_SOCKET, ws + "?token=t0ken-for-test") == "open"
        assert _status(base + "/assets/plotly.min.js?token=t0ken-for-test") == 200
        assert server.refused >= 5


def test_every_interface_needs_a_token_and_gets_one(recorded):
    address = parse_view_address("0.0.0.0:0")
    assert address.token and not address.loopback
    with ViewServer(ViewHub(FileFeed(recorded)), address) as server:
        assert f"?token={address.token}" in server.url
        assert _status(f"http://127.0.0.1:{server.port}/") == 403
        assert _status(server.url) == 200
        # with a token, any host name may reach it (the token is the guard)
        assert _status(server.url, host=f"lab-pc.example:{server.port}") == 200


def test_loopback_refuses_other_host_names_and_other_origins(recorded):
    with ViewServer(ViewHub(FileFeed(recorded)), ViewAddress()) as server, browser() as chromium:
        base = f"http://127.0.0.1:{server.port}"
        assert _status(base + "/") == 200
        assert _status(base + "/", host=f"attacker.example:{server.port}") == 403
        assert _status(base + "/", host=f"localhost:{server.port}") == 200
        page = chromium.new_page()
        page.goto("about:blank")  # a page of another origin
        assert page.evaluate(OPEN_SOCKET, f"ws://127.0.0.1:{server.port}/ws") == "refused"
        page.goto(base + "/")
        assert page.evaluate(OPEN_SOCKET, f"ws://127.0.0.1:{server.port}/ws") == "open"


@pytest.mark.parametrize(
    "path", ["/assets/index.html", "/assets/..%2f..%2fpyproject.toml", "/etc/passwd",
             "/static/app.js", "/assets/", "/ws/../assets/app.js"],
)  # fmt: skip
def test_only_the_apps_own_files_are_served(recorded, path):
    with ViewServer(ViewHub(FileFeed(recorded)), ViewAddress()) as server:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            body = response.read()
        finally:
            connection.close()
        assert response.status in (403, 404), (path, response.status)
        assert b"[project]" not in body and b"root:" not in body


def test_bad_addresses_are_one_line_errors():
    for text in ("banana", "70000", "host:", "1.2.3.4:-1"):
        with pytest.raises(TagstreamError, match="give PORT or HOST:PORT"):
            parse_view_address(text)
    with pytest.raises(TagstreamError, match="token is empty"):
        parse_view_address("8050", token=" ")
    assert parse_view_address("8050") == ViewAddress("127.0.0.1", 8050, None)
    assert parse_view_address("[::1]:8050").host == "::1"
