"""A real headless browser for the web view's tests: Debian's ``chromium`` driven by Playwright
(pointed at that executable: no browser download). ``.ci/run`` installs the package."""

from __future__ import annotations

import io
import os
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import tagstream as ts
from tagstream.pipeline import record_run
from tagstream.pipeline.live_run import LivePipeline
from tagstream.pipeline.run_config import OutputSettings, PipelineSettings
from tagstream.sources.files import open_run
from tagstream.sources.paced import PacedRun, parse_speed
from tagstream.view import ViewAddress, ViewProcess

#: Flags for a headless Chromium on a machine without a display or a network.
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run", "--disable-quic",
]  # fmt: skip


def chromium_path() -> str:
    """Debian's chromium (or ``TAGSTREAM_CHROMIUM``); the test fails, never skips, without it."""
    found = os.environ.get("TAGSTREAM_CHROMIUM") or shutil.which("chromium")
    if not found or not Path(found).exists():
        pytest.fail("the web view's tests need Debian's chromium: apt-get install chromium")
    return found


@contextmanager
def browser() -> Iterator[object]:
    """A headless Chromium browser (Playwright's sync API)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def wait_until(page, script: str, timeout_s: float = 40) -> object:
    """Poll ``script`` (a JavaScript expression) in ``page`` until it is truthy; its value.
    (Playwright's ``wait_for_function`` evaluates strings, which the page's CSP forbids.)"""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = page.evaluate(script)
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {script}")


def watch(page) -> list[str]:
    """Console errors and page errors of ``page``, collected as they happen."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return errors


@dataclass
class LiveRun:
    """A paced replay through the live pipeline with its web view, running in a thread."""

    pipeline: LivePipeline
    server: ViewProcess
    url: str
    thread: threading.Thread
    out: Path

    def wait(self, timeout_s: float = 120) -> Path:
        """Wait for the run to end; the run file."""
        self.thread.join(timeout_s)
        assert not self.thread.is_alive(), "the run did not end"
        self.server.stop()
        return self.out


@contextmanager
def live_run(
    recorded: Path, out: Path, speed: str = "2", token: str | None = None,
    every: str = "0.5 s", host: str = "127.0.0.1",
) -> Iterator[LiveRun]:  # fmt: skip
    """Replay ``recorded`` at ``speed`` into ``out`` with the web view on a free port."""
    source = PacedRun(open_run(recorded), parse_speed(speed))
    output = OutputSettings(out, "deflate", False, every)
    pipeline = LivePipeline(source, output, PipelineSettings(workers=1))
    server = ViewProcess(pipeline, ViewAddress(host, 0, token))
    url = server.start()
    thread = threading.Thread(target=pipeline.run, daemon=True)
    thread.start()
    try:
        yield LiveRun(pipeline, server, url, thread, out)
    finally:
        pipeline.stop("test over")
        thread.join(60)
        server.stop()
        source.close()


def simulated_file(path: Path, seconds: float = 8, seed: int = 11) -> Path:
    """A simulated run file of a pulsed CsPbI3 dot (T3, blinking)."""
    record_run(ts.simulate("cspbi3-10nm", duration=f"{seconds} s", seed=seed), path)
    return path


def filled_fraction(png: bytes) -> float:
    """Share of a screenshot's pixels that are not the background (white)."""
    from matplotlib.image import imread

    pixels = imread(io.BytesIO(png), format="png")[..., :3]
    return float(np.mean(np.any(pixels < 0.92, axis=-1)))
