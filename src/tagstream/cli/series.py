"""``tagstream series CONFIG``: an excitation power series at the setup, one run per step."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..pipeline.live_run import LivePipeline
from ..pipeline.power_series import check_series_folder, run_series, step_names
from ..pipeline.series_config import load_series_config
from ..pipeline.series_index import INDEX
from .live import run_live, view_address
from .options import add_view_options, check_duration


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``series`` command to the subcommand parsers ``sub``."""
    p = sub.add_parser(
        "series",
        help="an excitation power series: one run per laser power or filter position",
        description="Steps the [series] instrument's setting through its values (the laser's "
        "power_percent or the filter wheel's position), with the shutter closed for a dark "
        "step first when [series] shutter names one; records one run per step with the power "
        "meter's readings into a folder with series.json. Then: tagstream analyze-series DIR. "
        "Example: configs/series-simulated.toml (no hardware needed).",
    )
    p.add_argument("config", metavar="CONFIG", help="run config with a [series] table")
    p.add_argument("-o", "--output", metavar="DIR", help="the series folder ([series] folder)")
    p.add_argument("--duration", metavar="D", help="data time of each step ([series] duration)")
    p.add_argument("--force", action="store_true", help="write into a folder that holds files")
    add_view_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Record the series; returns the exit status (0)."""
    check_duration(args.duration)
    view = view_address(args)
    config = load_series_config(args.config, args.duration)
    folder = Path(args.output or config.series.folder).expanduser()
    check_series_folder(folder, args.force)

    def one_step(pipeline: LivePipeline, duration_ps: int) -> Path:
        return run_live(pipeline, duration_ps, view)

    index = run_series(config, folder, one_step, force=args.force)
    print(f"series: {len(index['steps'])} of {len(step_names(config))} steps in {folder} "
          f"({INDEX}); next: tagstream analyze-series {folder}")  # fmt: skip
    return 0
