"""``tagstream analyze``: the summary of a run file, as text, JSON and a figure."""

from __future__ import annotations

import argparse
import json
import sys

from ..pipeline.offline import analyze_run, load_analysis_settings
from ..sources.files import open_run
from .options import add_delay_option, with_delays
from .output import STDOUT, check_figure_target, check_json_target, write_json
from .progress import ProgressBar


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("analyze", help="g2(0), lifetime and blinking of a run file")
    p.add_argument(
        "file",
        metavar="FILE",
        help="a run file: Photon-HDF5 (tagstream's or other software's) or PicoQuant "
        "PTU, PT2, PT3, HT2, HT3",
    )
    p.add_argument("--config", metavar="CONFIG", help="TOML file with an [analysis] table")
    add_delay_option(p)
    p.add_argument(
        "--json",
        metavar="OUT.json",
        help="write the summary as JSON ('-': to standard output, the text then to stderr)",
    )
    p.add_argument(
        "--plot", metavar="OUT.png", help="write a four-panel figure (.png, .pdf, .svg, ...)"
    )
    p.add_argument("--force", action="store_true", help="overwrite the JSON or PNG file")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.json:
        check_json_target(args.json, args.force)
    if args.plot:
        check_figure_target(args.plot, args.force)
    settings = with_delays(load_analysis_settings(args.config), args.delay)
    with open_run(args.file) as source:
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
        from ..analysis.plots import save_figure

        save_figure(summary, args.plot)
        print(f"wrote {args.plot}", file=text)
    return 0
