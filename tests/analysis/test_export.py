"""analyze --export: the summary's histograms as CSV files, units in the header, checked first."""

import numpy as np
import pytest

import tagstream.cli.analyze as analyze_cli
from tagstream.analysis.derived import adjacent_peak_height, deviance_residuals
from tagstream.analysis.export import export_names, export_tables, write_tables
from tagstream.cli import main
from tagstream.errors import OutputExistsError
from tagstream.pipeline.offline import analyze_run
from tagstream.sources.simulator import simulate


@pytest.fixture(scope="module")
def pulsed():
    """A 4 K dot (one fast exponential, pulsed, T3): every table is exported."""
    with simulate("dot-4k", duration="2 s", seed=3) as run:
        return analyze_run(run, "dot.h5")


@pytest.fixture(scope="module")
def cw_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("cw") / "cw.h5"
    assert main(["simulate", "cw-antibunching", "--duration", "0.5s", "-o", str(path)]) == 0
    return path


def _read(path):
    """Comment lines, column names and values of an exported CSV."""
    lines = path.read_text().splitlines()
    comments = [line for line in lines if line.startswith("#")]
    header = lines[len(comments)].split(",")
    data = np.loadtxt(path, delimiter=",", skiprows=len(comments) + 1, ndmin=2)
    return comments, header, data


def test_tables_round_trip_to_the_summary_arrays(pulsed, tmp_path):
    tables, missing = export_tables(pulsed)
    assert set(tables) == {"g2", "decay", "trace", "flid", "levels"} and missing == {}
    written = write_tables(tables, tmp_path / "out", "dot.h5", force=False)
    assert sorted(p.name for p in written) == [
        "dot_decay.csv", "dot_flid.csv", "dot_g2.csv", "dot_levels.csv", "dot_trace.csv",
    ]  # fmt: skip
    col = {}
    for kind in tables:
        comments, header, data = _read(tmp_path / "out" / f"dot_{kind}.csv")
        assert comments[0].startswith("# tagstream 0.1.0, file dot.h5")
        col[kind] = dict(zip(header, data.T, strict=True))

    g, z = pulsed.g2, pulsed.g2_zero
    assert np.array_equal(col["g2"]["counts"], g.counts)
    np.testing.assert_allclose(col["g2"]["tau_ns"], g.tau_ps / 1e3, rtol=1e-9)
    np.testing.assert_allclose(col["g2"]["g2"], g.g2, rtol=1e-9)
    np.testing.assert_allclose(col["g2"]["expected"], g.expected, rtol=1e-9)
    np.testing.assert_allclose(col["g2"]["g2_err"], g.g2_err, rtol=1e-9)
    height = adjacent_peak_height(g, z)
    np.testing.assert_allclose(col["g2"]["g2_adjacent"], g.counts / height, rtol=1e-9)

    d, fit = pulsed.decay, pulsed.decay_fit
    assert np.array_equal(col["decay"]["counts"], d.counts)
    np.testing.assert_allclose(col["decay"]["t_ns"], d.t_ps / 1e3, rtol=1e-9)
    fitted = np.isfinite(col["decay"]["fit"])
    np.testing.assert_allclose(col["decay"]["fit"][fitted], fit.expected, rtol=1e-9)
    residual = col["decay"]["residual"][fitted]
    np.testing.assert_allclose(residual, fit.residuals, rtol=1e-8, atol=1e-9)
    # the residuals are the deviance's: their squares sum to the fit's deviance
    assert np.sum(residual**2) == pytest.approx(fit.deviance, rel=1e-6)

    tr = pulsed.trace
    assert np.array_equal(col["trace"]["counts"], tr.counts)
    np.testing.assert_allclose(col["trace"]["t_s"], tr.t_s, rtol=1e-9)
    np.testing.assert_allclose(col["trace"]["rate_cps"], tr.rate_cps, rtol=1e-9)
    np.testing.assert_allclose(col["trace"]["live_s"], tr.exposure_ps * 1e-12, rtol=1e-9)

    hist, delay_edges, _ = pulsed.flid.histogram()
    assert np.array_equal(col["flid"]["time_bins"].reshape(hist.shape), hist)
    centres = 0.5 * (delay_edges[:-1] + delay_edges[1:]) / 1e3
    np.testing.assert_allclose(col["flid"]["mean_delay_ns"][: hist.shape[1]], centres)
    assert col["flid"]["time_bins"].sum() == np.count_nonzero(
        (pulsed.flid.exposure_ps == pulsed.flid.bin_ps) & (pulsed.flid.timed > 0)
    )

    lv = pulsed.levels
    assert np.array_equal(np.atleast_1d(col["levels"]["counts"]), lv.counts)
    assert np.array_equal(np.atleast_1d(col["levels"]["state"]), lv.state)
    np.testing.assert_allclose(np.atleast_1d(col["levels"]["start_s"]), lv.starts_ps / 1e12)
    np.testing.assert_allclose(np.atleast_1d(col["levels"]["rate_cps"]), lv.rate_cps)


def test_headers_carry_units_and_settings(pulsed, tmp_path):
    tables, _ = export_tables(pulsed)
    write_tables(tables, tmp_path, "dot.h5", force=False)
    headers = {}
    for kind in tables:
        comments, header, _ = _read(tmp_path / f"dot_{kind}.csv")
        headers[kind] = (" ".join(comments), header)
    text, header = headers["g2"]
    assert header[:2] == ["tau_ns", "counts"] and "g2" in header
    assert "g2 pair A-B" in text and f"bin {pulsed.g2.bin_ps / 1e3:g} ns" in text
    assert "g2(0) = " in text and "pulsed" in text
    text, header = headers["decay"]
    assert header == ["t_ns", "counts", "fit", "residual"]
    assert "Poisson deviance residual" in text and "mono-exponential" in text and " ns" in text
    text, header = headers["trace"]
    assert header[:4] == ["t_s", "counts", "live_s", "rate_cps"] and "bin 10 ms" in text
    text, header = headers["flid"]
    assert header == ["counts_per_bin", "mean_delay_ns", "time_bins"]


def test_pulsed_normalisation_puts_the_side_peaks_at_one(pulsed):
    """Divided by the adjacent peaks' height, the side peaks reach 1 (the literature's
    convention) whatever the bin width, while the window areas still give g2(0)."""
    g, z = pulsed.g2, pulsed.g2_zero
    shown = g.counts / adjacent_peak_height(g, z)
    period, offset = z.period_ps, z.detail.offset_ps

    def window(k):
        return np.abs(g.tau_ps - (offset + k * period)) < 0.5 * period

    # 2 s of the dot hold a few coincidences per 50 ps bin: the raw maxima scatter by their
    # counting noise about 1 (the dense, bin-width test is in test_plots.py)
    height = adjacent_peak_height(g, z)
    side = 0.5 * (shown[window(-1)].max() + shown[window(1)].max())
    assert abs(side - 1.0) < 3.0 / np.sqrt(2.0 * height)
    assert np.max(shown) < 2.0  # not the mean-per-bin scale, where narrow peaks reach 5 and more
    areas = {k: shown[window(k)].sum() for k in (-1, 0, 1)}
    ratio = areas[0] / (0.5 * (areas[-1] + areas[1]))
    assert ratio == pytest.approx(z.value, abs=3 * z.error)
    # the header says what the column is
    text = export_tables(pulsed)[0]["g2"].text()
    assert "g2_adjacent: counts / the height of the mean adjacent peak" in text


def test_cw_run_exports_what_exists_and_says_what_not(cw_file, tmp_path, capsys):
    out = tmp_path / "new" / "folder"
    capsys.readouterr()
    assert main(["analyze", str(cw_file), "--export", str(out)]) == 0
    text = capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == [
        "cw_g2.csv", "cw_g2_log.csv", "cw_levels.csv", "cw_trace.csv",
    ]  # fmt: skip
    assert f"wrote {out / 'cw_g2.csv'}" in text
    assert "not exported: decay (" in text and "not exported: flid (" in text
    _, header, data = _read(out / "cw_g2_log.csv")
    assert header[:3] == ["tau_s", "cell_s", "counts"]
    assert data.shape[0] > 100 and data[:, 0].max() >= 0.1  # lags up to at least 0.1 s


def test_existing_files_are_refused_before_the_analysis(cw_file, tmp_path, capsys, monkeypatch):
    kept = tmp_path / export_names(cw_file)["decay"]
    kept.write_text("mine\n")

    def must_not_run(*args, **kwargs):
        raise AssertionError("the analysis ran before the --export check")

    monkeypatch.setattr(analyze_cli, "analyze_run", must_not_run)
    capsys.readouterr()
    assert main(["analyze", str(cw_file), "--export", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert str(kept) in err and "--force" in err
    assert kept.read_text() == "mine\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [kept.name]
    # a file where the folder should be
    assert main(["analyze", str(cw_file), "--export", str(kept)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "folder" in err


def test_force_overwrites(cw_file, tmp_path, capsys):
    kept = tmp_path / "cw_g2.csv"
    kept.write_text("old\n")
    with pytest.raises(OutputExistsError):
        write_tables({"g2": None}, tmp_path, str(cw_file), force=False)
    assert main(["analyze", str(cw_file), "--export", str(tmp_path), "--force"]) == 0
    assert kept.read_text().startswith("# tagstream")


def test_deviance_residuals_against_the_definition():
    n = np.array([0, 1, 5, 20, 3])
    m = np.array([0.5, 2.0, 5.0, 12.0, 0.0])
    expect = [
        -np.sqrt(2 * 0.5),
        -np.sqrt(2 * (np.log(1 / 2.0) + 1.0)),
        0.0,
        np.sqrt(2 * (20 * np.log(20 / 12.0) - 8.0)),
        np.nan,
    ]
    np.testing.assert_allclose(deviance_residuals(n, m), expect)
