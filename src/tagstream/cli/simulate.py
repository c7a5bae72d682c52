"""``tagstream simulate``: a simulated run written to a run file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import TagstreamError
from ..formats.pq_spec import FORMATS_BY_NAME
from ..pipeline.record import record_run
from ..sources.factory import simulate, simulator_config, simulator_presets
from ..sources.paced import RealTimeLag, real_time_pace
from ..store.packing import COMPRESSIONS, DEFAULT_COMPRESSION
from ..store.ptu_writer import write_ptu
from ..tags import format_time
from .options import check_duration
from .output import PTU_SUFFIX, check_run_file_target
from .progress import ProgressBar
from .signals import stop_on_signals


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``simulate`` command (a preset or config, duration, output, seed, pacing,
    compression, PTU record type, results interval) to the subcommand parsers ``sub``."""
    p = sub.add_parser(
        "simulate",
        help="simulate a single quantum dot on an HBT setup and write a run file",
        description="Presets: " + ", ".join(simulator_presets()),
    )
    p.add_argument("model", metavar="PRESET|CONFIG", help="a preset name or a TOML file")
    p.add_argument("--duration", default=None,
                   help="length of the run (default 10 s; a scan of a field: its frames)")
    p.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT.h5",
        help="run file to write (a name ending in .ptu writes a PicoQuant PTU file)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed, same tags)")
    p.add_argument("--realtime", action="store_true", help="pace the run to the wall clock")
    p.add_argument("--force", action="store_true", help="overwrite OUT.h5")
    p.add_argument(
        "--compression",
        choices=COMPRESSIONS,
        default=DEFAULT_COMPRESSION,
        help=f"compression of the tag arrays (default {DEFAULT_COMPRESSION})",
    )
    p.add_argument(
        "--ptu-type",
        choices=sorted(FORMATS_BY_NAME),
        metavar="TYPE",
        help="record type of a .ptu output (default GenericT3 or GenericT2, as the run's mode)",
    )
    p.add_argument(
        "--results-every",
        default="1 s",
        metavar="DURATION",
        help="run time between snapshots of the live results (default 1 s; 'off' for none)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Simulate the emitter and write a run file (or a PTU file) of the asked duration; returns the
    exit status (1 when a signal stopped it early, the file then holding the shorter run; else
    0)."""
    if args.duration is not None:
        check_duration(args.duration)
    check_run_file_target(args.output, args.force, ptu=True)
    is_ptu = Path(args.output).suffix.lower() == PTU_SUFFIX
    if args.ptu_type and not is_ptu:
        raise TagstreamError(
            f"--ptu-type {args.ptu_type}: only for a .ptu output, not {args.output}"
        )
    config = simulator_config(args.model)
    duration = args.duration
    if duration is None and (config.scan is None or config.scan.parked):
        duration = "10 s"
    source = simulate(config, duration=duration, seed=args.seed, realtime=args.realtime)
    text = Path(args.model).read_text() if Path(args.model).is_file() else None
    bar = ProgressBar(f"simulate {config.name}", source.duration_ps)
    every = None if args.results_every.strip().lower() == "off" else args.results_every
    reached = [0]
    pace = real_time_pace(source)
    lag = None if pace is None else RealTimeLag(pace, "simulator")
    warned = [False]

    def progress(t_end_ps: int) -> None:
        reached[0] = t_end_ps
        bar(t_end_ps)
        if lag is not None and lag.behind and not warned[0]:
            warned[0] = True
            print(f"tagstream simulate: warning: {lag.warning()}", file=sys.stderr)

    try:
        with stop_on_signals() as stop:
            if is_ptu:
                kind = args.ptu_type or f"Generic{source.metadata.mode}"
                out = write_ptu(
                    source, args.output, kind, force=args.force, progress=progress, stop=stop
                )
            else:
                out = record_run(
                    source,
                    args.output,
                    force=args.force,
                    progress=progress,
                    config_text=text,
                    compression=args.compression,
                    results_every=every,
                    stop=stop,
                    lag=lag,
                )
    except KeyboardInterrupt:
        kept = "was not written" if is_ptu else "keeps what its last commit holds"
        raise KeyboardInterrupt(f"interrupted again; {args.output} {kept}") from None
    finally:
        bar.close()
    if stop.reason:
        print(
            f"tagstream simulate: {stop.reason} after {format_time(reached[0])} of "
            f"{format_time(source.duration_ps)}; {out} holds those {format_time(reached[0])} "
            "and says so (a shorter run than asked)",
            file=sys.stderr,
        )
        return 1
    print(f"wrote {out} ({config.name}, {format_time(source.duration_ps)}, seed {args.seed})")
    if lag is not None and lag.behind:
        print(f"note: {lag.warning(final=True)}")
    return 0
