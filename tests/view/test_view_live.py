"""The web view in a real browser during a paced replay: the page's numbers are the run's
result series, its plots follow the snapshots, every panel draws, and nothing of the recording
depends on a page being open."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

import tagstream as ts
from tagstream.analysis.measurement import kind
from tagstream.analysis.measurements.g2_view import live_g2_zero
from tagstream.analysis.measurements.lifetime_view import displayed, live_decay_fit
from tagstream.analysis.summary_settings import SummarySettings
from tagstream.pipeline.consistency import compare_with_offline
from tagstream.pipeline.result_series import read_results
from tests.view.browser import browser, filled_fraction, live_run, simulated_file, watch

PANELS = ("g2", "lifetime", "trace", "flid")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    return simulated_file(tmp_path_factory.mktemp("view") / "dot.h5", seconds=8)


def _numbers(page) -> dict:
    """Per panel: the data end it shows, its numbers' values and the first line's y values."""
    return page.evaluate(
        """() => {
        const out = {};
        for (const node of document.querySelectorAll('#panels .panel')) {
          const numbers = {};
          for (const n of node.querySelectorAll('.number')) {
            numbers[n.dataset.key] = n.dataset.value === '' ? null : Number(n.dataset.value);
            if (n.dataset.end) numbers[n.dataset.key + ':end'] = n.dataset.end;
          }
          const plot = node.querySelector('.plot');
          const line = plot.data && plot.data[0];
          const y = line ? Array.from(line.y || line.z || []) : [];
          out[node.dataset.key] = {end: node.dataset.coveredEnd, numbers, y: JSON.stringify(y)};
        }
        return out;
    }"""
    )


def _upto(results, end: int, last: bool = False) -> dict:
    """The run file's series as of their (first, or ``last``) snapshot ending at ``end``."""
    out = {}
    for name, s in results.series.items():
        at = np.flatnonzero(s.covered_ps[:, 1] == end) if len(s) else []
        if len(at):
            out[name] = s.until(int(at[-1] if last else at[0]))
    return out


def _expected(results, end: int, blinking_end: int | None) -> dict[str, dict[str, float]]:
    """The numbers of the snapshot ending at ``end`` (the blinking fit's at ``blinking_end``),
    computed from the run file's series."""
    series = _upto(results, end)
    fit = live_decay_fit(displayed(kind("lifetime").result_from(series)))
    g2 = live_g2_zero(kind("g2").result_from(series), SummarySettings(), float(fit.tau_ps[0]))
    out = {
        "g2": {"g2_zero": g2.value, "purity": g2.purity},
        "lifetime": {"tau": float(fit.tau_ps[0]) / 1e3},
    }
    if blinking_end is not None:
        fractions = _upto(results, blinking_end, last=True)["blinking"].fields["fractions"][-1]
        out["trace"] = dict(zip(("on_fraction", "grey_fraction", "off_fraction"),
                                (float(v) for v in fractions), strict=True))  # fmt: skip
    return out


def test_page_numbers_are_the_result_series_and_plots_follow(recorded, tmp_path):
    samples = []
    with browser() as chromium, live_run(recorded, tmp_path / "live.h5", speed="1") as run:
        page = chromium.new_page(viewport={"width": 1400, "height": 1400})
        errors = watch(page)
        page.goto(run.url)
        page.wait_for_selector("#panel-g2 .number[data-key=g2_zero]", timeout=30_000)
        while run.thread.is_alive() and len(samples) < 40:
            samples.append(_numbers(page))
            time.sleep(0.2)
        shots = {key: page.locator(f"#panel-{key} .plot").screenshot() for key in PANELS}
        shots["rates"] = page.locator("#rate-plot").screenshot()
        rate_updates = int(page.get_attribute("#rates", "data-updates"))
        out = run.wait()
        latencies = list(run.server.latencies_s)
    assert errors == []
    results = read_results(out)
    compared = 0
    ends = set()
    for sample in samples:
        g2 = sample.get("g2")
        if not g2 or not g2["end"] or g2["numbers"].get("g2_zero") is None:
            continue
        end = int(g2["end"])
        if any(sample[k]["end"] != g2["end"] for k in ("lifetime", "trace")):
            continue  # caught between two panels' updates
        ends.add(end)
        blinking_end = sample["trace"]["numbers"].get("on_fraction:end")
        blinking_end = None if blinking_end is None else int(blinking_end)
        for panel, numbers in _expected(results, end, blinking_end).items():
            for key, value in numbers.items():
                shown = sample[panel]["numbers"][key]
                # the page's fit starts from its previous snapshot's: equal within its tolerance
                rel = 1e-6 if key == "tau" else 1e-12
                assert shown == pytest.approx(value, rel=rel, abs=1e-15), (panel, key, end)
        compared += 1
    assert compared >= 5 and len(ends) >= 4  # the page followed several snapshots
    # the plots change between snapshots
    for key in ("g2", "lifetime", "trace"):
        shown = {s[key]["y"] for s in samples if key in s}
        assert len(shown) >= 3, key
    for key, png in shots.items():  # every panel draws something
        assert filled_fraction(png) > 0.01, key
    assert rate_updates >= 5 * 4  # count rates at 5 per second while the run went on
    assert {key for key, _ in latencies} >= set(PANELS)  # every panel reported its drawings
    assert all(math.isfinite(v) and v > 0 for _, v in latencies)
    assert compare_with_offline(out).all_equal


def _same_recording(a, b) -> None:
    """The two run files hold the same tags and the same result series (wall times aside)."""
    with ts.open(a) as ra, ts.open(b) as rb:
        ta, tb = ra.read(), rb.read()
        assert ra.status == rb.status == "complete"
    for name in ("timestamps", "channels", "nanotimes"):
        np.testing.assert_array_equal(getattr(ta, name), getattr(tb, name))
    sa, sb = read_results(a).series, read_results(b).series
    assert set(sa) == set(sb)
    for name in sa:
        x, y = sa[name], sb[name]
        if name == "blinking":  # fits may be put off by load: the last ones are always made
            x, y = x.until(-1), y.until(-1)
            np.testing.assert_array_equal(x.fields["fractions"][-1], y.fields["fractions"][-1])
            continue
        np.testing.assert_array_equal(x.covered_ps, y.covered_ps)
        for key in x.fields:
            np.testing.assert_array_equal(x.fields[key], y.fields[key], err_msg=f"{name}/{key}")
        for key in x.row_arrays:
            np.testing.assert_array_equal(x.row_arrays[key], y.row_arrays[key])


def test_a_page_open_changes_nothing_in_the_recording(recorded, tmp_path):
    with browser() as chromium, live_run(recorded, tmp_path / "seen.h5", speed="max") as run:
        page = chromium.new_page()
        page.goto(run.url)
        seen = run.wait()
    with live_run(recorded, tmp_path / "unseen.h5", speed="max") as run:
        unseen = run.wait()
    _same_recording(seen, unseen)
