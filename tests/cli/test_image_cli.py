"""``tagstream image``: the scan of a simulated field as a figure, JSON and CSV; bad input is
a one-line error with exit code 2."""

from __future__ import annotations

import csv
import json

import pytest

from tagstream.cli import main


@pytest.fixture(scope="module")
def scan(tmp_path_factory):
    path = tmp_path_factory.mktemp("image") / "field.ptu"
    assert main(["simulate", "field-20-dots", "-o", str(path), "--ptu-type", "HydraHarp2T3"]) == 0
    return path


def test_image_writes_the_figure_json_and_dots(scan, tmp_path, capsys):
    png, js, table = tmp_path / "scan.png", tmp_path / "scan.json", tmp_path / "dots.csv"
    args = ["image", str(scan), "-o", str(png), "--find-dots", "--json", str(js),
            "--csv", str(table)]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "64 x 64 pixels, 64 lines" in out and "20 dots" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads(js.read_text())
    assert data["image"]["pixels"] == [64, 64] and data["image"]["pixel_time_s"] == 0.01
    assert data["dots"]["count"] == 20 and len(data["dots"]["dots"]) == 20
    first = data["dots"]["dots"][0]
    assert {"x", "y", "x_um", "y_um", "peak_rate_cps", "tau_ns", "tau_err_ns", "note"} <= set(first)
    assert first["x_um"] == pytest.approx((first["x"] + 0.5) * 10 / 64)  # pixel centres
    rows = list(csv.DictReader(line for line in table.read_text().splitlines()
                               if not line.startswith("#")))  # fmt: skip
    assert len(rows) == 20 and float(rows[0]["tau_ns (ns)"]) == pytest.approx(first["tau_ns"])
    # outputs are not overwritten without --force
    before = js.read_text()
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "exists" in err[0]
    assert js.read_text() == before
    assert main([*args, "--force"]) == 0


def test_json_to_standard_output_and_settings_over_the_header(scan, capsys):
    assert main(["image", str(scan), "--json", "-", "--set", "pixels_y=32"]) == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data["image"]["pixels"] == [64, 32] and data["dots"] is None
    assert "64 x 32 pixels" in captured.err


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--csv", "x.csv"], "--csv writes the dots: add --find-dots"),
        (["--set", "bogus=1"], "unknown setting 'bogus'"),
        (["--set", "nothing"], "KEY=VALUE"),
        (["--set", "line_start=nope"], "no channel named 'nope'"),
        (["--find-dots", "--fwhm", "0"], "--fwhm 0: give a positive number"),
        (["--find-dots", "--threshold", "-1"], "--threshold -1: give a positive number"),
    ],
)
def test_bad_options_are_one_line_errors(scan, tmp_path, capsys, extra, words):
    extra = [str(tmp_path / e) if e.endswith(".csv") else e for e in extra]
    assert main(["image", str(scan), *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0], err


def test_a_psf_wider_than_the_image_is_refused(scan, capsys):
    assert main(["image", str(scan), "--find-dots", "--fwhm", "500"]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(err) == 1 and "FWHM of 500 pixels does not fit the image" in err[0]


def test_a_run_without_scan_markers_is_named(tmp_path, capsys):
    dot = tmp_path / "dot.h5"
    assert main(["simulate", "dot-4k", "--duration", "0.2s", "-o", str(dot)]) == 0
    capsys.readouterr()
    assert main(["image", str(dot)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(dot) in err[0] and "pixels_x is not in the file's header" in err[0]
    assert main(["image", str(tmp_path / "missing.ptu")]) == 2
    assert "missing.ptu" in capsys.readouterr().err
