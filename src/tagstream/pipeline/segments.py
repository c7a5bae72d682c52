"""Analysis segments of a live run: the live analyses start afresh during the run (the web
view's "clear", or new g2 and trace binning) while the recording goes on untouched.

Segment 0 is the run's start with the config's settings; its series keep their names (``g2``,
``trace``, ...). Segment ``n`` begins at the first batch published after the change was asked
for, with new analyzers; its series are stored beside the others as ``g2@n``, ``trace@n``, ...,
each cumulative from the segment's start, their group attributes holding the segment's number,
start (ps), reason and settings (JSON). The ``events`` series records each change (its time,
segment and kind), so the result series say what they cover. The pipeline's own ``analysis``
series runs across segments.

The change reaches the workers in the tag stream itself, as a control record between two
batches (:meth:`~tagstream.transport.streams.BatchPublisher.send_control`): every worker
switches at the same place in the data. A worker that lost that record (it fell behind a source
that cannot wait) finds the change through the control socket when it sees the hole.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..analysis.series import Column, SeriesSpec, Snapshot
from ..analysis.summary_settings import SummarySettings, resolve_settings
from ..errors import TagstreamError
from ..tags import RunMetadata, format_time
from . import result_series as rs

EVENTS = "events"
#: What an event of the ``events`` series is, by its code (the index).
EVENT_KINDS = ("clear", "settings")
#: Series that run across segments (never renamed).
RUN_SERIES = frozenset({rs.ANALYSIS, EVENTS})
#: Settings the web view may change while a run goes on.
CHANGEABLE = ("g2_window", "g2_bin", "trace_bin")
#: Largest g2 histogram a change during a run may ask for, bins (each snapshot stores it).
MAX_LIVE_G2_BINS = 2**16
#: Shortest trace bin a change during a run may ask for, ps.
MIN_LIVE_TRACE_BIN_PS = 10**8


@dataclass(frozen=True)
class Segment:
    """A stretch of a live run analysed by the same analyzers.

    Attributes
    ----------
    number
        0 for the run's start, then 1, 2, ...
    t_begin_ps
        Where it begins on the run's clock, ps (``None`` for segment 0: the run's start).
    table
        Its ``[analysis]`` table (the config's, with the changes made since).
    reason
        ``"start"``, ``"clear"`` or ``"settings"``.
    """

    number: int = 0
    t_begin_ps: int | None = None
    table: dict[str, Any] = field(default_factory=dict)
    reason: str = "start"

    def stored(self, name: str) -> str:
        """The name series ``name`` is stored under in this segment (``g2@2``)."""
        return name if self.number == 0 or name in RUN_SERIES else f"{name}@{self.number}"

    def to_record(self) -> dict[str, Any]:
        """JSON-ready (for the tag stream and the control socket)."""
        return {"segment": self.number, "t_begin_ps": self.t_begin_ps, "settings": self.table,
                "reason": self.reason}  # fmt: skip

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Segment:
        """The segment a record holds (:meth:`to_record`).

        Raises
        ------
        TagstreamError
            A record that is not one.
        """
        try:
            t = record["t_begin_ps"]
            return cls(int(record["segment"]), None if t is None else int(t),
                       dict(record["settings"]), str(record["reason"]))  # fmt: skip
        except (KeyError, TypeError, ValueError) as exc:
            raise TagstreamError(f"a malformed analysis segment ({exc!r})") from None


def base_name(stored: str) -> str:
    """The series name without its segment (``g2@2`` → ``g2``)."""
    return stored.split("@", 1)[0]


def events_spec() -> SeriesSpec:
    """The ``events`` series: one snapshot per change of the live analyses."""
    return SeriesSpec(
        name=EVENTS,
        description="Changes of the live analyses during the run (the web view's clear and "
        "binning): the new segment's number and the kind of change; covered_ps holds its time.",
        fields={
            "segment": Column(np.int64, (), "The segment that begins (its series are <name>@n)."),
            "kind": Column(np.int64, (), "What changed: an index into the attribute kinds."),
        },
        attrs={"kinds": ",".join(EVENT_KINDS)},
    )


def event_snapshot(segment: Segment) -> Snapshot:
    """The ``events`` snapshot of the start of ``segment``."""
    t = int(segment.t_begin_ps or 0)
    values = {"segment": segment.number, "kind": EVENT_KINDS.index(segment.reason)}
    return Snapshot(EVENTS, (t, t), 0, values)


def segment_specs(specs: tuple[SeriesSpec, ...], segment: Segment) -> tuple[SeriesSpec, ...]:
    """The measurements' series ``specs`` as stored in ``segment`` (renamed, with its number,
    start, reason and settings as attributes)."""
    attrs = {
        "segment": segment.number,
        "segment_start_ps": int(segment.t_begin_ps or 0),
        "segment_reason": segment.reason,
        "segment_settings": json.dumps(segment.table),
    }
    return tuple(
        dataclasses.replace(s, name=segment.stored(s.name), attrs={**s.attrs, **attrs})
        for s in specs
        if s.name not in RUN_SERIES
    )


def check_live_binning(settings: SummarySettings, metadata: RunMetadata) -> None:
    """Refuse binning that would swamp a running analysis: a g2 histogram of more than
    :data:`MAX_LIVE_G2_BINS` bins, a trace bin under :data:`MIN_LIVE_TRACE_BIN_PS`.

    Raises
    ------
    TagstreamError
        Naming the setting and the limit.
    """
    resolved, _ = resolve_settings(settings, metadata)
    if resolved.g2_window and resolved.g2_bin:
        bins = 2 * int(resolved.g2_window) // int(resolved.g2_bin)
        if bins > MAX_LIVE_G2_BINS:
            raise TagstreamError(
                f"g2: a window of ±{format_time(resolved.g2_window)} in "
                f"{format_time(resolved.g2_bin)} bins makes {bins} bins; during a run at most "
                f"{MAX_LIVE_G2_BINS} (narrow the window or widen the bin)"
            )
    if resolved.trace_bin and int(resolved.trace_bin) < MIN_LIVE_TRACE_BIN_PS:
        raise TagstreamError(
            f"trace_bin: {format_time(resolved.trace_bin)}; during a run at least "
            f"{format_time(MIN_LIVE_TRACE_BIN_PS)}"
        )


class Segments:
    """The segments of a live run: the current one, and a change asked for (thread-safe).

    Parameters
    ----------
    table
        The config's ``[analysis]`` table.
    metadata
        The run's metadata (a change is checked against it before it is accepted).
    series
        Makes the measurements' series of settings (``live_series``), to check them.
    """

    def __init__(self, table: dict[str, Any], metadata: RunMetadata, series: Any):
        self.current = Segment(0, None, dict(table))
        self.all = [self.current]
        self._metadata, self._series = metadata, series
        self._asked: tuple[dict[str, Any], str] | None = None
        self._lock = threading.Lock()

    def ask(self, changes: dict[str, Any]) -> str:
        """Ask for a new segment from the next batch on: ``changes`` to the settings (only
        :data:`CHANGEABLE` ones; none for a clear); what will happen, in words.

        Raises
        ------
        TagstreamError
            Another setting, or settings the run cannot use (named).
        """
        unknown = sorted(set(changes) - set(CHANGEABLE))
        if unknown:
            raise TagstreamError(f"only {', '.join(CHANGEABLE)} can change during a run, "
                                 f"not {', '.join(unknown)}")  # fmt: skip
        with self._lock:
            base, reason = self._asked if self._asked else (self.current.table, "clear")
        table = {**base, **{k: v for k, v in changes.items() if v not in (None, "")}}
        settings = SummarySettings.from_dict(table)
        check_live_binning(settings, self._metadata)
        self._series(self._metadata, settings)  # raises for settings the run cannot use
        with self._lock:  # a clear after a change of settings still records the change
            self._asked = (table, "settings" if changes else reason)
        what = ", ".join(f"{k} = {v}" for k, v in changes.items()) if changes else "cleared"
        return f"new live analyses from the next batch ({what}); the recording goes on"

    def take(self, t_ps: int) -> tuple[Segment, SummarySettings] | None:
        """The segment beginning at ``t_ps`` when a change was asked for (it becomes current)."""
        with self._lock:
            asked, self._asked = self._asked, None
            if asked is None:
                return None
            table, reason = asked
            self.current = Segment(self.current.number + 1, int(t_ps), table, reason)
            self.all.append(self.current)
            return self.current, SummarySettings.from_dict(table)
