"""``tagstream run CONFIG``: a live run — source → ZeroMQ → analysis workers → run file."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tomllib
from contextlib import ExitStack
from importlib import resources
from pathlib import Path

from ..pipeline.instruments import open_instruments
from ..pipeline.instruments import readings as instrument_readings
from ..pipeline.live_run import LivePipeline
from ..pipeline.offline import measured_irf
from ..pipeline.run_config import RunConfig, RunConfigError, load_run_config, parse_run_config
from ..sources.factory import open_source, simulator_presets
from ..tags import parse_time
from .live import run_live, view_address
from .options import add_view_options, check_duration
from .output import check_distinct, check_run_file_target


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``run`` command (a config or preset, duration, output) to the subcommand parsers
    ``sub``."""
    p = sub.add_parser(
        "run",
        help="a live run: source -> ZeroMQ -> analyses -> run file, with a live view",
        description="Stops after --duration, at the end of the source, or on Ctrl-C/SIGTERM "
        "(the file is completed either way). Example configs: configs/run-*.toml.",
    )
    p.add_argument(
        "config",
        metavar="CONFIG|PRESET",
        help="the run's TOML config, or a simulator preset's name (its configs/run-PRESET.toml)",
    )
    p.add_argument("--duration", metavar="D", help="stop after this much data time (e.g. 60s)")
    p.add_argument("-o", "--output", metavar="OUT.h5", help="run file (default: [output] path)")
    p.add_argument("--force", action="store_true", help="overwrite OUT.h5")
    add_view_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """A live run from the config's source through the pipeline into the run file, with the
    instruments' readings in its settings; returns the exit status (1 when the source lost data
    and the run stopped there, else 0)."""
    check_duration(args.duration)
    view = view_address(args)
    config = _config(args.config)
    s = config.source
    if s.simulator is None and s.file is None and s.device is None:
        raise RunConfigError(
            f"{args.config}: [source] is missing (simulator = ..., file = ... or device = ...)"
        )
    output = config.output
    if args.output:
        output = dataclasses.replace(output, path=args.output)
    if args.force:
        output = dataclasses.replace(output, force=True)
    if output.path is None:
        raise RunConfigError(f"{args.config}: give the run file with -o or [output] path")
    where = "-o" if args.output else f"{args.config}: [output] path ="
    source_file = {} if config.source.file is None else {"[source] file": config.source.file}
    check_distinct(source_file, {where: output.path})
    check_run_file_target(output.path, output.force, option=where)
    duration = args.duration or config.source.duration
    with ExitStack() as stack:
        readings = instrument_readings(open_instruments(config.instruments, stack),
                                       config.instruments)  # fmt: skip
        source = stack.enter_context(open_source(config.source, duration))
        measured_irf(config.analysis, source.metadata)  # an IRF file that cannot serve: now
        if readings:
            settings = {**source.metadata.settings, "instruments": readings}
            source.metadata = dataclasses.replace(source.metadata, settings=settings)
        pipeline = LivePipeline.from_config(source, config, output)
        duration_ps = None if duration is None else parse_time(duration, "duration")
        out = run_live(pipeline, duration_ps, view)
    for note in source.notes():
        print(f"note: {note}")
    if source.lost:
        print(
            f"tagstream run: error: {source.lost}; the run stopped there, the data before it "
            f"is in {out}",
            file=sys.stderr,
        )
        return 1
    return 0


def _config(name: str) -> RunConfig:
    """A run config file, or a simulator preset's name."""
    path = Path(name)
    if path.suffix.lower() == ".toml" or path.exists():
        return load_run_config(path)
    if name not in simulator_presets():
        raise RunConfigError(
            f"{name}: no such config file, nor a preset ({', '.join(simulator_presets())})"
        )
    entry = resources.files("tagstream.configs") / f"run-{name}.toml"
    if entry.is_file():
        text = entry.read_text()
        return parse_run_config(tomllib.loads(text), Path("."), text)
    raw = {"source": {"simulator": name, "realtime": True}, "output": {"path": f"{name}-live.h5"}}
    return parse_run_config(raw, Path("."))
