"""The run summary: the summary JSON of DESIGN.md, recovery of a synthetic emitter's known
parameters, streaming, parts that cannot be computed, and the summary figure."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

import numpy as np
import pytest
from matplotlib.image import imread

from tagstream.analysis.lifetime import DecayResult
from tagstream.analysis.plots import save_figure, summary_figure
from tagstream.analysis.summary import (
    RunSummary,
    SummarySettings,
    default_g2_binning,
    default_lifetime_bin,
    fit_lifetime,
    resolve_settings,
    summarize,
)
from tagstream.errors import AnalysisError, ChannelError
from tagstream.tags import ChannelMap, RunMetadata, TagBatch

from ..synthetic import CHANNELS, cw_antibunched, pulsed_t3, telegraph

PS_PER_S = 10**12
PERIOD_PS = 50_000  # 20 MHz laser
TAU_PS = 5_000.0
OFF_BRIGHTNESS = 0.05
DURATION_PS = 5 * PS_PER_S
CHUNK_PS = PS_PER_S // 4
GAP_PS = (2 * PS_PER_S, 2 * PS_PER_S + 50 * 10**9)  # 50 ms of lost data


# ---------------------------------------------------------------------------------- schema
TOP_KEYS = {
    "file", "duration_s", "live_s", "mode", "channels", "g2", "lifetime", "blinking", "levels",
    "xx_x", "g3", "heralded", "hom", "image", "counters", "gaps", "warnings",
}  # fmt: skip
#: Counts between markers.
COUNTER_KEYS = {"start", "stop", "channels", "intervals", "mean_interval_s", "mean_counts",
                "rate_cps", "note"}  # fmt: skip
#: The scan image's block.
IMAGE_KEYS = {
    "pixels", "frames", "lines", "pixel_time_s", "pixel_size_um", "bidirectional", "photons",
    "photons_placed", "period_ns", "dot_count", "dots", "background_counts", "fwhm_px", "note",
}  # fmt: skip
#: The cascade blocks: keys, and the key of the value that is null when not computed.
CASCADE_KEYS = {
    "xx_x": ({"pair", "excitation", "period_ns", "bunching", "bunching_err", "zero_delay_ns",
              "areas", "note"}, "bunching"),
    "g3": ({"channels", "g3_zero", "g3_zero_err", "excitation", "zero_delay_ns", "window_ns",
            "counts", "note"}, "g3_zero"),
    "heralded": ({"channels", "g2_zero", "g2_zero_err", "excitation", "zero_delay_ns",
                  "window_ns", "counts", "note"}, "g2_zero"),
    "hom": ({"pair", "polarisation", "ratio", "ratio_err", "areas", "period_ns", "zero_delay_ns",
             "indistinguishability", "indistinguishability_err", "visibility", "visibility_err",
             "reference", "short_share", "reflectance", "g2_zero", "note"}, "ratio"),
}  # fmt: skip
CHANNEL_KEYS = {"number", "role", "counts", "rate_cps"}
G2_KEYS = {
    "pair", "excitation", "period_ns", "g2_zero", "g2_zero_err", "rate_per_ns", "method",
    "zero_delay_ns", "jitter_ps", "gate_ns", "gate_share", "note",
}  # fmt: skip
LIFETIME_KEYS = {
    "channel", "model", "tau_ns", "tau_err_ns", "amplitudes", "irf", "intensity_fractions",
    "tau_mean_ns", "jitter_ps", "reduced_deviance", "deviance", "dof", "period_ns", "divider",
    "photons", "note",
}  # fmt: skip
BLINKING_KEYS = {
    "bin_s", "thresholds_cps", "fractions", "on_exponent", "off_exponent", "on_exponent_err",
    "off_exponent_err", "on_dwell_min_s", "off_dwell_min_s", "dwell_min_method", "on_dwells",
    "off_dwells", "gate_ns", "method", "note",
}  # fmt: skip
LEVELS_KEYS = {
    "channels", "alpha", "n_levels", "n_switches", "n_states", "states", "fractions", "gate_ns",
    "note",
}  # fmt: skip
STATE_KEYS = {"name", "rate_cps", "fraction", "dwells", "mean_dwell_s", "mean_delay_ns"}


def _is_float(value: object) -> bool:
    return type(value) is float


def _float_or_null(value: object) -> bool:
    return value is None or _is_float(value)


def _note(value: object) -> bool:
    return value is None or (type(value) is str and value != "")


def check_schema(d: dict) -> None:
    """Exactly the keys and plain types of the summary JSON in DESIGN.md and the README; every
    block present, with ``None`` values and a note saying why when it was not computed."""
    assert set(d) == TOP_KEYS
    assert type(d["file"]) is str and _is_float(d["duration_s"]) and d["mode"] in ("T2", "T3")
    assert _is_float(d["live_s"]) and d["live_s"] <= d["duration_s"]
    for name, ch in d["channels"].items():
        assert type(name) is str and set(ch) == CHANNEL_KEYS
        assert type(ch["number"]) is int and type(ch["counts"]) is int
        assert ch["role"] in ("sync", "detector", "marker") and _is_float(ch["rate_cps"])
    for block, check in (("g2", _check_g2), ("lifetime", _check_lifetime)):
        assert _note(d[block]["note"])
        if d[block]["model" if block == "lifetime" else "g2_zero"] is None:
            assert d[block]["note"], f"{block} missing without a note"
        else:
            check(d[block])
    assert _note(d["blinking"]["note"])
    if d["blinking"]["fractions"] is None:
        assert d["blinking"]["note"]
        assert set(d["blinking"]) == BLINKING_KEYS
    else:
        _check_blinking(d["blinking"])
    _check_levels(d["levels"])
    for block, (keys, value) in CASCADE_KEYS.items():
        assert set(d[block]) == keys and _note(d[block]["note"])
        if d[block][value] is None:
            assert d[block]["note"], f"{block} missing without a note"
        else:
            assert _is_float(d[block][value]) and _is_float(d[block][value + "_err"])
    assert set(d["image"]) == IMAGE_KEYS and _note(d["image"]["note"])
    if d["image"]["pixels"] is None:
        assert d["image"]["note"], "image missing without a note"
    else:
        assert all(type(n) is int for n in d["image"]["pixels"]) and _is_float(
            d["image"]["pixel_time_s"])  # fmt: skip
        for dot in d["image"]["dots"] or []:
            assert _is_float(dot["x"]) and _is_float(dot["y"]) and _is_float(dot["peak_rate_cps"])
    assert set(d["counters"]) == COUNTER_KEYS and _note(d["counters"]["note"])
    if not d["counters"]["intervals"]:
        assert d["counters"]["note"], "counters missing without a note"
    assert type(d["gaps"]) is list
    for gap in d["gaps"]:
        assert type(gap) is list and len(gap) == 2 and all(map(_is_float, gap))
        assert gap[0] < gap[1]
    assert type(d["warnings"]) is list and all(type(w) is str for w in d["warnings"])


def _check_g2(g: dict) -> None:
    assert set(g) == G2_KEYS
    assert type(g["pair"]) is list and len(g["pair"]) == 2
    assert all(type(n) is str for n in g["pair"])
    assert _is_float(g["g2_zero"]) and _is_float(g["g2_zero_err"])
    assert _is_float(g["zero_delay_ns"]) and _float_or_null(g["jitter_ps"])
    assert (g["gate_ns"] is None) == (g["gate_share"] is None)
    assert g["gate_share"] is None or all(map(_float_or_null, g["gate_share"].values()))
    if g["excitation"] == "pulsed":
        assert _is_float(g["period_ns"]) and g["rate_per_ns"] is None
        assert g["method"] in ("window", "fit")
    else:
        assert g["excitation"] == "cw" and g["method"] == "cw-fit"
        assert g["period_ns"] is None and _is_float(g["rate_per_ns"])


def _check_lifetime(life: dict) -> None:
    assert set(life) == LIFETIME_KEYS
    assert type(life["channel"]) is str
    n = {"mono": 1, "bi": 2, "tri": 3}[life["model"]]
    for key in ("tau_ns", "tau_err_ns", "amplitudes", "intensity_fractions"):
        assert type(life[key]) is list and len(life[key]) == n
        assert all(map(_float_or_null, life[key]))
    assert set(life["tau_mean_ns"]) == {"amplitude", "intensity"}
    assert all(map(_is_float, life["tau_mean_ns"].values()))
    assert life["irf"] in ("measured", "gaussian", "none")
    assert _float_or_null(life["jitter_ps"]) and _is_float(life["reduced_deviance"])
    assert type(life["dof"]) is int and type(life["divider"]) is int
    assert type(life["photons"]) is int and _float_or_null(life["period_ns"])


def _check_blinking(b: dict) -> None:
    assert set(b) == BLINKING_KEYS
    assert _is_float(b["bin_s"])
    assert type(b["thresholds_cps"]) is list and len(b["thresholds_cps"]) in (1, 2)
    assert all(map(_is_float, b["thresholds_cps"]))
    assert set(b["fractions"]) == {"on", "grey", "off"}
    assert all(map(_is_float, b["fractions"].values()))
    assert sum(b["fractions"].values()) == pytest.approx(1.0)
    for state in ("on", "off"):
        assert _float_or_null(b[f"{state}_exponent"])
        assert _float_or_null(b[f"{state}_exponent_err"])
        assert _float_or_null(b[f"{state}_dwell_min_s"])
        assert b[f"{state}_dwells"] is None or type(b[f"{state}_dwells"]) is int
    assert b["dwell_min_method"] in (None, "ks", "user")
    assert b["method"] in ("poisson-mixture-bic", "user") or b["method"].startswith(
        "change-point levels"
    )


def _check_levels(lv: dict) -> None:
    assert set(lv) == LEVELS_KEYS and _note(lv["note"])
    if lv["n_levels"] is None:
        assert lv["note"] and all(v is None for k, v in lv.items() if k not in ("note", "gate_ns"))
        return
    assert type(lv["n_levels"]) is int and type(lv["n_switches"]) is int
    assert _is_float(lv["alpha"]) and all(type(c) is str for c in lv["channels"])
    assert lv["n_states"] == len(lv["states"]) and 1 <= lv["n_states"] <= 3
    for state in lv["states"]:
        assert set(state) == STATE_KEYS and type(state["dwells"]) is int
        assert _is_float(state["rate_cps"]) and _is_float(state["fraction"])
        assert _float_or_null(state["mean_dwell_s"]) and _float_or_null(state["mean_delay_ns"])
    assert sum(s["fraction"] for s in lv["states"]) == pytest.approx(1.0)
    assert set(lv["fractions"]) == {"on", "grey", "off"}


def checked_json(summary: RunSummary) -> dict:
    """The summary's JSON after a strict round trip (no NaN, no numpy types)."""
    d = summary.to_dict()
    check_schema(d)
    text = json.dumps(d, allow_nan=False)
    assert json.loads(text) == d
    return d


# ---------------------------------------------------------------------------------- data
@dataclass
class BlinkingRun:
    batches: list[TagBatch]
    metadata: RunMetadata
    g2_zero: float
    on_fraction: float


def _time_in_state(switch: np.ndarray, states: np.ndarray, state: int, a: int, b: int) -> int:
    """Time (ps) the telegraph spends in ``state`` within ``[a, b)``."""
    starts = np.clip(switch, a, b)
    stops = np.clip(np.append(switch[1:], b), a, b)
    return int(np.sum((stops - starts)[states == state]))


def _shifted(tags: TagBatch, t0: int, gap: tuple[int, int] | None = None) -> TagBatch:
    """``tags`` moved by ``t0``; with ``gap``, the tags inside it are lost and it is recorded."""
    ts = tags.timestamps + t0
    keep = np.ones(ts.size, bool) if gap is None else (ts < gap[0]) | (ts >= gap[1])
    return TagBatch(
        ts[keep],
        tags.channels[keep],
        t0 + tags.t_begin,
        t0 + tags.t_end,
        nanotimes=tags.nanotimes[keep],
        gaps=None if gap is None else np.array([gap]),
        metadata=tags.metadata,
    )


@pytest.fixture(scope="module")
def blinking_run() -> BlinkingRun:
    """A 5 s pulsed T3 run of a dot with long-dwell ON / OFF blinking (the OFF state 5 % as
    bright, same lifetime), 100 dark counts/s per detector and 50 ms of lost data at 2 s,
    generated in 250 ms batches."""
    rng = np.random.default_rng(5)
    switch, states = telegraph(rng, DURATION_PS, mean_dwell_ps=(400 * 10**9, 200 * 10**9))
    per_state = {0: (1.0, TAU_PS), 1: (OFF_BRIGHTNESS, TAU_PS)}
    batches, g_true = [], 0.0
    for t0 in range(0, DURATION_PS, CHUNK_PS):
        tags, g_true = pulsed_t3(
            rng,
            CHUNK_PS,
            period_ps=PERIOD_PS,
            p1=0.1,
            g2_zero=0.1,
            tau_ps=TAU_PS,
            dark_cps=100,
            blinking=(switch - t0, states, per_state),
        )
        gap = GAP_PS if t0 <= GAP_PS[0] < t0 + CHUNK_PS else None
        batches.append(_shifted(tags, t0, gap))
    live = DURATION_PS - (GAP_PS[1] - GAP_PS[0])
    on = _time_in_state(switch, states, 0, 0, DURATION_PS)
    on -= _time_in_state(switch, states, 0, *GAP_PS)
    f = on / live
    # adjacent-peak normalisation over a blinking emitter: zero-delay pairs scale with the
    # brightness s, adjacent ones with s², so g2(0) = g (Σ f s) / (Σ f s²)
    s = OFF_BRIGHTNESS
    g2_zero = g_true * (f + (1 - f) * s) / (f + (1 - f) * s * s)
    return BlinkingRun(batches, batches[0].metadata, g2_zero, f)


@pytest.fixture(scope="module")
def summary(blinking_run: BlinkingRun) -> RunSummary:
    return summarize(blinking_run.batches, blinking_run.metadata, "dot7.h5")


# ---------------------------------------------------------------------------------- values
def test_json_schema_and_run_figures(summary, blinking_run):
    d = checked_json(summary)
    assert d["file"] == "dot7.h5" and d["mode"] == "T3" and d["duration_s"] == 5.0
    assert d["gaps"] == [[2.0, 2.05]]
    live_s = 4.95
    total = sum(len(b) for b in blinking_run.batches)
    a, b = d["channels"]["A"], d["channels"]["B"]
    assert a["counts"] + b["counts"] == total
    assert a["rate_cps"] == pytest.approx(a["counts"] / live_s)
    assert d["channels"]["sync"] == {"number": 0, "role": "sync", "counts": 0, "rate_cps": 0.0}


def test_g2_zero_recovers_the_emitter(summary, blinking_run):
    g = summary.to_dict()["g2"]
    assert g["pair"] == ["A", "B"] and g["excitation"] == "pulsed" and g["period_ns"] == 50.0
    assert abs(g["g2_zero"] - blinking_run.g2_zero) < 3 * g["g2_zero_err"]
    assert g["g2_zero_err"] < 0.003
    # the default window holds the peaks at ±3 periods whole, in bins of a 250th of a period
    assert summary.settings.g2_window >= 3.5 * PERIOD_PS and summary.settings.g2_bin == 200


def test_lifetime_recovers_the_emitter(summary):
    life = summary.to_dict()["lifetime"]
    assert life["channel"] == "A" and life["model"] == "mono" and life["irf"] == "gaussian"
    assert abs(life["tau_ns"][0] - TAU_PS / 1e3) < 0.02 * TAU_PS / 1e3
    assert life["amplitudes"] == [1.0]
    assert set(summary.decay_fits) >= {"mono", "bi"}  # bi was tried and rejected


def test_blinking_fractions_of_a_long_dwell_telegraph(summary, blinking_run):
    blink = summary.to_dict()["blinking"]
    assert blink["bin_s"] == 0.01 and len(blink["thresholds_cps"]) == 1
    assert abs(blink["fractions"]["on"] - blinking_run.on_fraction) < 0.02
    assert abs(blink["fractions"]["off"] - (1 - blinking_run.on_fraction)) < 0.02
    on_cps, off_cps = 1.0e6, OFF_BRIGHTNESS * 1.0e6
    assert off_cps < blink["thresholds_cps"][0] < on_cps


def test_text_reads_like_a_lab_summary(summary):
    text = summary.text()
    assert "dot7.h5: T3, 5 s, 50 ms lost" in text
    assert "sync 20 MHz" in text and "kcps" in text
    assert "g2(0) = 0.1" in text and "pulsed" in text and "purity" in text
    assert "lifetime (A, mono" in text and "ns" in text
    assert "blinking (10 ms bins" in text and "on 0.6" in text
    assert "gaps: 1 (2-2.05 s)" in text


# ---------------------------------------------------------------------------------- streaming
def _irregular(batch: TagBatch, rng: np.random.Generator, n: int) -> list[TagBatch]:
    cuts = np.sort(rng.integers(batch.t_begin, batch.t_end, n))
    return batch.split_at(cuts)


def test_streaming_in_many_batches_equals_one_batch(blinking_run):
    part = blinking_run.batches[6:10]  # 1.5 s to 2.5 s, across the lost data
    whole = TagBatch.concat(part)
    pieces = _irregular(whole, np.random.default_rng(2), 30)
    seen: list[int] = []
    streamed = summarize(iter(pieces), blinking_run.metadata, "part", progress=seen.append)
    single = summarize([whole], blinking_run.metadata, "part")
    assert seen == [p.t_end for p in pieces]
    assert len(pieces) > 20
    assert streamed.to_dict() == single.to_dict()
    assert np.array_equal(streamed.g2.counts, single.g2.counts)
    assert np.array_equal(streamed.decay.counts, single.decay.counts)
    assert np.array_equal(streamed.trace.counts, single.trace.counts)
    assert np.array_equal(streamed.flid.delay_sum, single.flid.delay_sum)
    assert streamed.to_dict()["gaps"] == [[2.0, 2.05]]


def test_settings_are_honoured(blinking_run):
    settings = SummarySettings.from_dict(
        {
            "g2_pair": ["B", "A"],
            "g2_window": "200 ns",
            "g2_bin": "400 ps",
            "lifetime_channel": "B",
            "lifetime_bin": "32 ps",
            "lifetime_model": "mono",
            "trace_bin": "20 ms",
            "thresholds_cps": [200_000],
        }
    )
    s = summarize(blinking_run.batches[:4], blinking_run.metadata, "first", settings)
    d = checked_json(s)
    assert d["g2"]["pair"] == ["B", "A"] and s.g2.bin_ps == 400 and s.g2.edges_ps[-1] == 200_000
    assert d["lifetime"]["channel"] == "B" and s.decay.bin_ps == 32
    assert list(s.decay_fits) == ["mono"]
    assert d["blinking"]["bin_s"] == 0.02 and d["blinking"]["thresholds_cps"] == [200_000.0]
    assert s.blinking.method == "user"


# ---------------------------------------------------------------------------------- settings
def test_settings_reject_unknown_keys_and_bad_values():
    with pytest.raises(AnalysisError, match=r"unknown setting.*trace_binn"):
        SummarySettings.from_dict({"trace_binn": "10 ms"})
    with pytest.raises(AnalysisError, match="lifetime_model"):
        SummarySettings(lifetime_model="quad")
    with pytest.raises(AnalysisError, match="file of the IRF measurement"):
        SummarySettings(irf="measured")
    with pytest.raises(AnalysisError, match="thresholds_cps"):
        SummarySettings(thresholds_cps=(5e5, 1e5))
    with pytest.raises(AnalysisError, match="g2_pair"):
        SummarySettings(g2_pair=("A",))
    with pytest.raises(AnalysisError, match="irf_sigma"):
        SummarySettings(irf="none", irf_sigma="30 ps")


def test_settings_that_the_run_cannot_use_raise_before_the_pass(blinking_run):
    md = blinking_run.metadata
    with pytest.raises(ChannelError, match="'C'"):
        resolve_settings(SummarySettings(g2_pair=("A", "C")), md)
    with pytest.raises(AnalysisError, match="nanotime unit"):
        resolve_settings(SummarySettings(lifetime_bin="18 ps"), md)
    with pytest.raises(AnalysisError, match="divide"):
        resolve_settings(SummarySettings(g2_window="100 ns", g2_bin="300 ps"), md)


def test_default_binning():
    assert default_g2_binning(12_500) == (43_750, 50)
    window, width = default_g2_binning(1e12 / 76e6)  # 76 MHz: no whole-ps period
    assert window % width == 0 and window >= 3.5 * 1e12 / 76e6 and width == 53
    assert default_g2_binning(None) == (100_000, 100)
    assert default_lifetime_bin(12_500, 4) == 16
    assert default_lifetime_bin(12_500, 25) == 25
    assert default_lifetime_bin(12_500, 2.5) == 20
    assert default_lifetime_bin(10**6, 4) == 248  # a 1 µs period in at most 4096 bins
    assert default_lifetime_bin(12_500) == 16


def test_automatic_model_selection_finds_two_components():
    rng = np.random.default_rng(1)
    period, n = 12_500, 200_000
    comp = rng.random(n) < 0.4
    delay = np.where(comp, rng.exponential(500.0, n), rng.exponential(3_000.0, n))
    t = (delay + rng.normal(300.0, 40.0, n)) % period
    edges = np.arange(0, period + 1, 32.0)
    counts = np.histogram(t, edges)[0] + rng.poisson(2, edges.size - 1)
    best, fits = fit_lifetime(DecayResult("A", edges, counts, period, "T3"))
    assert best.model == "bi" and "mono" in fits
    assert best.tau_ps == pytest.approx([500.0, 3_000.0], rel=0.03)


# ---------------------------------------------------------------------------------- missing parts
def test_single_detector_gives_no_g2(rng):
    tags, _ = pulsed_t3(rng, 2 * 10**11, period_ps=PERIOD_PS, p1=0.1, dark_cps=200)
    channels = ChannelMap.from_dict({"sync": {"number": 0, "role": "sync"}, "A": 1})
    md = RunMetadata("synthetic", channels, mode="T3", nanotime_unit_ps=4, sync_period_ps=PERIOD_PS)
    one = tags.select(tags.channels == 1)
    one.metadata = md
    s = summarize([one], md, "one-detector")
    d = checked_json(s)
    assert d["g2"]["g2_zero"] is None and d["g2"]["note"] and s.g2 is None
    assert "two detectors" in s.notes_for("g2")[0]
    assert d["lifetime"]["channel"] == "A"
    assert abs(d["lifetime"]["tau_ns"][0] - 2.0) < 0.04
    assert d["blinking"]["fractions"] is None and s.notes_for("blinking")
    assert list(d["channels"]) == ["sync", "A"]


@pytest.fixture(scope="module")
def cw_run():
    rng = np.random.default_rng(11)
    tags, truth = cw_antibunched(
        rng, 2 * 10**11, k_pump=1e-4, k_rad=1e-3, eta=0.05, background_cps=20_000
    )
    batches = tags.split_at(np.arange(1, 20) * 10**10)
    return summarize(batches, tags.metadata, "cw.ptu"), truth


def test_cw_run_without_sync_has_g2_and_no_lifetime(cw_run):
    s, (g0, k) = cw_run
    d = checked_json(s)
    g = d["g2"]
    assert g["excitation"] == "cw" and g["period_ns"] is None
    assert abs(g["g2_zero"] - g0) < 3 * g["g2_zero_err"]
    fit = s.g2_zero.detail
    assert abs(fit.rate_per_ps - k) < 3 * fit.rate_err_per_ps
    assert g["rate_per_ns"] == pytest.approx(fit.rate_per_ps * 1e3)
    assert s.settings.g2_window == 100_000 and s.settings.g2_bin == 100
    assert d["lifetime"]["model"] is None and "sync period" in s.notes_for("lifetime")[0]
    assert s.flid is None and s.notes_for("flid")
    # a steady emitter: one intensity level, no ON / OFF thresholds
    assert d["blinking"]["fractions"] is None
    assert "one state" in s.notes_for("blinking")[0]
    assert d["levels"]["n_states"] == 1 and d["levels"]["fractions"]["on"] == 1.0
    assert "blinking: none seen, the trace shows one state" in s.text()
    assert "effective" in s.text() and "lifetime: not available" in s.text()


def test_t2_without_sync_period_has_no_lifetime_but_finds_the_peaks(rng):
    tags, g_true = pulsed_t3(rng, 2 * 10**11, period_ps=PERIOD_PS, p1=0.1)
    md = RunMetadata("synthetic", CHANNELS, mode="T2", hbt_pair=("A", "B"))
    t2 = TagBatch(tags.timestamps, tags.channels, tags.t_begin, tags.t_end, metadata=md)
    s = summarize(t2.split_at([10**11]), md, "t2")
    d = checked_json(s)
    assert d["mode"] == "T2" and d["lifetime"]["model"] is None and s.decay is None
    assert "sync period" in s.notes_for("lifetime")[0]
    assert d["g2"]["excitation"] == "pulsed"
    assert d["g2"]["period_ns"] == pytest.approx(50.0, rel=1e-3)
    assert abs(d["g2"]["g2_zero"] - g_true) < 3 * d["g2"]["g2_zero_err"]


def test_uncorrelated_light_has_no_g2_zero(rng):
    n = 400_000
    ts = np.sort(rng.integers(0, 2 * 10**11, n))
    md = RunMetadata("lamp", ChannelMap.from_dict({"A": 1, "B": 2}))
    batch = TagBatch(ts, rng.integers(1, 3, n), 0, 2 * 10**11, metadata=md)
    s = summarize([batch], md, "lamp")
    assert checked_json(s)["g2"]["g2_zero"] is None and s.g2 is not None
    assert "no pulsed peaks" in s.notes_for("g2")[0]


def test_empty_and_dark_runs_do_not_crash():
    md = RunMetadata("x", CHANNELS, mode="T2")
    empty = summarize([], md, "empty")
    d = checked_json(empty)
    assert d["duration_s"] == 0.0
    assert d["g2"]["g2_zero"] is d["lifetime"]["model"] is d["blinking"]["fractions"] is None
    assert empty.notes_for("run")
    dark = summarize([TagBatch.empty(0, PS_PER_S, metadata=md)], md, "dark")
    d = checked_json(dark)
    assert d["duration_s"] == 1.0 and d["channels"]["A"]["counts"] == 0
    assert "no photons" in dark.notes_for("g2")[0]
    assert dark.trace is not None and dark.trace.counts.sum() == 0
    assert dark.blinking is None and dark.notes_for("blinking")
    assert "g2(0): not available" in dark.text()
    assert d["levels"]["n_levels"] is None and "no photons" in d["levels"]["note"]
    for run in (empty, dark):
        fig = summary_figure(run)
        fig.savefig(io.BytesIO(), format="png")
        assert any("not available" in t.get_text() for ax in fig.axes for t in ax.texts)


def test_tags_on_unmapped_channels_are_noted():
    md = RunMetadata("x", ChannelMap.from_dict({"A": 1, "B": 2}))
    batch = TagBatch(np.array([10, 20, 30]), np.array([1, 7, 7]), 0, 100, metadata=md)
    s = summarize([batch], md, "odd")
    assert s.notes_for("channels") == ["2 tags on channel 7, which is not in the channel map"]
    assert set(checked_json(s)["channels"]) == {"A", "B"}


# ---------------------------------------------------------------------------------- figure
def _panel_spread(image: np.ndarray) -> list[float]:
    """Standard deviation of the grey levels in each quarter of the figure."""
    grey = image[..., :3].mean(axis=2)
    h, w = grey.shape[0] // 2, grey.shape[1] // 2
    return [
        float(grey[i * h : (i + 1) * h, j * w : (j + 1) * w].std()) for i in (0, 1) for j in (0, 1)
    ]


def test_summary_figure_is_saved_as_a_png(summary, tmp_path):
    path = tmp_path / "summary.png"
    save_figure(summary, path, dpi=100)
    assert path.stat().st_size > 60_000
    image = imread(path)
    assert image.shape[0] >= 800 and image.shape[1] >= 1200
    assert min(_panel_spread(image)) > 0.05
    fig = summary_figure(summary)
    titles = [ax.get_title() for ax in fig.axes]
    assert any(t.startswith("g2(0) = 0.1") for t in titles)
    assert any("FLID" in t for t in titles)
    labels = {ax.get_xlabel() for ax in fig.axes} | {ax.get_ylabel() for ax in fig.axes}
    assert {
        "delay τ (ns)",
        "delay after the laser pulse (ns)",
        "time (s)",
        "counts per 10 ms bin",
    } <= labels


def test_figure_with_missing_parts_says_why(cw_run, tmp_path):
    s, _ = cw_run
    fig = summary_figure(s)
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert not any("not available" in t for t in texts)  # CW panels replace decay and FLID
    titles = [ax.get_title() for ax in fig.axes]
    assert any(t.startswith("g2(τ), log-binned") for t in titles)
    assert any(t.startswith("count occurrence") for t in titles)
    path = tmp_path / "cw.png"
    save_figure(s, path)
    assert min(_panel_spread(imread(path))) > 0.02
