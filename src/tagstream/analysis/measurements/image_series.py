"""The ``image`` series of a run file: one row per completed scan line, the scan state per
snapshot; and the image read back from it."""

from __future__ import annotations

import numpy as np

from ...kernels import scan as k
from ..scan_image import ScanImage
from ..scan_imager import ScanImager, scan_notes
from ..scan_lines import LineSums
from ..scan_settings import ScanSettings
from ..series import Column, RecordedSeries, SeriesSpec, Snapshot
from ._attrs import numbers, numbers_attr, period, period_attr

NAME = "image"


def image_spec(imager: ScanImager) -> SeriesSpec:
    """What the series holds for ``imager``'s grid and decay bins."""
    s = imager.settings
    nx = s.pixels_x
    rows = {
        "row": Column(np.int64, (), "Row of each completed line in its frame."),
        "time_ps": Column(np.int64, (), "Time the beam spent on the line, ps."),
        "counts": Column(np.int64, (nx,), "Photons per pixel of the line."),
        "delay_sum_ps": Column(np.float64, (nx,), "Summed photon delays after the pulse, ps."),
        "cos_sum": Column(np.float64, (nx,), "Sum of cos(2 pi delay / period)."),
        "sin_sum": Column(np.float64, (nx,), "Sum of sin(2 pi delay / period)."),
    }
    axes = {}
    if imager.edges_ps is not None:
        bins = imager.edges_ps.size - 1
        rows["decay"] = Column(np.int64, (nx, bins), "Decay histogram of each pixel.")
        axes["edges_ps"] = (imager.edges_ps, "Decay bin edges, ps after the pulse.")
    period_ps = None if imager.edges_ps is None else float(imager.edges_ps[-1])
    mode = "" if imager.metadata is None else imager.metadata.mode
    return SeriesSpec(
        name=NAME,
        description="Confocal scan image: one row per completed line.",
        fields={
            "state": Column(np.int64, (k.STATE_SIZE,), "Scan state: frames, next row, line "
                            "open, its start (ps) and row, lines left out, lines placed, lines "
                            "beyond a frame, time of the lines placed (ps)."),
            "photons": Column(np.int64, (), "Photons of the imaged channels so far."),
        },
        row_arrays=rows,
        axes=axes,
        attrs={
            "pixels_x": s.pixels_x, "pixels_y": s.pixels_y,
            "line_start": numbers_attr(s.line_start), "line_stop": numbers_attr(s.line_stop),
            "frame": numbers_attr(s.frame), "counted": numbers_attr(s.counted),
            "bidirectional": int(s.bidirectional), "pixel_time_ps": int(s.pixel_time_ps),
            "pixel_size_um": period_attr(s.pixel_size_um),
            "x0_um": float(s.origin_um[0]), "y0_um": float(s.origin_um[1]),
            "decay_bin_ps": period_attr(s.decay_bin_ps),
            "period_ps": period_attr(period_ps), "mode": mode,
        },
    )


def settings_from_attrs(attrs) -> ScanSettings:
    """The scan settings a series was made with."""
    return ScanSettings(
        pixels_x=int(attrs["pixels_x"]), pixels_y=int(attrs["pixels_y"]),
        line_start=numbers(attrs["line_start"]), line_stop=numbers(attrs["line_stop"]),
        frame=numbers(attrs["frame"]), counted=numbers(attrs["counted"]),
        bidirectional=bool(int(attrs["bidirectional"])),
        pixel_time_ps=int(attrs["pixel_time_ps"]),
        pixel_size_um=period(attrs["pixel_size_um"]), decay_bin_ps=period(attrs["decay_bin_ps"]),
        origin_um=(float(attrs.get("x0_um", 0.0)), float(attrs.get("y0_um", 0.0))),
    )  # fmt: skip


def image_snapshot(imager: ScanImager, covered: tuple[int, int], live_ps: int,
                   final: bool) -> Snapshot:  # fmt: skip
    """The lines completed since the last snapshot (every line placed, when ``final``)."""
    rows, lines = imager.take_lines(final)
    new = {"row": np.array(rows, np.int64), "time_ps": lines.time_ps, "counts": lines.counts,
           "delay_sum_ps": lines.delay_sum_ps, "cos_sum": lines.cos_sum,
           "sin_sum": lines.sin_sum}
    if imager.edges_ps is not None:
        new["decay"] = lines.decay
    values = {"state": imager.resume_state(final), "photons": imager.photons}
    return Snapshot(NAME, covered, live_ps, values, new_rows=new)


def restore_image(imager: ScanImager, last: Snapshot | None) -> None:
    """Continue from the last snapshot (its rows: every line stored)."""
    if last is None:
        return
    new = last.new_rows
    lines = _sums(new, imager.settings.pixels_x,
                  0 if imager.edges_ps is None else imager.edges_ps.size - 1)  # fmt: skip
    imager.restore(np.asarray(last.values["state"], np.int64), list(np.asarray(new["row"])),
                   lines, int(last.values["photons"]))  # fmt: skip


def _sums(rows, nx: int, bins: int) -> LineSums:
    n = len(rows["row"])
    out = LineSums(n, nx, bins)
    out.counts[:] = rows["counts"]
    out.delay_sum_ps[:] = rows["delay_sum_ps"]
    out.cos_sum[:] = rows["cos_sum"]
    out.sin_sum[:] = rows["sin_sum"]
    out.time_ps[:] = rows["time_ps"]
    if bins:
        out.decay[:] = rows["decay"]
    return out


def image_from_series(s: RecordedSeries, k_snapshot: int = -1) -> ScanImage:
    """The image of the lines stored up to snapshot ``k_snapshot``."""
    settings = settings_from_attrs(s.attrs)
    n = s.rows(k_snapshot)
    edges = s.axes.get("edges_ps")
    bins = 0 if edges is None else edges.size - 1
    lines = _sums({key: v[:n] for key, v in s.row_arrays.items()}, settings.pixels_x, bins)
    image = LineSums(settings.pixels_y, settings.pixels_x, bins)
    for i, row in enumerate(np.asarray(s.row_arrays["row"][:n])):
        if 0 <= row < settings.pixels_y:
            image.add_line(int(row), lines, i)
    state = np.asarray(s.fields["state"][k_snapshot], np.int64)
    return image.as_image(
        edges_ps=None if edges is None else np.asarray(edges, float),
        period_ps=period(s.attrs["period_ps"]),
        frames=int(state[k.S_FRAME]), lines=int(state[k.S_LINES]),
        line_time_ps=int(state[k.S_LINE_PS]), photons=int(s.fields["photons"][k_snapshot]),
        settings=settings, mode=str(s.attrs.get("mode", "")) or None,
        notes=tuple(scan_notes(state, settings, False)),
    )  # fmt: skip
