"""The dot finder on drawn images (Poisson counts of Gaussian dots on a flat background): no
false dot on pure background at any level, the PSF measured however wide and next to a
neighbour, dots on a bright one's flank, a scan that ends early, positions on the stage."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tagstream.analysis.dots import find_dots
from tagstream.analysis.scan_lines import LineSums
from tagstream.analysis.scan_settings import ScanSettings

PIXEL_S = 0.01


def _image(counts: np.ndarray, scanned_rows: int | None = None, size=None, origin=(0.0, 0.0)):
    ny, nx = counts.shape
    settings = ScanSettings(pixels_x=nx, pixels_y=ny, line_start=(65,), line_stop=(66,),
                            frame=(), counted=(1,), pixel_size_um=size, origin_um=origin)
    sums = LineSums(ny, nx, 0)
    rows = ny if scanned_rows is None else scanned_rows
    sums.counts[:] = counts
    sums.counts[rows:] = 0
    sums.time_ps[:rows] = round(nx * PIXEL_S * 1e12)
    return sums.as_image(edges_ps=None, period_ps=None, frames=1, lines=rows,
                         line_time_ps=int(sums.time_ps.sum()), photons=int(counts.sum()),
                         settings=settings, mode="T2", notes=())  # fmt: skip


def _draw(rng, n, dots, background, fwhm):
    sigma = fwhm / (2 * math.sqrt(2 * math.log(2)))
    yy, xx = np.mgrid[0:n, 0:n]
    lam = np.full((n, n), float(background))
    for x, y, peak in dots:
        lam += peak * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma**2))
    return rng.poisson(lam)


@pytest.mark.parametrize("background", [0.05, 0.3, 1.0, 5.0, 30.0, 300.0])
def test_pure_background_gives_no_dot(background):
    rng = np.random.default_rng(int(background * 100))
    for _ in range(8):
        counts = _draw(rng, 64, [], background, 3.0)
        assert find_dots(_image(counts), fwhm_px=3.0, lifetimes=False).dots == ()
        assert find_dots(_image(counts), lifetimes=False).dots == ()


@pytest.mark.parametrize("fwhm", [1.5, 3.0, 6.0, 12.0])
def test_the_psf_is_measured_however_wide_and_beside_a_neighbour(fwhm):
    rng = np.random.default_rng(int(fwhm * 10))
    n = 96
    dots = [(30.0, 30.0, 400.0), (30.0 + 1.6 * fwhm, 31.0, 150.0), (70.0, 70.0, 300.0),
            (70.0, 20.0, 250.0)]  # fmt: skip
    search = find_dots(_image(_draw(rng, n, dots, 5.0, fwhm)), lifetimes=False)
    assert search.fwhm_px == pytest.approx(fwhm, rel=0.12)
    assert len(search.dots) == 4
    for dot in search.dots:
        truth = min(dots, key=lambda d: math.hypot(d[0] - dot.x, d[1] - dot.y))
        assert math.hypot(truth[0] - dot.x, truth[1] - dot.y) < 0.5
        assert dot.peak_counts == pytest.approx(truth[2], rel=0.2)
        assert dot.peak_rate_cps == pytest.approx(dot.peak_counts / PIXEL_S)
    close = sum(bool(d.note and "neighbour" in d.note) for d in search.dots)
    near = sum(min(math.hypot(a[0] - b[0], a[1] - b[1]) for b in dots if b is not a) < 2 * fwhm
               for a in dots)  # fmt: skip
    assert close == near >= 2  # the pair 1.6 FWHM apart (and a third within 2 FWHM) say so


def test_a_faint_dot_on_a_bright_ones_flank_is_found():
    rng = np.random.default_rng(3)
    dots = [(30.0, 30.0, 2000.0), (34.5, 32.0, 60.0)]
    search = find_dots(_image(_draw(rng, 64, dots, 5.0, 3.0)), fwhm_px=3.0, lifetimes=False)
    assert len(search.dots) == 2


def test_a_scan_cut_short_keeps_its_rates_and_finds_no_dot_where_it_never_went():
    rng = np.random.default_rng(5)
    dots = [(20.0, 10.0, 500.0), (40.0, 20.0, 300.0), (30.0, 50.0, 400.0)]
    counts = _draw(rng, 64, dots, 2.0, 3.0)
    image = _image(counts, scanned_rows=29)
    search = find_dots(image, lifetimes=False)
    assert len(search.dots) == 2 and all(d.y < 29 for d in search.dots)
    assert any("never scanned" in n for n in search.notes)
    assert search.background_counts == pytest.approx(2.0, rel=0.1)
    brightest = search.dots[0]
    assert brightest.peak_rate_cps == pytest.approx(500 / PIXEL_S, rel=0.1)
    assert np.isnan(image.rate_cps[40]).all() and image.rate_cps[5, 5] == pytest.approx(
        counts[5, 5] / PIXEL_S)  # fmt: skip


def test_positions_on_the_stage_are_pixel_centres_from_the_origin():
    rng = np.random.default_rng(9)
    counts = _draw(rng, 32, [(10.0, 20.0, 800.0)], 1.0, 3.0)
    (dot,) = find_dots(_image(counts, size=0.2, origin=(5.0, -1.0)), lifetimes=False).dots
    assert dot.x_um == pytest.approx(5.0 + (dot.x + 0.5) * 0.2)
    assert dot.y_um == pytest.approx(-1.0 + (dot.y + 0.5) * 0.2)
    assert dot.x_um == pytest.approx(5.0 + 10.5 * 0.2, abs=0.03)
