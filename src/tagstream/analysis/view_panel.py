"""What a measurement shows in the live web view: panels as plain data.

A panel is a figure in Plotly's JSON schema (``{"data": [...], "layout": {...}}``: the page
draws any of them the same way, so a new kind needs nothing on the page) with the numbers that
belong to it (``g2(0) 0.26 ± 0.02``) and a note when a number may be wrong or is missing. Nothing
here imports a plotting library: panels are dictionaries and lists of floats.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .formatting import plain, value_with_error
from .series import RecordedSeries

#: Most points of one line sent to the page (longer lines are merged into wider bins).
MAX_POINTS = 500


@dataclass(frozen=True)
class Number:
    """One number of a panel, as shown and as computed.

    Attributes
    ----------
    key
        Its name in the page (``"g2_zero"``): ``data-key`` of its element.
    label
        How it is labelled (``"g2(0)"``).
    value, error
        The number and its one-sigma uncertainty (``None`` when not known).
    unit
        Its unit as shown (``"ns"``, ``""``).
    text
        How it reads (``"0.261 ± 0.020"``); by default made from the value and error.
    end_ps
        End of the data it was computed from, ps, when that is not the panel's (a fit made
        less often than the panel's snapshots).
    """

    key: str
    label: str
    value: float | None
    error: float | None = None
    unit: str = ""
    text: str | None = None
    end_ps: int | None = None

    def shown(self) -> str:
        """The number as the page shows it (``—`` when there is none)."""
        if self.text is not None:
            return self.text
        if self.value is None or not math.isfinite(self.value):
            return "—"
        if self.error is None:
            return f"{self.value:.4g}"
        return value_with_error(self.value, self.error)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return plain(
            {"key": self.key, "label": self.label, "value": self.value, "error": self.error,
             "unit": self.unit, "text": self.shown(), "end_ps": self.end_ps}
        )  # fmt: skip


@dataclass(frozen=True)
class ViewPanel:
    """One panel of the live web view.

    Attributes
    ----------
    key
        Unique among the panels (``"g2"``): the page updates the panel of the same key.
    title
        Its heading.
    slot
        Orders the panels on the page (lower first; the status panel is first).
    figure
        A Plotly figure: ``{"data": [traces], "layout": {...}}`` (``None``: numbers only).
    numbers
        Its numbers, shown large above the figure.
    notes
        Why a number is missing or may be wrong (shown under the numbers).
    covered_ps
        ``(t_begin, t_end)`` of the data it shows, ps.
    published_s
        When the snapshot it shows was taken (Unix time, s): the page's latency is measured from
        it.
    """

    key: str
    title: str
    slot: int
    figure: dict[str, Any] | None = None
    numbers: tuple[Number, ...] = ()
    notes: tuple[str, ...] = ()
    covered_ps: tuple[int, int] | None = None
    published_s: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (numbers as :meth:`Number.to_dict`, arrays as lists, NaN as ``null``)."""
        return {
            "key": self.key,
            "title": self.title,
            "slot": self.slot,
            "figure": plain(self.figure),
            "numbers": [n.to_dict() for n in self.numbers],
            "notes": list(self.notes),
            "covered_ps": None if self.covered_ps is None else [int(v) for v in self.covered_ps],
            "published_s": self.published_s,
        }


@dataclass
class Figure:
    """A Plotly figure being put together (see :meth:`to_dict`)."""

    x_title: str
    y_title: str
    x_log: bool = False
    y_log: bool = False
    data: list[dict[str, Any]] = field(default_factory=list)
    shapes: list[dict[str, Any]] = field(default_factory=list)
    #: Title of the x axis of a histogram at the right sharing the y axis (``None``: no such).
    side_title: str | None = None

    def line(self, x: np.ndarray, y: np.ndarray, name: str, *, steps: bool = False,
             dash: str | None = None, color: str | None = None) -> Figure:  # fmt: skip
        """Add a line (``steps``: a histogram drawn as steps)."""
        line: dict[str, Any] = {"width": 1.2}
        if steps:
            line["shape"] = "hvh"
        if dash:
            line["dash"] = dash
        if color:
            line["color"] = color
        self.data.append(
            {"type": "scatter", "mode": "lines", "name": name, "x": _floats(x), "y": _floats(y),
             "line": line}
        )  # fmt: skip
        return self

    def side_histogram(self, y: np.ndarray, occurrences: np.ndarray, name: str,
                       x_title: str) -> Figure:  # fmt: skip
        """Add a histogram of the y values at the right of the plot, on the same y axis
        (``occurrences`` at each class centre ``y``, drawn as filled steps)."""
        self.side_title = x_title
        self.data.append(
            {"type": "scatter", "mode": "lines", "name": name, "x": _floats(occurrences),
             "y": _floats(y), "xaxis": "x2", "fill": "tozerox", "showlegend": False,
             "line": {"width": 1, "shape": "vhv"}}
        )  # fmt: skip
        return self

    def heatmap(self, x: np.ndarray, y: np.ndarray, z: np.ndarray, name: str) -> Figure:
        """Add a map ``z`` (rows along ``y``, columns along ``x``)."""
        self.data.append(
            {"type": "heatmap", "name": name, "x": _floats(x), "y": _floats(y),
             "z": [_floats(row) for row in z], "colorscale": "Viridis", "showscale": True,
             "colorbar": {"title": {"text": name}, "thickness": 12}}
        )  # fmt: skip
        return self

    def band(self, x0: float, x1: float, color: str = "rgba(214,39,40,0.12)") -> Figure:
        """Shade the span ``[x0, x1]`` of the x axis (a peak window)."""
        self.shapes.append(
            {"type": "rect", "xref": "x", "yref": "paper", "x0": float(x0), "x1": float(x1),
             "y0": 0, "y1": 1, "fillcolor": color, "line": {"width": 0}, "layer": "below"}
        )  # fmt: skip
        return self

    def level(self, y: float, color: str = "rgba(214,39,40,0.8)") -> Figure:
        """A dashed line at ``y`` across the whole figure (a threshold; it crosses a side
        histogram too)."""
        self.shapes.append(
            {"type": "line", "xref": "paper", "yref": "y", "x0": 0, "x1": 1, "y0": y, "y1": y,
             "line": {"color": color, "width": 1, "dash": "dash"}}
        )  # fmt: skip
        return self

    def to_dict(self) -> dict[str, Any]:
        """The figure in Plotly's JSON schema."""
        axis = {"zeroline": False}  # fixed margins: one layout pass per update
        log = {"type": "log", "dtick": 1}  # a label per decade
        layout = {
            "xaxis": {**axis, "title": {"text": self.x_title},
                      **(log if self.x_log else {"type": "linear"})},
            "yaxis": {**axis, "title": {"text": self.y_title},
                      **(log if self.y_log else {"type": "linear"})},
            "shapes": self.shapes,
            "showlegend": sum(d.get("showlegend", True) for d in self.data) > 1,
            "legend": {"orientation": "h", "y": 1.12},
            "margin": {"l": 60, "r": 10, "t": 10, "b": 45},
            "uirevision": "keep",  # zoom and pan survive updates
            "hovermode": False,  # a hover layer costs a fifth of each redraw; numbers are shown
        }  # fmt: skip
        if self.side_title is not None:
            layout["xaxis"]["domain"] = [0.0, 0.76]
            layout["xaxis2"] = {**axis, "title": {"text": self.side_title}, "domain": [0.8, 1.0],
                                "rangemode": "tozero"}  # fmt: skip
        return {"data": self.data, "layout": layout}


def shown_span(series: RecordedSeries, after_ps: int | None = None) -> tuple[int, int]:
    """``(t_begin, t_end)`` of the data a panel shows, ps: its series' last snapshot, from
    ``after_ps`` on when the panel shows only what came since then."""
    t_begin = int(series.covered_ps[-1, 0]) if after_ps is None else int(after_ps)
    return t_begin, int(series.covered_ps[-1, 1])


def end_of(since: Mapping[str, RecordedSeries] | None, name: str) -> int | None:
    """End of series ``name`` as it was some time ago (the page's "last N s"), ps; ``None``
    without it."""
    earlier = since.get(name) if since else None
    return None if earlier is None or not len(earlier) else int(earlier.covered_ps[-1, 1])


def _floats(values: Any) -> list[float | None]:
    """A list of floats, NaN and infinities as ``None`` (JSON has no NaN)."""
    arr = np.asarray(values, dtype=np.float64).ravel()
    out: list[float | None] = arr.tolist()
    if not np.all(np.isfinite(arr)):
        out = [v if math.isfinite(v) else None for v in out]
    return out
