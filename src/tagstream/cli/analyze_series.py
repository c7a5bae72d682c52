"""``tagstream analyze-series DIR``: saturation, <N>, g2(0) against <N> with the biexciton
cascade, lifetime and ON fraction against power, from a power series folder."""

from __future__ import annotations

import argparse
import csv
import json
import sys

from ..analysis.formatting import plus_minus
from ..pipeline.offline import load_analysis_settings
from ..pipeline.series_analysis import analyze_series
from .batch import Progress
from .options import add_set_option, with_settings
from .output import STDOUT, check_figure_target, check_json_target, check_target, write_json

#: The per-step columns of ``--csv``: (key in the step, header with unit).
CSV_COLUMNS = (
    ("file", "file"), ("value", "setting value"), ("dark", "dark step"),
    ("power_w", "power at sample (W)"), ("mean_excitations", "<N>"),
    ("rate_cps", "rate above dark (counts/s)"), ("rate_err_cps", "rate error (counts/s)"),
    ("g2_zero", "g2(0)"), ("g2_zero_err", "g2(0) error"), ("g2_zero_model", "g2(0) cascade fit"),
    ("tau_ns", "lifetime (ns, intensity mean)"), ("on_fraction", "ON fraction"),
    ("note", "note"), ("error", "error"),
)  # fmt: skip


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``analyze-series`` command to the subcommand parsers ``sub``."""
    p = sub.add_parser(
        "analyze-series",
        help="saturation fit, <N>, g2(0) against <N>, lifetime and ON fraction against power",
        description="Analyses every run of a `tagstream series` folder on Dask (as `batch`), "
        "fits I = I_sat (1 - exp(-P/P_sat)) to the count rate above the dark step's (with the "
        "biexciton photons once g2 gives QY(BX)/QY(X)), gives <N> = P/P_sat per step and fits "
        "g2(0) against <N> with the biexciton cascade.",
    )
    p.add_argument("folder", metavar="DIR", help="a series folder (holding series.json)")
    p.add_argument("--config", metavar="CONFIG", help="TOML file with an [analysis] table")
    add_set_option(p)
    p.add_argument("--json", metavar="OUT.json", help="the result as JSON ('-': stdout)")
    p.add_argument("--plot", metavar="OUT.png", help="the figure (.png, .pdf, .svg)")
    p.add_argument("--csv", metavar="OUT.csv", help="one row per step")
    p.add_argument("--scheduler", metavar="ADDRESS", help="a running Dask scheduler")
    p.add_argument("--workers", type=int, metavar="N", help="local cluster workers")
    p.add_argument("--force", action="store_true", help="overwrite the outputs")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Analyse the series, print it and write the outputs asked for; returns 0."""
    if args.json:
        check_json_target(args.json, args.force)
    if args.plot:
        check_figure_target(args.plot, args.force)
    if args.csv:
        check_target(args.csv, args.force)
    settings = with_settings(load_analysis_settings(args.config), args.set)
    shown = Progress("analyze-series")
    result = analyze_series(args.folder, settings, args.scheduler, args.workers, progress=shown)
    shown.close()
    out = sys.stderr if args.json == STDOUT else sys.stdout
    for line in text_lines(result):
        print(line, file=out)
    if args.json == STDOUT:
        print(json.dumps(result, indent=2))
    elif args.json:
        write_json(args.json, result, args.force)
    if args.plot:
        from ..analysis.plots_series import series_figure

        series_figure(result, args.plot)
        print(f"wrote {args.plot}", file=out)
    if args.csv:
        with open(args.csv, "w", newline="") as file:
            writer = csv.writer(file)
            writer.writerow([header for _, header in CSV_COLUMNS])
            for step in result["steps"]:
                writer.writerow(["" if step.get(k) is None else step[k] for k, _ in CSV_COLUMNS])
        print(f"wrote {args.csv}", file=out)
    return 0


def text_lines(result: dict) -> list[str]:
    """The result for the terminal: one line per step, then the fits, notes and warnings."""
    metered = result["power_from"] == "meter"
    scale, unit = (1e6, "µW") if metered else (1.0, str(result["setting"]))
    lines = [f"{'step':18s} {'power ' + unit:>16s} {'<N>':>7s} {'kcps':>8s} {'g2(0)':>15s} "
             f"{'tau ns':>7s} {'ON':>5s}"]  # fmt: skip
    for s in result["steps"]:
        if s["error"]:
            lines.append(f"{s['file']:18s} error: {s['error']}")
            continue
        power = None if s.get("power") is None else round(s["power"] * scale, 4) + 0.0
        if s["dark"]:  # dark counts: their rate is what counts
            lines.append(f"{s['file']:18s} {_num(power, '.3f'):>16s} {'-':>7s} "
                         f"{sum(v or 0 for v in s['rates_cps'].values()) / 1e3:>8.3f}  "
                         "(dark step: shutter closed)")  # fmt: skip
            continue
        g2 = plus_minus(s["g2_zero"], s["g2_zero_err"], ".3f")
        lines.append(
            f"{s['file']:18s} {_num(power, '.3f'):>16s} "
            f"{_num(s.get('mean_excitations'), '.3f'):>7s} {_num(s['rate_cps'] / 1e3, '.1f'):>8s} "
            f"{g2:>15s} {_num(s['tau_ns'], '.2f'):>7s} "
            f"{_num(s['on_fraction'], '.2f'):>5s}" + (f"  note: {s['note']}" if s["note"] else "")
        )
    sat, cascade, low = result["saturation"], result["cascade"], result["low_power"]
    if sat:
        p_sat = plus_minus(sat["p_sat"] * scale, (sat["p_sat_err"] or 0) * scale, ".4g")
        i_sat = plus_minus(sat["i_sat_cps"] / 1e3, (sat["i_sat_err_cps"] or 0) / 1e3, ".1f")
        lines.append(f"saturation: P_sat = {p_sat} {unit}, I_sat = {i_sat} kcps, reduced chi2 "
                     f"{sat['reduced_chi2']:.2f}")  # fmt: skip
        if sat["note"]:
            lines.append(f"  note: {sat['note']}")
    if cascade:
        ratio = plus_minus(cascade["qy_ratio"], cascade["qy_ratio_err"], ".4f")
        lines.append(f"cascade: QY(BX)/QY(X) = {ratio} (reduced chi2 "
                     f"{cascade['reduced_chi2']:.2f}); {cascade['note']}")  # fmt: skip
    if low:
        measured = plus_minus(low["g2_zero"], low["g2_zero_err"], ".4f")
        clean = low["g2_zero_dark_corrected"]
        clean = "" if clean is None else (", without the dark counts " + plus_minus(
            clean, low["g2_zero_err_dark_corrected"], ".4f"))  # fmt: skip
        lines.append(f"lowest power: <N> = {low['mean_excitations']:.3f}, g2(0) = "
                     f"{measured}{clean}")  # fmt: skip
        if low["note"]:
            lines.append(f"  note: {low['note']}")
    lines += [f"warning: {w}" for w in result["warnings"]]
    return lines


def _num(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)

