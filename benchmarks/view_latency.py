"""The web view's latency: from a snapshot's publication (when an analysis worker took it) to
its panel drawn in a real browser, during a paced replay at 10 M tags/s.

The page reports each panel it has drawn (Plotly's promise resolved) with the snapshot's time;
the row gives the 95th percentile of those latencies over the run (median and largest in the
note), leaving out each panel's first drawing, which builds its plot (said in the note). It needs
Debian's chromium and Playwright; without them the row says why it is missing.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tagstream.pipeline.live_run import LivePipeline
from tagstream.pipeline.run_config import OutputSettings, PipelineSettings
from tagstream.sources.files import open_run
from tagstream.sources.paced import PacedRun
from tagstream.store.packing import DEFAULT_COMPRESSION
from tagstream.view import ViewAddress, ViewProcess

#: Largest publication-to-page latency allowed (95th percentile), s.
LATENCY_BUDGET_S = 0.25
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run",
]  # fmt: skip


def _chromium() -> str | None:
    found = os.environ.get("TAGSTREAM_CHROMIUM") or shutil.which("chromium")
    return found if found and Path(found).exists() else None


def measure_view_latency(
    add_row: Callable[..., object], sum_rate: float, source: Path, out: Path, speed: float,
    rate: float, say: Callable[[str], None] = lambda _m: None,
) -> None:  # fmt: skip
    """The row of the page's latency during a replay of ``source`` at ``speed`` (``rate``
    tags/s)."""
    label, impl = "web view: snapshot to page", f"chromium, {rate / 1e6:g} Mtags/s paced"
    budget = f"<= {LATENCY_BUDGET_S * 1e3:g} ms (95th percentile)"
    chromium = _chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if chromium is None or sync_playwright is None:
        missing = "chromium" if chromium is None else "playwright"
        add_row(label, impl, 0, None, None, budget=budget, meets=None,
                agrees=None, note=f"not measured: {missing} is not installed")  # fmt: skip
        return
    say(f"web view: paced replay at {rate / 1e6:g} Mtags/s with a page open")
    settings = PipelineSettings()  # as `tagstream run` does: a worker process over tcp://
    output = OutputSettings(out, DEFAULT_COMPRESSION, True, "0.5 s")
    with PacedRun(open_run(source), speed) as run, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        pipeline = LivePipeline(run, output, settings)
        server = ViewProcess(pipeline, ViewAddress())
        url = server.start()
        page = browser.new_page(viewport={"width": 1400, "height": 1400})
        page.goto(url)
        thread = threading.Thread(target=pipeline.run, daemon=True)
        thread.start()
        thread.join()
        time.sleep(0.5)  # the last panels' reports
        server.stop()
        browser.close()
        status = pipeline.status()
    first, latencies = {}, []
    for key, latency in server.latencies_s:  # each panel's first drawing builds its plot
        if key in first:
            latencies.append(latency)
        else:
            first[key] = latency
    latencies = np.asarray(latencies, dtype=float)
    if not latencies.size:
        add_row(label, impl, status["tags"], None, None, budget=budget, meets=None, agrees=None,
                note="not measured: no panel reported being drawn after its first (a run too "
                "short for updates?)")  # fmt: skip
        return
    p95 = float(np.percentile(latencies, 95))
    add_row(
        label, impl, status["tags"], rate, rate / sum_rate, budget=budget,
        meets=bool(p95 <= LATENCY_BUDGET_S and status["missed"] == 0), agrees=None,
        note=f"95th percentile {p95 * 1e3:.0f} ms, median {np.median(latencies) * 1e3:.0f} ms, "
        f"largest {latencies.max() * 1e3:.0f} ms over {latencies.size} panel updates (first "
        f"drawings, which build the plots: up to {max(first.values()) * 1e3:.0f} ms); "
        f"lost {status['missed']}",
    )  # fmt: skip
