"""``tagstream run CONFIG``: a live run — source → ZeroMQ → analysis workers → run file."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from contextlib import ExitStack

from ..drivers.registry import open_device
from ..pipeline.live_run import LivePipeline
from ..pipeline.run_config import RunConfig, RunConfigError, load_run_config
from ..sources.device import DeviceRun
from ..sources.files import open_run
from ..sources.paced import PacedRun
from ..sources.run import Run
from ..sources.simulator import simulate
from ..tags import parse_time
from .live import run_live


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="a live run: source -> ZeroMQ -> analyses -> run file, with a live view",
        description="Stops after --duration, at the end of the source, or on Ctrl-C/SIGTERM "
        "(the file is completed either way). Example configs: configs/run-*.toml.",
    )
    p.add_argument("config", metavar="CONFIG", help="the run's TOML config")
    p.add_argument("--duration", metavar="D", help="stop after this much data time (e.g. 60s)")
    p.add_argument("-o", "--output", metavar="OUT.h5", help="run file (default: [output] path)")
    p.add_argument("--force", action="store_true", help="overwrite OUT.h5")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    config = load_run_config(args.config)
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
    duration = args.duration or config.source.duration
    with ExitStack() as stack:
        readings = _instruments(config, stack)
        source = stack.enter_context(_source(config, duration))
        if readings:
            settings = {**source.metadata.settings, "instruments": readings}
            source.metadata = dataclasses.replace(source.metadata, settings=settings)
        pipeline = LivePipeline.from_config(source, config, output)
        out = run_live(pipeline, None if duration is None else parse_time(duration, "duration"))
    if isinstance(source, DeviceRun):
        for note in source.notes():
            print(f"note: {note}")
    if isinstance(source, DeviceRun) and source.lost:
        print(
            f"tagstream run: error: {source.lost}; the run stopped there, the data before it "
            f"is in {out}",
            file=sys.stderr,
        )
        return 1
    return 0


def _instruments(config: RunConfig, stack: ExitStack) -> dict[str, dict]:
    """Open and set the config's instruments (closed with ``stack``); their readings by
    label."""
    readings = {}
    for label, inst in config.instruments.items():
        opened = open_device(inst.device, inst.address, "instrument", **inst.options)
        device = stack.enter_context(opened)
        device.configure(**inst.settings)
        readings[label] = {"device": inst.device, "address": inst.address, **device.readings()}
    return readings


def _source(config: RunConfig, duration: str | None) -> Run:
    s = config.source
    if s.device is not None:
        device = open_device(s.device, s.address, "tagger", **s.options)
        try:
            return DeviceRun(
                device,
                s.settings,
                None if duration is None else parse_time(duration, "duration"),
                name=s.device,
            )
        except BaseException:
            device.close()
            raise
    if s.simulator is not None:
        return simulate(s.simulator, duration=duration, seed=s.seed, realtime=s.realtime)
    return PacedRun(open_run(s.file), s.speed)
