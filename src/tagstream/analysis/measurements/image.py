"""Scan images (see :mod:`~tagstream.analysis.scan_imager`): the image of a confocal scan from
the scanner's markers, with the dots in it.

Runs when the run's metadata carries a scan-image header (``ImgHdr_*``: PicoQuant files, the
simulator's scans) or ``[analysis.image]`` is given: the settings of
:func:`~tagstream.analysis.scan_settings.scan_settings` (the grid and markers, over the
header's) and, for the dots, ``fwhm_px``, ``min_separation_px`` and ``threshold_sigma``.
Series ``image``: one row per completed line (its row, and per pixel its photons, summed
delays and phasor parts, and decay histogram), the tagger's scan state per snapshot.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self

import numpy as np

from ...errors import AnalysisError
from ...formats import scan_spec
from ...tags import ChannelMap, RunMetadata
from ..dots import THRESHOLD_SIGMA, DotSearch, find_dots
from ..measurement import Finishing, Measurement, Panel, ResumeState, register
from ..scan_image import ScanImage
from ..scan_imager import ScanImager
from ..scan_settings import OPTIONS, scan_settings
from ..series import RecordedSeries, SeriesSpec, Snapshot
from ..summary_settings import SummarySettings
from ..tables import Table, make_table, table_head, table_or_reason
from ..view_panel import ViewPanel
from .image_series import (
    image_from_series,
    image_snapshot,
    image_spec,
    restore_image,
    settings_from_attrs,  # fmt: skip
)
from .image_view import image_panel

#: What the other parts of a scan's summary are (a warning each).
SCAN_MIXES = (("g2", "its g2 mixes the light of every pixel"),
              ("lifetime", "its decay mixes every pixel's"),
              ("blinking", "its trace follows the beam over the dots, not a dot's blinking"),
              ("levels", "its levels are the dots passing under the beam"),
              ("flid", "its intensity follows the beam over the dots"))
DOT_COLUMNS = (("x", "px"), ("y", "px"), ("x_um", "um"), ("y_um", "um"),
               ("peak_rate_cps", "counts/s"), ("photons", ""), ("tau_ns", "ns"),
               ("tau_err_ns", "ns"), ("phase_tau_ns", "ns"))  # fmt: skip
DOT_OPTIONS = ("fwhm_px", "min_separation_px", "threshold_sigma")
KEYS = ("pixels", "frames", "lines", "pixel_time_s", "pixel_size_um", "bidirectional",
        "photons", "photons_placed", "period_ns", "dot_count", "dots", "background_counts",
        "fwhm_px")  # fmt: skip


def dots_table(dots: DotSearch, head: str) -> Table:
    """The dots as a CSV table, one row per dot (``head``: the first comment's start)."""
    rows = [d.to_dict() for d in dots.dots]
    columns = {f"{name} ({unit})" if unit else name:
               np.array([np.nan if r[name] is None else r[name] for r in rows], float)
               for name, unit in DOT_COLUMNS}  # fmt: skip
    comments = (f"{head}: dots of the scan image",
                "x, y: pixel column and row; x_um, y_um: pixel centres on the stage; NaN: not "
                "known")  # fmt: skip
    return make_table("dots", comments, columns, ("photons",))


@register
class ImageMeasurement(Measurement):
    """The scan image and its dots."""

    kind = "image"
    values: ClassVar[Mapping[str, Any]] = {"image": None, "image_dots": None}
    exports = ("dots",)

    @classmethod
    def check_settings(cls, table: Mapping[str, Any]) -> None:
        """Known keys; the dot settings positive numbers (the grid is checked with the run)."""
        unknown = sorted(set(table) - set(OPTIONS) - set(DOT_OPTIONS))
        if unknown:
            raise AnalysisError(f"[analysis.image]: unknown setting {unknown[0]!r}; known: "
                                f"{', '.join((*OPTIONS, *DOT_OPTIONS))}")  # fmt: skip
        for key in DOT_OPTIONS:
            value = table.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)
                                      or not value > 0):  # fmt: skip
                raise AnalysisError(f"[analysis.image] {key}: a positive number, got {value!r}")

    @classmethod
    def build(
        cls, settings: SummarySettings, metadata: RunMetadata, notes: list[str]
    ) -> Self | None:
        """The image when asked for, or when the run has a scan header."""
        own = {k: v for k, v in cls.own_settings(settings).items() if k in OPTIONS}
        header = metadata.settings.get(scan_spec.SETTINGS_KEY) or {}
        if not cls.configured(settings) and not header.get("ImgHdr_LineStart"):
            return None
        try:
            return cls(ScanImager(scan_settings(metadata, own), metadata))
        except AnalysisError as exc:
            if cls.configured(settings):
                raise
            notes.append(f"image: the run's scan header is not usable: {exc}")
            return None

    def finish(self, finishing: Finishing) -> dict[str, Any]:
        """The image, and the dots found in it."""
        image = finishing.attempt(self.kind, self.result)
        dots = None
        if image is not None and image.placed:
            own = self.own_settings(finishing.settings)
            dots = finishing.attempt(self.kind, lambda: find_dots(
                image, fwhm_px=own.get("fwhm_px"), min_separation_px=own.get("min_separation_px"),
                threshold_sigma=float(own.get("threshold_sigma", THRESHOLD_SIGMA))))  # fmt: skip
        return {"image": image, "image_dots": dots}

    @classmethod
    def warnings(cls, values: Mapping[str, Any], metadata: RunMetadata) -> list[str]:
        """The image's notes (lines left out, a header setting not followed), and that a scan's
        g2, decay and blinking mix the light of every pixel."""
        image = values.get("image")
        if image is None:
            return []
        out = [f"image: {n}" for n in image.notes]
        if image.lines:
            out += [f"{part}: the run is a scan: {what} (park on a dot for one dot's)"
                    for part, what in SCAN_MIXES]  # fmt: skip
        return out

    @classmethod
    def blocks(cls, summary: Any) -> dict[str, dict[str, Any]]:
        """The ``"image"`` block (see the README)."""
        block: dict[str, Any] = dict.fromkeys(KEYS)
        image: ScanImage | None = summary.image
        dots: DotSearch | None = summary.image_dots
        if image is not None:
            block |= {k: v for k, v in image.to_dict().items() if k in KEYS}
        if dots is not None:
            found = dots.to_dict()
            block |= {"dot_count": found["count"], "dots": found["dots"],
                      "background_counts": found["background_counts_per_pixel"],
                      "fwhm_px": found["fwhm_px"]}  # fmt: skip
        note = summary.note(cls.kind)
        if image is None and note is None:
            note = "no scan: the run has no scan-image header (give [analysis.image] with the grid)"
        return {cls.kind: block | {"note": note}}

    @classmethod
    def lines(cls, summary: Any) -> list[tuple[str, str]]:
        """``image: 64 x 64 px, 64 lines, 20 dots (PSF 3.1 px)``."""
        image, dots = summary.image, summary.image_dots
        if image is None:
            return []
        s = image.settings
        text = (f"image: {s.pixels_x} x {s.pixels_y} px, {image.lines} lines, "
                f"{image.placed} photons placed")  # fmt: skip
        if dots is not None:
            text += f", {len(dots.dots)} dots (PSF FWHM {dots.fwhm_px:.3g} px)"
        return [(cls.kind, text)]

    @classmethod
    def panels(cls, summary: Any) -> list[Panel]:
        """The intensity image with its dots (slot 6)."""
        if summary.image is None:
            return []

        def draw(fig: Any, cell: Any) -> None:
            from ..plots_image import plot_intensity

            plot_intensity(fig.add_subplot(cell), summary.image, summary.image_dots)

        return [Panel(6, draw)]

    @classmethod
    def tables(cls, summary: Any) -> dict[str, Any]:
        """The ``"dots"`` table (one row per dot), or why there is none (nothing for a run
        that is not a scan)."""
        if summary.image is None and not cls.configured(summary.settings):
            return {}
        dots = summary.image_dots
        table = None if dots is None else dots_table(dots, table_head(summary))
        return table_or_reason("dots", table, summary, cls.kind)

    @classmethod
    def live_status(
        cls, specs: Mapping[str, SeriesSpec], latest: Mapping[str, Snapshot], settings: Any
    ) -> str | None:
        """``"image 12 lines"``."""
        snapshot = latest.get(cls.kind)
        if snapshot is None:
            return None
        from ...kernels.scan import S_LINES

        return f"image {int(np.asarray(snapshot.values['state'])[S_LINES])} lines"

    @classmethod
    def view_panels(
        cls,
        series: Mapping[str, RecordedSeries],
        settings: Any,
        since: Mapping[str, RecordedSeries] | None = None,
    ) -> list[ViewPanel]:
        """The image so far (every line: a scan is not shown by parts)."""
        s = series.get(cls.kind)
        if s is None or not len(s):
            return []
        return [image_panel(cls.result_from(series), s, since is not None)]

    # ------------------------------------------------------------------ result series
    def series(self) -> tuple[SeriesSpec, ...]:
        """The ``"image"`` series."""
        return (image_spec(self.analyzer),)

    def snapshots(self, covered: tuple[int, int], live_ps: int, final: bool) -> list[Snapshot]:
        """The lines completed since the last snapshot."""
        return [image_snapshot(self.analyzer, covered, live_ps, final)]

    def pending(self, covered: tuple[int, int], live_ps: int) -> list[Snapshot]:
        """The lines not yet stored."""
        a = self.analyzer
        return [] if a.complete_lines() <= a.taken else self.snapshots(covered, live_ps, True)

    def restore(self, state: ResumeState) -> None:
        """Continue after the stored lines."""
        restore_image(self.analyzer, state.snapshots.get(self.kind))

    @classmethod
    def replica(cls, series: Mapping[str, RecordedSeries], channels: ChannelMap) -> ScanImager:
        """A fresh imager of the recorded grid, markers and decay bins (the photon delays
        from the metadata of the first batch it is given)."""
        return ScanImager(settings_from_attrs(series[cls.kind].attrs), None)

    @classmethod
    def same(cls, live: ScanImage, offline: ScanImage) -> bool:
        """Same photons in every pixel and decay bin."""
        cubes = (live.cube is None and offline.cube is None) or (
            live.cube is not None and offline.cube is not None
            and np.array_equal(live.cube, offline.cube))  # fmt: skip
        return bool(np.array_equal(live.counts, offline.counts) and cubes)

    @classmethod
    def result_from(cls, series: Mapping[str, RecordedSeries], k: int = -1) -> ScanImage:
        """The image of the lines stored up to snapshot ``k``."""
        return image_from_series(series[cls.kind], k)

