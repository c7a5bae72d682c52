"""Recording a run: its batches to a run file, with the live analyzers' result series."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from ..analysis.summary_settings import SummarySettings
from ..sources.paced import RealTimeLag
from ..sources.run import Run
from ..store.background import BackgroundWriter
from ..store.packing import DEFAULT_COMPRESSION
from ..store.run_writer import RunWriter
from ..tags import format_time
from .live_analysis import DEFAULT_EVERY, LiveAnalysis, check_results_every


def record_run(
    run: Run,
    path: str | os.PathLike,
    *,
    force: bool = False,
    progress: Callable[[int], object] | None = None,
    config_text: str | None = None,
    compression: str = DEFAULT_COMPRESSION,
    results_every: str | int | None = DEFAULT_EVERY,
    settings: SummarySettings | None = None,
    stop: Callable[[], object] | None = None,
    lag: RealTimeLag | None = None,
) -> Path:
    """Write every batch of ``run`` to a run file as it comes, with result-series snapshots.

    The file is written by a thread of its own and committed at least every second; an
    interrupted recording (Ctrl-C, an error) leaves a readable file holding what was committed,
    its status saying why it stopped.

    Parameters
    ----------
    run
        The source: tags, metadata, ground truth (a simulated run's).
    path
        The run file to create.
    force
        Replace an existing file.
    progress
        Called with the end of each batch's span (ps).
    config_text
        The run's configuration, stored verbatim.
    compression
        Compression of the tag arrays (see :mod:`tagstream.store.packing`).
    results_every
        Run time between result snapshots (``"1 s"``); ``None`` records tags only.
    settings
        Analysis settings of the live analyzers.
    stop
        Asked after each batch; once it returns a reason (a true value: ``"stopped by
        Ctrl-C"``), the recording ends there: the file keeps the time covered so far, with its
        result snapshots, and its status says ``stopped: <reason> after <time> of <time>``.
    lag
        Told when each batch arrived and how long it was waited for: how far a paced source
        (a real-time simulation) falls behind the wall clock.

    Returns
    -------
    Path
        The file written.
    """
    if results_every is not None:
        check_results_every(results_every)
    live = None if results_every is None else LiveAnalysis(run.metadata, settings, results_every)
    writer = RunWriter(
        path,
        run.metadata,
        force=force,
        config_text=config_text,
        compression=compression,
        truth=run.truth,
        series=live.specs if live is not None else (),
    )
    stopped = None
    with BackgroundWriter(writer) as background:
        t_begin = None
        batches = iter(run.batches())
        while True:
            asked = time.monotonic()
            batch = next(batches, None)
            if batch is None:
                break
            if lag is not None:
                arrived = time.monotonic()
                lag.observe(batch.t_end, arrived, arrived - asked)
            t_begin = batch.t_begin if t_begin is None else t_begin
            background.append(batch)
            if live is not None:
                for snapshot in live.process(batch):
                    background.add_snapshot(snapshot)
            if progress is not None:
                progress(batch.t_end)
            reason = stop() if stop is not None else None
            if reason:
                kept = format_time(batch.t_end - t_begin)
                asked = "" if run.duration_ps is None else f" of {format_time(run.duration_ps)}"
                text = reason if isinstance(reason, str) else "stopped"
                stopped = f"{text} after {kept}{asked}"
                break
        if live is not None:
            for snapshot in live.final():
                background.add_snapshot(snapshot)
        if stopped is not None:
            background.stop(stopped)
            return Path(path)
        return background.finish(duration_ps=run.duration_ps)
