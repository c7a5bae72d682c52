"""``tagstream batch``: many run files analysed on Dask, one row each, in a Parquet or CSV table."""

from __future__ import annotations

import argparse
import sys

from ..errors import TagstreamError
from ..pipeline.offline import load_analysis_settings
from ..pipeline.population import BatchProgress, population
from .options import add_set_option, with_settings
from .output import check_figure_target


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``batch`` command to the subcommand parsers ``sub``."""
    p = sub.add_parser(
        "batch",
        help="analyse many run files on Dask: one row per file (Parquet or CSV)",
        description="Each file's row holds its `analyze --json` summary flattened "
        "(g2.g2_zero, lifetime.tau_ns.0, blinking.fractions.on, ...), its content hash, the "
        "settings' hash and an error column: a file that fails is a row that says why. Run "
        "again, files already in the table with the same content and settings are skipped.",
    )
    p.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="run files, folders (searched for run files) or glob patterns",
    )
    p.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT.parquet",
        help="the table: .parquet or .csv (updated when it is an earlier batch's)",
    )
    p.add_argument("--config", metavar="CONFIG", help="TOML file with an [analysis] table")
    add_set_option(p)
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="a running Dask scheduler (tcp://host:8786); default: a local cluster",
    )
    p.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="worker processes of the local cluster (default: one per core)",
    )
    p.add_argument(
        "--plot",
        metavar="OUT.png",
        help="the population figure: g2(0), lifetime and ON fraction over the files",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="analyse every file again; overwrite the table and figure",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Analyse the files, write the table (and figure); returns the exit status (0)."""
    if args.workers is not None and args.workers < 1:
        raise TagstreamError(f"--workers must be at least 1, got {args.workers}")
    if args.plot:
        check_figure_target(args.plot, args.force)
    settings = with_settings(load_analysis_settings(args.config), args.set)
    shown = Progress("batch")
    rows = population(
        args.paths, args.output, settings, args.scheduler, args.workers, args.force, progress=shown
    )
    shown.close()
    failed = sum(r.get("error") is not None for r in rows)
    print(
        f"{args.output}: {len(rows)} rows ({shown.made} analysed now, {shown.skipped} already "
        f"done, {failed} with an error)"
    )
    if args.plot:
        from ..analysis.plots_population import population_figure

        population_figure(rows, args.plot)
        print(f"wrote {args.plot}")
    return 0


class Progress:
    """``batch: 37/200 files, 1 failed`` on stderr, redrawn in place on a terminal."""

    def __init__(self, verb: str) -> None:
        self.verb = verb
        self.made = self.skipped = 0
        self.tty = sys.stderr.isatty()
        self.shown = False

    def __call__(self, state: BatchProgress) -> None:
        """Show ``state``."""
        self.made, self.skipped = state.made, state.skipped
        text = f"{self.verb}: {state.made + state.skipped}/{state.total} files"
        if state.skipped:
            text += f" ({state.skipped} already done)"
        if state.failed:
            text += f", {state.failed} failed"
        if self.tty:
            print(f"\r{text}", end="", file=sys.stderr, flush=True)
            self.shown = True
        elif state.made == state.total - state.skipped or state.made % 50 == 0:
            print(text, file=sys.stderr, flush=True)

    def close(self) -> None:
        """End the redrawn line."""
        if self.shown:
            print(file=sys.stderr)
