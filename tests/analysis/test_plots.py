"""The run figure's panels and the results' short repr and .plot() for Jupyter."""

from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure

import tagstream as ts
from tagstream.analysis.derived import adjacent_peak_height
from tagstream.analysis.plots import plot_decay, plot_g2, plot_g2_log, plot_trace, summary_figure
from tagstream.pipeline.offline import analyze_run
from tagstream.sources.simulator import simulate


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def pulsed():
    with simulate("dot-4k", duration="2 s", seed=5) as run:
        return analyze_run(run, "dot.h5")


@pytest.fixture(scope="module")
def cw():
    with simulate("cw-antibunching", duration="0.5 s", seed=5) as run:
        return analyze_run(run, "cw.h5")


def _texts(fig: Figure) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def test_cw_figure_has_a_log_g2_and_an_occurrence_panel(cw):
    assert cw.decay is None and cw.g2_log is not None
    fig = summary_figure(cw)
    assert not any("not available" in t for t in _texts(fig))
    log_axes = [ax for ax in fig.axes if ax.get_title().startswith("g2(τ), log-binned")]
    assert len(log_axes) == 1 and log_axes[0].get_xscale() == "log"
    assert log_axes[0].get_xlabel() == "lag τ (s)"
    occurrence = [ax for ax in fig.axes if ax.get_title().startswith("count occurrence")]
    assert len(occurrence) == 1 and occurrence[0].get_xlabel() == "counts per 10 ms bin"
    # the antibunching dip shows on the log axis: g2 near zero at the shortest lags, 1 later
    g = cw.g2_log.g2
    assert np.nanmin(g[:4]) < 0.5 and abs(np.nanmedian(g[-40:-10]) - 1.0) < 0.1


def test_pulsed_figure_panels(pulsed):
    fig = summary_figure(pulsed)
    labels = {ax.get_ylabel() for ax in fig.axes}
    assert "g2(τ), side peaks normalised to 1" in labels
    assert "deviance\nresidual" in labels
    residual = next(ax for ax in fig.axes if ax.get_ylabel() == "deviance\nresidual")
    assert residual.get_xlabel() == "delay after the laser pulse (ns)"
    assert any(t.startswith("FLID") for t in (ax.get_title() for ax in fig.axes))
    # every legend lies outside its axes' data area
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legends = [ax for ax in fig.axes if ax.get_legend() is not None]
    assert len(legends) >= 2
    for ax in legends:
        box = ax.get_legend().get_window_extent(renderer)
        assert box.x0 >= ax.get_window_extent(renderer).x1 - 1


def test_figure_still_shows_warnings_and_notes(pulsed):
    fig = summary_figure(pulsed)
    texts = _texts(fig)
    note = pulsed.notes_for("blinking")[0]  # the dot does not blink
    assert any(note[:40] in t.replace("\n", " ") for t in texts)


def test_threshold_labels_in_the_trace_axis_units(pulsed):
    trace = pulsed.trace
    blinking = trace.states([50_000.0, 100_000.0])  # 500 and 1000 counts per 10 ms bin
    _, ax = plt.subplots()
    plot_trace(ax, trace, blinking)
    assert ax.get_ylabel() == "counts per 10 ms bin"
    labels = [t.get_text() for t in ax.texts]
    assert labels == ["500 counts (50 kcps)", "1000 counts (100 kcps)"]


def test_slow_emitter_g2_axis_in_microseconds_with_merged_bins():
    with simulate("cdse-slow", duration="2 s", seed=2) as run:
        tags = run.read()
    g = ts.g2(tags, "A", "B", window="35 us", bin="40 ns")
    zero = g.g2_zero("pulsed", method="window")
    _, ax = plt.subplots()
    plot_g2(ax, g, zero)
    assert ax.get_xlabel() == "delay τ (µs)"
    (steps,) = [p for p in ax.patches if p.get_label() == "A×B"]
    shown = steps.get_data().values
    assert 7 * 40 <= shown.size < g.counts.size  # merged, and still 40 bins per period
    assert ax.get_xlim() == pytest.approx((-35.0, 35.0), abs=0.5)


def test_results_have_short_reprs_and_plot_into_axes(pulsed, cw):
    fit = pulsed.decay_fit
    results = [
        pulsed.g2, cw.g2_log, pulsed.decay, fit, pulsed.trace, pulsed.flid,
        pulsed.trace.states([50_000.0]),
    ]  # fmt: skip
    for result in results:
        text = repr(result)
        assert "\n" not in text and len(text) < 200, text
        assert text.startswith(type(result).__name__ + "(")
        ax = result.plot()
        assert isinstance(ax, Axes) and (ax.has_data() or ax.patches)
        _, given = plt.subplots()
        assert result.plot(ax=given) is given
    assert "g2(0)=" in repr(pulsed.g2) and "pulsed" in repr(pulsed.g2)
    assert "coincidences" in repr(pulsed.g2) and "±" in repr(pulsed.g2)
    assert "tau=[" in repr(fit) and "deviance/dof" in repr(fit)
    decay_ax = pulsed.decay.plot(fit=fit)
    assert len(decay_ax.figure.axes) == 2  # the residuals under the decay


def test_import_tagstream_leaves_matplotlib_alone():
    import subprocess
    import sys

    code = "import sys, tagstream; tagstream.G2Result; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("bin_width", ["100 ps", "250 ps"])
def test_pulsed_side_peaks_reach_one_whatever_the_bin(bin_width):
    """The adjacent-peak height from the data puts the side peaks of the fitted model (a
    noise-free reference the height does not use) at 1 within a few percent."""
    with simulate("dot-4k", duration="2 s", seed=5) as run:
        tags = run.read()
    g = ts.g2(tags, "A", "B", window="40 ns", bin=bin_width)
    zero = g.g2_zero("pulsed", method="fit")
    model = np.asarray(zero.detail.model) / adjacent_peak_height(g, zero)
    c = zero.detail.offset_ps
    peaks = [model[np.abs(g.tau_ps - (c + k * zero.period_ps)) < 0.5 * zero.period_ps].max()
             for k in (-1, 1)]  # fmt: skip
    assert 0.5 * sum(peaks) == pytest.approx(1.0, abs=0.06)
    # the figure: the shown side peaks reach about 1 too
    _, ax = plt.subplots()
    plot_g2(ax, g, zero)
    assert ax.get_ylabel() == "g2(τ), side peaks normalised to 1"
    assert "area ratio" in ax.get_title()
    (steps,) = [p for p in ax.patches if p.get_label() == "A×B"]
    data = steps.get_data()
    centres = 0.5 * (data.edges[:-1] + data.edges[1:]) * 1e3
    side = [data.values[np.abs(centres - (c + k * zero.period_ps)) < 0.5 * zero.period_ps].max()
            for k in (-1, 1)]  # fmt: skip
    assert 0.5 * sum(side) == pytest.approx(1.0, abs=0.1)


def test_decay_whose_rise_wraps_starts_at_the_rise(pulsed):
    """A pulse at the very start of the period puts part of its rise at the end: the panel is
    turned round so that no spike shows at the end and the rise comes first."""
    d = pulsed.decay
    n = d.counts.size
    turned = type(d)(d.channel, d.edges_ps, np.roll(d.counts, 3), d.period_ps, d.mode)
    assert turned.counts[-3:].sum() > 0.01 * turned.counts.max()  # the rise wraps
    _, ax = plt.subplots()
    plot_decay(ax, turned)
    (steps,) = ax.patches
    data = steps.get_data()
    assert data.edges[0] < 0 < data.edges[-1] < d.period_ps / 1e3
    tail = np.nan_to_num(data.values[-max(3, data.values.size // 20) :])
    assert tail.max() < 0.01 * np.nanmax(data.values)
    assert np.nansum(data.values) == pytest.approx(turned.counts.sum(), rel=0.02)
    assert n == d.counts.size


def test_slow_decay_and_flid_axes_in_microseconds():
    with simulate("cdse-slow", duration="2 s", seed=2) as run:
        summary = analyze_run(run, "slow.h5")
    fig = summary_figure(summary)
    labels = {ax.get_xlabel() for ax in fig.axes}
    assert "delay after the laser pulse (µs)" in labels
    assert "mean delay after the laser pulse (µs)" in labels


def test_log_g2_title_names_only_what_the_curve_shows(cw):
    log = cw.g2_log
    _, ax = plt.subplots()
    plot_g2_log(ax, log)
    assert ax.get_title() == "g2(τ), log-binned: antibunching at short τ"
    rise = np.where((log.tau_ps > 1e6) & (log.tau_ps < 1e10), 0.2, 0.0)
    bunched = SimpleNamespace(
        tau_ps=log.tau_ps, g2=log.g2 + rise, g2_err=log.g2_err, channels=log.channels
    )
    _, ax = plt.subplots()
    plot_g2_log(ax, bunched)
    assert "bunching above 1 at long τ" in ax.get_title()


def test_threshold_labels_sit_right_of_the_data(pulsed):
    blinking = pulsed.trace.states([50_000.0, 100_000.0])
    fig = plt.figure()
    ax, side = fig.subplots(1, 2, sharey=True)
    plot_trace(ax, pulsed.trace, blinking, side)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    assert [t.get_text() for t in side.texts] == ["500 counts (50 kcps)", "1000 counts (100 kcps)"]
    for text in side.texts:
        assert text.get_window_extent(renderer).x0 >= side.get_window_extent(renderer).x1
