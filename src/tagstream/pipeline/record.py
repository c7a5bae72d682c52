"""Recording a run: its batches to a run file, with the live analyzers' result series."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from ..analysis.summary_settings import SummarySettings
from ..sources.run import Run
from ..store.background import BackgroundWriter
from ..store.packing import DEFAULT_COMPRESSION
from ..store.run_writer import RunWriter
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
        Asked after each batch; once true, the recording ends there and the file is completed
        as a run of the time covered so far (as a live run that is stopped).

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
    duration_ps = run.duration_ps
    with BackgroundWriter(writer) as background:
        t_begin = None
        for batch in run.batches():
            t_begin = batch.t_begin if t_begin is None else t_begin
            background.append(batch)
            if live is not None:
                for snapshot in live.process(batch):
                    background.add_snapshot(snapshot)
            if progress is not None:
                progress(batch.t_end)
            if stop is not None and stop():
                duration_ps = batch.t_end - t_begin
                break
        if live is not None:
            for snapshot in live.final():
                background.add_snapshot(snapshot)
        return background.finish(duration_ps=duration_ps)
