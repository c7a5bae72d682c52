"""Starting an analysis segment in a live run (see :mod:`.segments`): the new series in the run
file, the event, and the control record in the tag stream, all before the next batch."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ..analysis.measurement import build_measurements
from ..analysis.summary_settings import SummarySettings, resolve_settings
from .segments import Segment, event_snapshot, segment_specs

if TYPE_CHECKING:
    from .live_run import LivePipeline


def start_segment(p: LivePipeline, segment: Segment, settings: SummarySettings) -> None:
    """Begin ``segment`` (analysed with ``settings``) at its start, before the batch there is
    published: its series are created in the run file, the change is recorded as an event, and
    the workers are told in the stream, between the batches."""
    resolved, notes = resolve_settings(settings, p.metadata)
    built = build_measurements(resolved, p.metadata, notes, live=True)
    specs = segment_specs(tuple(spec for m in built for spec in m.series()), segment)
    background = p.results.background
    background.add_series(specs)
    background.add_snapshot(event_snapshot(segment))
    with p.lock:
        p.results.begin_segment(segment, specs)
    t_ps = int(segment.t_begin_ps or 0)
    sent_at = time.monotonic()
    sequence = p.sockets.publisher.send_control({"op": "restart", **segment.to_record()}, t_ps)
    with p.lock:
        p.meters.published([sequence], t_ps, sent_at)
        p.results.published = p.sockets.publisher.sequence
