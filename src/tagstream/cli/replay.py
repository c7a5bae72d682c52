"""``tagstream replay FILE``: a recorded run through the live pipeline."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from ..pipeline.live_run import LivePipeline
from ..pipeline.offline import measured_irf
from ..pipeline.run_config import RunConfig, load_run_config
from ..sources.files import SOURCE_WARNINGS, open_run, with_source_warnings
from ..sources.paced import PacedRun, parse_speed
from .live import run_live, view_address
from .options import add_view_options
from .output import check_distinct, check_run_file_target


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``replay`` command (a recorded run, config, speed, output) to the subcommand parsers
    ``sub``."""
    p = sub.add_parser(
        "replay",
        help="replay a recorded run (PTU, Photon-HDF5, ours) through the live pipeline",
        description="OUT.h5 holds the tags and the result series like a live run.",
    )
    p.add_argument("file", metavar="FILE", help="the recorded run")
    p.add_argument("--config", metavar="CONFIG", help="analyses, output and pipeline settings")
    p.add_argument(
        "--speed", default="max", help="1 for the recorded pace, 10 for ten times it, max (default)"
    )
    p.add_argument("-o", "--output", metavar="OUT.h5", help="default: FILE's name + -replay.h5")
    p.add_argument("--force", action="store_true", help="overwrite OUT.h5")
    add_view_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Replay the recorded run ``args.file`` through the live pipeline at the asked speed into a run
    file; returns the exit status (0)."""
    config = load_run_config(args.config) if args.config else RunConfig()
    speed = parse_speed(args.speed)
    view = view_address(args)
    file = Path(args.file)
    out = args.output or config.output.path or file.with_name(f"{file.stem}-replay.h5")
    output = dataclasses.replace(config.output, path=Path(out), force=args.force)
    check_distinct({"FILE": file}, {"-o": out})
    check_run_file_target(out, args.force)
    with PacedRun(with_source_warnings(open_run(file)), speed) as source:
        for text in source.metadata.settings.get(SOURCE_WARNINGS, ()):
            print(f"tagstream replay: warning: {file}: {text}", file=sys.stderr)
        measured_irf(config.analysis, source.metadata)  # an IRF file that cannot serve: now
        pipeline = LivePipeline.from_config(source, config, output)
        run_live(pipeline, None, view)
    return 0
