"""``tagstream image``: the confocal scan image of a run file from its scanner markers, the
dots in it, as a figure, JSON and CSV."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..analysis.dots import THRESHOLD_SIGMA, find_dots
from ..analysis.plots_image import save_image_figure
from ..errors import AnalysisError, TagstreamError
from ..pipeline.offline import load_virtual_definitions, open_with_channels
from ..pipeline.scan_images import image, load_image_settings
from .options import key_values
from .output import (
    STDOUT,
    check_distinct,
    check_figure_target,
    check_json_target,
    check_writable,  # fmt: skip
    write_json,
)
from .progress import ProgressBar


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``image`` command to the subcommand parsers ``sub``."""
    p = sub.add_parser(
        "image", help="the scan image of a run file (from its line and frame markers); its dots",
        description="The pixel grid and marker channels come from the file's image header "
        "(PicoQuant's ImgHdr_* tags) unless given: --set pixels_x=128 --set line_start=marker1.",
    )  # fmt: skip
    p.add_argument("file", metavar="FILE", help="a PTU, Photon-HDF5 or tagstream run file")
    p.add_argument("-o", "--plot", metavar="OUT.png",
                   help="write the figure: intensity with the dots, lifetime, phasor")
    p.add_argument("--find-dots", action="store_true",
                   help="find the dots: PSF-sized maxima standing out of the background")
    p.add_argument("--fwhm", type=float, metavar="PX",
                   help="the PSF's FWHM in pixels (default: measured on the brightest dot)")
    p.add_argument("--min-separation", type=float, metavar="PX",
                   help="closest two dots may be, pixels (default: the FWHM)")
    p.add_argument("--threshold", type=float, default=THRESHOLD_SIGMA, metavar="SIGMA",
                   help=f"detection threshold in noise standard deviations (default "
                        f"{THRESHOLD_SIGMA:g})")  # fmt: skip
    p.add_argument("--config", metavar="CONFIG",
                   help="TOML file with an [image] table (and [channels.virtual])")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="an image setting over the header's and the config's: pixels_x, "
                        "pixels_y, line_start, line_stop, frame, bidirectional, pixel_time, "
                        "pixel_size_um, channels, decay_bin (repeatable)")  # fmt: skip
    p.add_argument("--json", metavar="OUT.json", help="write the image summary and the dots "
                   "as JSON ('-': to standard output)")  # fmt: skip
    p.add_argument("--csv", metavar="OUT.csv", help="write the dots as CSV (needs --find-dots)")
    p.add_argument("--force", action="store_true", help="overwrite the outputs")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Build the image, find the dots if asked, print and write the outputs; exit status 0."""
    _check_outputs(args)
    settings = {**load_image_settings(args.config), **dict(key_values(args.set, "pixels_x=128"))}
    virtual = load_virtual_definitions(args.config)
    with open_with_channels(args.file, virtual) as source:
        warnings = list(source.warnings)
        for text in warnings:
            print(f"tagstream image: warning: {args.file}: {text}", file=sys.stderr)
        bar = ProgressBar("image", source.duration_ps)
        try:
            scan = image(source, progress=bar, **settings)
        except AnalysisError as exc:
            raise TagstreamError(f"{args.file}: {exc}") from None
        finally:
            bar.close()
    dots = None
    if args.find_dots:
        dots = find_dots(scan, fwhm_px=args.fwhm, min_separation_px=args.min_separation,
                         threshold_sigma=args.threshold)  # fmt: skip
    _write(args, scan, dots, warnings)
    return 0


def _check_outputs(args: argparse.Namespace) -> None:
    """Every output and number checked before the pass over the file."""
    check_distinct({"FILE": args.file},
                   {"--plot": args.plot, "--json": args.json, "--csv": args.csv})  # fmt: skip
    if args.plot:
        check_figure_target(args.plot, args.force)
    if args.json:
        check_json_target(args.json, args.force)
    if args.csv:
        if not args.find_dots:
            raise TagstreamError("--csv writes the dots: add --find-dots")
        check_writable(args.csv, args.force)
    for option, value in (("--fwhm", args.fwhm), ("--min-separation", args.min_separation),
                          ("--threshold", args.threshold)):  # fmt: skip
        if value is not None and not value > 0:
            raise TagstreamError(f"{option} {value:g}: give a positive number")


def _write(args: argparse.Namespace, scan, dots, warnings: list[str]) -> None:
    """The text, then the JSON, CSV and figure asked for."""
    to_stdout = args.json == STDOUT
    out = sys.stderr if to_stdout else sys.stdout
    print(_text(args.file, scan, dots), file=out)
    data = _json(args.file, scan, dots, warnings)
    if to_stdout:
        print(json.dumps(data, indent=2, allow_nan=False))
    elif args.json:
        write_json(args.json, data, args.force)
        print(f"wrote {args.json}", file=out)
    if args.csv and dots is not None:
        _write_csv(args.csv, dots, args.file)
        print(f"wrote {args.csv}", file=out)
    if args.plot:
        save_image_figure(scan, args.plot, dots, title=str(args.file))
        print(f"wrote {args.plot}", file=out)


def _text(file: str, scan, dots) -> str:
    d = scan.to_dict()
    lines = [
        f"{file}: {d['pixels'][0]} x {d['pixels'][1]} pixels, {scan.lines} lines, "
        f"{scan.frames} frame marker(s), {scan.pixel_time_s * 1e3:.4g} ms per pixel, "
        f"{scan.placed} of {scan.photons} photons in the image",
    ]
    lines += [f"  note: {n}" for n in scan.notes]
    if dots is not None:
        lines.append(f"{len(dots.dots)} dots (PSF FWHM {dots.fwhm_px:.3g} px"
                     f"{', measured' if dots.fwhm_estimated else ''}; background "
                     f"{dots.background_counts:.4g} photons per pixel; threshold "
                     f"{dots.threshold_sigma:g} sigma)")  # fmt: skip
        lines.append("   #      x      y   peak kcps  photons   tau (ns)")
        for i, dot in enumerate(dots.dots):
            tau = "-" if dot.tau_ns is None else f"{dot.tau_ns:.3f} ± {dot.tau_err_ns:.3f}"
            note = f"  ({dot.note})" if dot.note else ""
            lines.append(f"  {i:2d} {dot.x:6.2f} {dot.y:6.2f} {dot.peak_rate_cps / 1e3:11.1f} "
                         f"{dot.photons:8d}   {tau}{note}")
        lines += [f"  note: {n}" for n in dots.notes]
    return "\n".join(lines)


def _json(file: str, scan, dots, warnings: list[str]) -> dict[str, Any]:
    return {
        "file": str(file),
        "image": scan.to_dict(),
        "dots": None if dots is None else dots.to_dict(),
        "warnings": [*warnings, *scan.notes, *([] if dots is None else dots.notes)],
    }


def _write_csv(path: str, dots, file: str) -> None:
    from .._version import __version__
    from ..analysis.measurements.image import dots_table

    table = dots_table(dots, f"tagstream {__version__}, file {Path(file).name}")
    Path(path).write_text(table.text())
