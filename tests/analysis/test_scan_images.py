"""Scan images and dots on scans made apart from tagstream (``tests/world/scan.py``, written by
the independent PTU encoder with PicoQuant's marker and header conventions) and on the
simulator's field of dots."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

import tagstream as ts
from tagstream.analysis.scan_settings import scan_settings
from tagstream.errors import AnalysisError
from tagstream.store.ptu_writer import write_ptu
from tests.world.scan import ScanWorld, random_dots, write_scan_ptu

from .test_summary import check_schema

FORMATS = [("HydraHarp2T3", 8), ("PicoHarpT3", 16), ("GenericT3", 8), ("HydraHarpT3", 8)]


@pytest.mark.parametrize(("fmt", "dtime_ps"), FORMATS)
@pytest.mark.parametrize(("bidirectional", "combined"), [(False, True), (True, False),
                                                          (True, True)])  # fmt: skip
def test_images_of_independent_ptu_files_are_their_truth_exactly(
    tmp_path, fmt, dtime_ps, bidirectional, combined
):
    rng = np.random.default_rng(hash((fmt, bidirectional, combined)) % 2**32)
    world = ScanWorld(nx=20, ny=12, dwell_syncs=2000, flyback_syncs=20_000, frames=2,
                      bidirectional=bidirectional, combined_frame_marker=combined,
                      dtime_ps=dtime_ps, seed=int(rng.integers(1000)),
                      dots=random_dots(rng, 3, 20, 12, 4, (2e5, 1e6), (2e3, 8e3), margin=2))
    path = tmp_path / "scan.ptu"
    truth = write_scan_ptu(world, path, fmt, rng)
    image = ts.image(path)
    np.testing.assert_array_equal(image.counts, truth)
    assert image.frames == 2 and image.lines == 24 and not image.notes
    assert image.settings.bidirectional is bidirectional
    assert image.pixel_time_s == pytest.approx(world.pixel_s())
    assert image.period_ps == pytest.approx(world.period_ps)
    assert image.photons > image.placed > 0  # the flyback's background is left out


def _match(found, dots):
    """Each found dot's nearest true dot and distance (pixels)."""
    xy = np.array([(d[0], d[1]) for d in dots])
    out = []
    for dot in found:
        distance = np.hypot(xy[:, 0] - dot.x, xy[:, 1] - dot.y)
        out.append((int(np.argmin(distance)), float(distance.min())))
    return out


BACKGROUND_CPS = 4_000.0


def _field(tmp_path, seed: int, peaks: tuple[float, float]):
    """20 dots of the independent generator (peaks in backgrounds), their world and the dots
    found in its PTU file."""
    rng = np.random.default_rng(seed)
    bounds = (peaks[0] * BACKGROUND_CPS, peaks[1] * BACKGROUND_CPS)
    dots = random_dots(rng, 20, 48, 48, 5, bounds, (2e3, 12e3))
    world = ScanWorld(nx=48, ny=48, dots=dots, background_cps=BACKGROUND_CPS, seed=seed)
    write_scan_ptu(world, tmp_path / "field.ptu")
    return dots, world, ts.find_dots(ts.image(tmp_path / "field.ptu"))


@pytest.mark.parametrize("seed", [2, 3])
def test_every_dot_brighter_than_three_backgrounds_is_found_and_no_false_one(tmp_path, seed):
    dots, world, search = _field(tmp_path, seed, (0.5, 40))
    background = BACKGROUND_CPS
    matches = _match(search.dots, dots)
    assert all(distance <= 1.0 for _, distance in matches), matches  # no false dot
    assert len({k for k, _ in matches}) == len(matches)  # none found twice
    bright = {k for k, d in enumerate(dots) if d[2] >= 3 * background}
    assert bright <= {k for k, _ in matches}
    assert search.background_counts == pytest.approx(background * world.pixel_s(), rel=0.25)
    for dot, (k, _) in zip(search.dots, matches, strict=True):
        if dot.tau_ns is not None:  # stated errors hold the truth
            assert abs(dot.tau_ns - dots[k][3] / 1e3) < 4 * dot.tau_err_ns


@pytest.mark.parametrize("seed", [7, 8])
def test_each_dots_lifetime_is_within_five_percent(tmp_path, seed):
    dots, _, search = _field(tmp_path, seed, (50, 150))
    assert len(search.dots) == 20
    z = []
    for dot, (k, distance) in zip(search.dots, _match(search.dots, dots), strict=True):
        truth_ns = dots[k][3] / 1e3
        assert distance <= 1.0
        assert dot.tau_ns == pytest.approx(truth_ns, rel=0.05), (k, dot)
        assert dot.phase_tau_ns == pytest.approx(truth_ns, rel=0.05), (k, dot)
        z.append((dot.tau_ns - truth_ns) / dot.tau_err_ns)
    assert np.mean(np.abs(z) < 2) >= 0.8 and np.max(np.abs(z)) < 4


@pytest.fixture(scope="module")
def field():
    """The simulator's 20-dot scan and its image."""
    run = ts.simulate("field-20-dots", duration=None, seed=4)
    return run, ts.image(run)


def test_the_simulated_field_is_found_with_its_lifetimes(field):
    run, image = field
    xs, ys = run.dots_px()
    truth = list(zip(xs, ys, run.sample.mean_excitations, run.sample.lifetime_ps, strict=True))
    search = ts.find_dots(image)
    matches = _match(search.dots, truth)
    assert len(search.dots) == 20 and len({k for k, _ in matches}) == 20
    assert all(distance <= 1.0 for _, distance in matches)
    z = []
    for dot, (k, _) in zip(search.dots, matches, strict=True):
        truth_ns = run.sample.lifetime_ps[k] / 1e3
        assert dot.tau_ns == pytest.approx(truth_ns, rel=0.05), (k, dot)
        z.append((dot.tau_ns - truth_ns) / dot.tau_err_ns)
    assert np.max(np.abs(z)) < 4
    assert image.frames == 1 and image.lines == 64 and image.pixel_time_s == pytest.approx(0.01)
    assert image.settings.pixel_size_um == pytest.approx(10 / 64)


def test_parking_on_a_found_dot_measures_that_dot(field):
    run, image = field
    dot = ts.find_dots(image).dots[3]
    from tagstream.sources.factory import simulate, simulator_config

    base = simulator_config("field-20-dots")
    scan = dataclasses.replace(base.scan, park_at=(dot.x_um, dot.y_um))  # as --find-dots gives
    parked = simulate(base.with_values(scan=scan), duration="3 s", seed=1)
    tags = parked.read()
    k = int(np.argmin(np.hypot(*(np.array(run.dots_px()) - [[dot.x], [dot.y]]))))
    fit = ts.lifetime(tags, "A", bin="64 ps").fit("bi")  # the biexciton's 60 ps, the exciton's
    truth = run.sample.lifetime_ps[k]
    assert abs(fit.tau_ps[1] - truth) < 4 * fit.tau_err_ps[1]
    assert fit.tau_ps[0] == pytest.approx(60, abs=20)
    g2 = ts.g2(tags, "A", "B", window="200 ns", bin="500 ps").g2_zero()
    assert g2.value < 0.3  # a single dot


def test_a_simulated_scan_keeps_its_image_through_ptu_files(field, tmp_path):
    run, image = field
    for kind in ("HydraHarp2T3", "GenericT3"):
        path = write_ptu(run, tmp_path / f"{kind}.ptu", kind)
        again = ts.image(path)
        np.testing.assert_array_equal(again.counts, image.counts)
        assert again.settings == image.settings


def test_settings_from_the_header_and_given_ones():
    run = ts.simulate("field-20-dots", duration="0.1 s")
    s = scan_settings(run.metadata)
    assert (s.pixels_x, s.pixels_y, s.line_start, s.line_stop, s.frame) == (64, 64, (65,), (66,),
                                                                            (68,))  # fmt: skip
    s = scan_settings(run.metadata, {"line_stop": None, "pixels_y": 32, "frame": "frame"})
    assert s.pixel_time_ps == 10**10 and s.pixels_y == 32 and s.frame == (68,)
    header = dict(run.metadata.settings["image_header"], ImgHdr_SinCorrection=80)
    md = dataclasses.replace(run.metadata, settings={"image_header": header})
    assert "ImgHdr_SinCorrection (80 %) is not applied" in scan_settings(md).notes[0]
    for given, words in (({"pixels_x": 0}, "pixels_x must be a whole number"),
                         ({"bogus": 1}, "unknown setting 'bogus'"),
                         ({"line_start": "nope"}, "no channel named 'nope'"),
                         ({"channels": ["line_start"]}, "marker channel is also listed"),
                         ({"line_stop": None, "pixel_time": "0 s"}, "pixel_time must be"),
                         ({"bidirectional": "false"}, "bidirectional must be true or false"),
                         ({"decay_bin": "-5 ps"}, "decay_bin must be positive"),
                         ({"pixel_size_um": -1}, "pixel_size_um must be a positive number")):
        with pytest.raises((AnalysisError, ts.TagstreamError), match=words):
            scan_settings(run.metadata, given)
    bare = dataclasses.replace(run.metadata, settings={})
    with pytest.raises(AnalysisError, match="pixels_x is not in the file's header"):
        scan_settings(bare)


def test_the_summary_of_a_scan_has_its_image_block(field, tmp_path):
    run, image = field
    path = write_ptu(run, tmp_path / "scan.ptu", "GenericT3")
    d = ts.summary(path)
    check_schema(d)
    json.dumps(d, allow_nan=False)
    block = d["image"]
    assert block["pixels"] == [64, 64] and block["dot_count"] == 20 and block["note"] is None
    assert block["photons_placed"] == image.placed
    assert len(block["dots"]) == 20 and all(dot["tau_ns"] > 1 for dot in block["dots"])
    assert "the run is a scan" in d["g2"]["note"] and "the run is a scan" in d["lifetime"]["note"]
    dot = write_ptu(ts.simulate("dot-4k", duration="0.2 s"), tmp_path / "dot.ptu", "GenericT3")
    plain = ts.summary(dot)
    assert plain["image"]["pixels"] is None and "no scan" in plain["image"]["note"]
