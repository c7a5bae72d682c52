"""Result series: every snapshot in a run file equals the offline analysis of the data it
covers, and files with results stay valid Photon-HDF5."""

from __future__ import annotations

import warnings
from dataclasses import replace

import h5py
import numpy as np
import pytest
from phconvert import hdf5 as phc_hdf5

import tagstream as ts
from tagstream.analysis.measurement import kind
from tagstream.cli import main
from tagstream.errors import AnalysisError
from tagstream.pipeline import read_results, record_run
from tagstream.pipeline.live_analysis import LiveAnalysis
from tagstream.sources.simulator import resolve_config

from ..sources.test_hdf5_files import OPTIONAL_FIELDS


def _t2_with_sync():
    config = resolve_config("cspbi3-10nm")
    return replace(
        config,
        setup=replace(config.setup, mode="T2"),
        excitation=replace(config.excitation, sync_divider=4),
    )


@pytest.fixture(scope="module", params=["T3", "T2"])
def recorded(request, tmp_path_factory):
    """A simulated run recorded with snapshots every 0.4 s: (path, its tags)."""
    model = "cspbi3-10nm" if request.param == "T3" else _t2_with_sync()
    path = tmp_path_factory.mktemp("series") / f"{request.param}.h5"
    record_run(ts.simulate(model, duration="3 s", seed=4), path, results_every="0.4 s")
    with ts.open(path) as run:
        return path, run.read()


def test_snapshots_equal_the_offline_analysis_of_their_span(recorded):
    path, tags = recorded
    results = read_results(path)
    assert set(results.series) == {"g2", "lifetime", "trace", "blinking", "flid", "levels"}
    ends = results.series["g2"].covered_ps[:, 1]
    # every 0.4 s of run time, and the end
    np.testing.assert_array_equal(ends, [*np.arange(1, 8) * 400 * 10**9, tags.t_end])
    for k, end in enumerate(ends):
        part = tags.slice_time(0, int(end))
        g2 = results.g2(k)
        want = ts.g2(part, *g2.channels, window=int(g2.edges_ps[-1]), bin=g2.bin_ps)
        np.testing.assert_array_equal(g2.counts, want.counts)
        np.testing.assert_allclose(g2.expected, want.expected, rtol=1e-12)
        assert (g2.n_a, g2.n_b, g2.live_ps) == (want.n_a, want.n_b, want.live_ps)
        decay = results.lifetime(k)
        want_decay = ts.lifetime(part, decay.channel, bin=round(decay.bin_ps))
        np.testing.assert_array_equal(decay.edges_ps, want_decay.edges_ps)
        np.testing.assert_array_equal(decay.counts, want_decay.counts)
        trace = results.trace(k)
        want_trace = ts.trace(part, bin=trace.bin_ps, channels=list(trace.channels))
        done = trace.exposure_ps.size  # complete bins (all of them at the end)
        assert done == (want_trace.exposure_ps.size if k == len(ends) - 1 else end // trace.bin_ps)
        np.testing.assert_array_equal(
            trace.counts_by_channel, want_trace.counts_by_channel[:, :done]
        )
        np.testing.assert_array_equal(trace.exposure_ps, want_trace.exposure_ps[:done])
        levels_ends = results.series["levels"].covered_ps[:, 1]
        k_levels = int(np.flatnonzero(levels_ends == end)[-1])  # the end's last snapshot
        levels = kind("levels").result_from(results.series, k_levels)
        offline = kind("levels").replica(results.series, tags.metadata.channels)
        offline.process(part)
        assert kind("levels").same(levels, offline.result()), k
        flid = kind("flid").result_from(results.series, k)
        replica = kind("flid").replica(results.series, tags.metadata.channels)
        replica.process(part)
        want_flid = replica.result()
        assert flid.counts.size == done and flid.delay_unit_ps == want_flid.delay_unit_ps
        for name in ("counts", "timed", "delay_sum", "exposure_ps"):
            np.testing.assert_array_equal(getattr(flid, name), getattr(want_flid, name)[:done])
    blinking = results.blinking()
    last = ts.trace(tags, bin=results.trace().bin_ps, channels=list(results.trace().channels))
    states = last.states()
    np.testing.assert_allclose(
        blinking.fields["fractions"][-1], [states.fractions[s] for s in ("on", "grey", "off")]
    )
    assert blinking.covered_ps[-1, 1] == tags.t_end


def test_the_last_snapshot_gives_the_runs_g2_zero(recorded):
    path, _ = recorded
    zero = read_results(path).g2().g2_zero()
    assert zero.value == pytest.approx(ts.summary(path)["g2"]["g2_zero"], rel=1e-9)


def test_files_with_results_are_valid_photon_hdf5(recorded):
    path, _ = recorded
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        h5 = phc_hdf5.load_photon_hdf5(str(path), require_rootformat=True)
        h5.close()
    missing = {str(w.message).split('"')[1] for w in caught}
    assert missing <= set(OPTIONAL_FIELDS), [str(w.message) for w in caught]


def test_series_without_a_sync_leave_out_the_lifetime():
    cw = ts.simulate("cw-antibunching", duration="1 s", seed=1)
    live = LiveAnalysis(cw.metadata, every="0.5 s")
    assert [s.name for s in live.specs] == ["g2", "trace", "blinking", "levels"]
    assert any(note.startswith("lifetime:") for note in live.notes)


@pytest.mark.parametrize("share", [0.0, 1.0])
def test_blinking_fits_take_their_share_and_the_last_snapshot_has_one(share):
    """With all the time for blinking fits, every snapshot whose trace can be fitted carries
    one; with none, only the first attempt (if it succeeds) and the last snapshot do. Each equals
    the offline fit of the trace it covers."""
    run = ts.simulate("cspbi3-10nm", duration="3 s", seed=2)
    tags = run.read()
    live = LiveAnalysis(run.metadata, every="0.25 s", fit_share=share)
    snapshots = []
    for piece in tags.split_at(np.arange(1, 30) * 10**11):
        snapshots += live.process(piece)
    snapshots += live.final()
    fits = {}
    bin_ps = live.measurements["trace"].analyzer.bin_ps
    for end in [s.covered_ps[1] for s in snapshots if s.series == "trace"]:
        trace = ts.trace(tags.slice_time(0, end), bin=bin_ps, channels=["A", "B"])
        try:
            fits[end] = trace.states()
        except AnalysisError:
            pass
    assert len(fits) > 3 and tags.t_end in fits
    blinking = {s.covered_ps[1]: s for s in snapshots if s.series == "blinking"}
    want = sorted(fits) if share else sorted({*sorted(fits)[:1], tags.t_end})
    if share == 0 and min(fits) > 250 * 10**9:  # the first attempt found one level
        want = [tags.t_end]
    assert sorted(blinking) == want
    for end, snap in blinking.items():
        fractions = [fits[end].fractions[s] for s in ("on", "grey", "off")]
        np.testing.assert_allclose(snap.values["fractions"], fractions)


def test_results_can_be_left_out_and_their_interval_is_checked(tmp_path, capsys):
    out = tmp_path / "tags_only.h5"
    code = main(["simulate", "cspbi3-10nm", "--duration", "1 s", "-o", str(out)])
    assert code == 0
    plain = tmp_path / "plain.h5"
    assert main(["simulate", "cspbi3-10nm", "--duration", "1s", "-o", str(plain),
                 "--results-every", "off", "--compression", "lzf"]) == 0  # fmt: skip
    with h5py.File(plain) as f:
        assert "results" not in f["/user/tagstream"]
        assert f["/photon_data/timestamps"].compression == "lzf"
    assert main(["simulate", "cspbi3-10nm", "-o", str(tmp_path / "x.h5"),
                 "--results-every", "-1 s"]) == 2  # fmt: skip
    assert "results interval must be positive" in capsys.readouterr().err
    assert not (tmp_path / "x.h5").exists()


def test_info_shows_the_status_and_the_series(recorded, capsys):
    path, _ = recorded
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "status    complete" in out
    results = [line for line in out.splitlines() if line.startswith("results   ")]
    assert len(results) == 1 and "g2 (8 snapshots)" in results[0]
    assert "trace (8 snapshots)" in results[0]


def test_the_trace_keeps_its_last_partial_bin_when_the_run_ends_on_a_snapshot(tmp_path):
    from tagstream.analysis.summary_settings import SummarySettings

    path = tmp_path / "run.h5"
    settings = SummarySettings(trace_bin="300 ms")
    record_run(
        ts.simulate("cspbi3-10nm", duration="2 s", seed=1),
        path,
        results_every="1 s",
        settings=settings,
    )
    with ts.open(path) as run:
        want = ts.trace(run.read(), bin="300 ms", channels=["A", "B"])
    got = read_results(path).trace()
    assert got.exposure_ps.size == want.exposure_ps.size == 7
    np.testing.assert_array_equal(got.counts_by_channel, want.counts_by_channel)
    np.testing.assert_array_equal(got.exposure_ps, want.exposure_ps)
