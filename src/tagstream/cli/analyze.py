"""``tagstream analyze``: the summary of a run file, as text, JSON and a figure."""

from __future__ import annotations

import argparse
import json
import sys

from ..pipeline.offline import (
    analyze_run,
    load_analysis_settings,
    load_virtual_definitions,
    open_with_channels,
)
from .options import add_delay_option, add_set_option, with_delays, with_settings
from .output import (
    STDOUT,
    check_distinct,
    check_export_dir,
    check_figure_target,
    check_json_target,
    write_json,
)
from .progress import ProgressBar


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``analyze`` command (a run file, config, delays, settings, JSON, figure and CSV
    outputs) to the subcommand parsers ``sub``."""
    p = sub.add_parser("analyze", help="g2(0), lifetime and blinking of a run file")
    p.add_argument(
        "file",
        metavar="FILE",
        help="a run file: Photon-HDF5 (tagstream's or other software's) or PicoQuant "
        "PTU, PT2, PT3, HT2, HT3",
    )
    p.add_argument("--config", metavar="CONFIG", help="TOML file with an [analysis] table")
    add_delay_option(p)
    add_set_option(p)
    p.add_argument(
        "--json",
        metavar="OUT.json",
        help="write the summary as JSON ('-': to standard output, the text then to stderr)",
    )
    p.add_argument(
        "--plot",
        metavar="OUT.png",
        help="write the figure: a panel or two per measurement (.png, .pdf, .svg, ...)",
    )
    p.add_argument(
        "--export",
        metavar="DIR",
        help="write each measurement's tables (g2, decay with fit and residuals, trace, FLID, "
        "...) as CSV files with units in their header, DIR/<run>_g2.csv and so on (DIR made "
        "if missing)",
    )
    p.add_argument(
        "--force", action="store_true", help="overwrite the JSON, figure or exported files"
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Summarise the run file ``args.file`` (g2(0), lifetime, blinking and every other kind), print
    the text and write the JSON, the figure and the CSV tables asked for, each output checked
    before the pass; returns the exit status (0)."""
    check_distinct({"FILE": args.file}, {"--json": args.json, "--plot": args.plot})
    if args.json:
        check_json_target(args.json, args.force)
    if args.plot:
        check_figure_target(args.plot, args.force)
    if args.export:
        check_export_dir(args.export, args.file, args.force)
    settings = with_settings(load_analysis_settings(args.config), args.set)
    settings = with_delays(settings, args.delay)
    virtual = load_virtual_definitions(args.config)
    with open_with_channels(args.file, virtual) as source:
        for text in source.warnings:
            print(f"tagstream analyze: warning: {args.file}: {text}", file=sys.stderr)
        bar = ProgressBar("analyze", source.duration_ps)
        try:
            summary = analyze_run(source, args.file, settings, progress=bar)
        finally:
            bar.close()
    to_stdout = args.json == STDOUT
    text = sys.stderr if to_stdout else sys.stdout  # standard output holds only the JSON
    print(summary.text(), file=text)
    if to_stdout:
        print(json.dumps(summary.to_dict(), indent=2, allow_nan=False))
    elif args.json:
        write_json(args.json, summary.to_dict(), args.force)
    if args.plot:
        print("tagstream analyze: drawing the figure…", file=sys.stderr, flush=True)
        from ..analysis.plots import save_figure

        save_figure(summary, args.plot)
        print(f"wrote {args.plot}", file=text)
    if args.export:
        _export(summary, args, text)
    return 0


def _export(summary, args: argparse.Namespace, text) -> None:
    """Write the CSV tables; say which were written and why the others were not."""
    from ..analysis.export import export_tables, write_tables

    tables, missing = export_tables(summary)
    for path in write_tables(tables, args.export, args.file, args.force):
        print(f"wrote {path}", file=text)
    for kind, reason in missing.items():
        print(f"not exported: {kind} ({reason})", file=text)
