"""The histograms of a run summary as CSV tables, for Origin, Excel and MATLAB.

One file per measurement, named ``<run>_<kind>.csv``: ``g2``, ``g2_log`` (runs without decays),
``decay``, ``trace`` and ``flid``. Each starts with ``#`` comment lines (program and version,
file, settings, what each column holds and its unit), then one header row of column names that
carry their units (``tau_ns``), then comma-separated numbers (``nan`` where a value does not
exist). Read back with ``numpy.loadtxt(path, delimiter=",", skiprows=...)`` or
``numpy.genfromtxt(path, delimiter=",", names=True)``; MATLAB ``readtable`` and Origin's and
Excel's CSV import skip or show the comment lines.

The tables hold the arrays the summary computed (the analysis bins, not the figure's display
bins); nothing is recomputed but the deviance residuals of the decay fit.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import OutputExistsError, WriteError
from .derived import adjacent_peak_height, deviance_residuals
from .formatting import value_with_error
from .run_summary import RunSummary

__all__ = ["EXPORT_KINDS", "Table", "export_names", "export_tables", "write_tables"]

#: What an export may write, in this order.
EXPORT_KINDS = ("g2", "g2_log", "decay", "trace", "flid")
PS_PER_NS = 1e3
PS_PER_S = 1e12


@dataclass(frozen=True)
class Table:
    """One CSV file: comment lines, column names (with units) and the values, one row each."""

    kind: str
    comments: tuple[str, ...]
    columns: tuple[str, ...]
    data: np.ndarray
    integer: tuple[bool, ...]

    def text(self) -> str:
        """The file's text."""
        lines = [f"# {c}" for c in self.comments] + [",".join(self.columns)]
        formats = ["%d" if whole else "%.10g" for whole in self.integer]
        body = [",".join(f % v for f, v in zip(formats, row, strict=True)) for row in self.data]
        return "\n".join(lines + body) + "\n"


def export_names(run_name: str | os.PathLike) -> dict[str, str]:
    """The file name of each kind for a run: ``<stem>_<kind>.csv``."""
    stem = Path(run_name).stem or "run"
    return {kind: f"{stem}_{kind}.csv" for kind in EXPORT_KINDS}


def export_tables(summary: RunSummary) -> tuple[dict[str, Table], dict[str, str]]:
    """The tables the summary holds data for, and for the others why they are missing."""
    head = _head(summary)
    makers = {
        "g2": lambda: _g2_table(summary, head),
        "g2_log": lambda: _g2_log_table(summary, head),
        "decay": lambda: _decay_table(summary, head),
        "trace": lambda: _trace_table(summary, head),
        "flid": lambda: _flid_table(summary, head),
    }
    parts = {"g2": "g2", "g2_log": "g2", "decay": "lifetime", "trace": "trace", "flid": "flid"}
    tables, missing = {}, {}
    for kind, make in makers.items():
        table = make()
        if table is not None:
            tables[kind] = table
        elif kind != "g2_log" or summary.decay is None:
            reasons = summary.notes_for(parts[kind])
            missing[kind] = reasons[0] if reasons else "no data"
    return tables, missing


def write_tables(
    tables: dict[str, Table], directory: str | os.PathLike, run_name: str, force: bool
) -> list[Path]:
    """Write each table to ``directory/<stem>_<kind>.csv`` (the folder is made if missing),
    each through a temporary file; an existing file is replaced only with ``force``.

    Raises
    ------
    OutputExistsError
        A file exists (without ``force``).
    WriteError
        A file cannot be written.
    """
    folder = Path(directory)
    names = export_names(run_name)
    targets = {kind: folder / names[kind] for kind in tables}
    for path in targets.values():
        if path.exists() and not force:
            raise OutputExistsError(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WriteError(folder, f"cannot make the folder ({exc.strerror or exc})") from None
    written = []
    for kind, path in targets.items():
        tmp = path.with_name(f".{path.name}.partial")
        try:
            tmp.write_text(tables[kind].text())
            tmp.replace(path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise WriteError(path, f"cannot write the table ({exc.strerror or exc})") from None
        written.append(path)
    return written


# ---------------------------------------------------------------------------------- tables
def _head(summary: RunSummary) -> str:
    from .._version import __version__

    return f"tagstream {__version__}, file {summary.name}"


def _table(
    kind: str, comments: Sequence[str], columns: dict[str, np.ndarray], integer: Sequence[str]
) -> Table:
    data = np.column_stack([np.asarray(v, dtype=float) for v in columns.values()])
    return Table(kind, tuple(comments), tuple(columns), data, tuple(c in integer for c in columns))


def _g2_table(summary: RunSummary, head: str) -> Table | None:
    g, z = summary.g2, summary.g2_zero
    if g is None:
        return None
    pair = "-".join(g.channels)
    comments = [
        f"{head}, g2 pair {pair}, bin {g.bin_ps / PS_PER_NS:g} ns, window "
        f"±{g.edges_ps[-1] / PS_PER_NS:g} ns, {g.n_a} and {g.n_b} photons, "
        f"{g.live_ps / PS_PER_S:.6g} s live",
        _g2_zero_line(summary),
        f"tau_ns: delay t_{g.channels[1]} - t_{g.channels[0]} at the bin centre (ns); counts: "
        "coincidences per bin; expected: coincidences per bin for uncorrelated light; "
        "g2: counts / expected; g2_err: its one-sigma uncertainty",
    ]
    columns = {
        "tau_ns": g.tau_ps / PS_PER_NS, "counts": g.counts, "expected": g.expected, "g2": g.g2,
        "g2_err": g.g2_err,
    }  # fmt: skip
    height = adjacent_peak_height(g, z) if z is not None else None
    if height is not None:
        comments.append(
            "g2_adjacent: counts / the height of the mean adjacent peak (side peaks normalised "
            f"to 1): the peaks at +-{z.period_ps / PS_PER_NS:g} ns from the zero-delay position "
            "averaged bin by bin, smoothed by a running mean, maximum "
            f"{height:.6g} coincidences per bin; the zero-delay peak's maximum is then near "
            "g2(0) for peaks of one shape, while g2(0) above is the ratio of the peak areas"
        )
        columns["g2_adjacent"] = g.counts / height
    return _table("g2", comments, columns, ("counts",))


def _g2_zero_line(summary: RunSummary) -> str:
    z = summary.g2_zero
    if z is None:
        reasons = summary.notes_for("g2")
        return f"g2(0) not available: {reasons[0] if reasons else 'not computed'}"
    tail = (
        f"period {z.period_ps / PS_PER_NS:.6g} ns" if z.excitation == "pulsed"
        else f"k = {z.rate_per_ns:.4g}/ns"
    )  # fmt: skip
    return f"g2(0) = {value_with_error(z.value, z.error)} ({z.excitation}, {z.method}), {tail}"


def _g2_log_table(summary: RunSummary, head: str) -> Table | None:
    log = summary.g2_log
    if log is None:
        return None
    comments = [
        f"{head}, log-binned (multi-tau) g2 pair {'-'.join(log.channels)}, {log.n_a} and "
        f"{log.n_b} photons, {log.live_ps / PS_PER_S:.6g} s live",
        "tau_s: lag (s); cell_s: width of the cells whose index differs by tau / cell (a bin "
        "spans tau - cell to tau + cell with a triangular weight); counts: coincidences of both "
        "directions; expected: the same for uncorrelated light; g2: counts / expected "
        "(nan where nothing is expected); g2_err: its one-sigma uncertainty",
    ]
    columns = {
        "tau_s": log.tau_ps / PS_PER_S, "cell_s": log.cell_ps / PS_PER_S,
        "counts": log.counts_ab + log.counts_ba, "expected": 2.0 * log.expected, "g2": log.g2,
        "g2_err": log.g2_err,
    }  # fmt: skip
    return _table("g2_log", comments, columns, ("counts",))


def _decay_table(summary: RunSummary, head: str) -> Table | None:
    d, fit = summary.decay, summary.decay_fit
    if d is None:
        return None
    period = f", laser period {d.period_ps / PS_PER_NS:.6g} ns" if d.period_ps else ""
    folded = f", {d.divider} pulses per sync folded" if d.divider > 1 else ""
    comments = [f"{head}, decay of {d.channel}, bin {d.bin_ps:g} ps, {d.mode}{period}{folded}"]
    model = np.full(d.counts.size, np.nan)
    if fit is None:
        reasons = summary.notes_for("lifetime")
        comments.append(f"no fit: {reasons[0] if reasons else 'not computed'}")
    else:
        first = int(np.argmin(np.abs(d.edges_ps - fit.edges_ps[0])))
        model[first : first + fit.expected.size] = fit.expected
        taus = ", ".join(
            f"{value_with_error(t / PS_PER_NS, e / PS_PER_NS)}"
            for t, e in zip(fit.tau_ps, fit.tau_err_ps, strict=True)
        )
        amplitudes = ", ".join(f"{a:.4g}" for a in fit.amplitudes)
        comments.append(
            f"fit: {fit.model}-exponential, Poisson maximum likelihood, IRF {fit.irf}, "
            f"tau = {taus} ns, amplitudes {amplitudes}, deviance {fit.deviance:.6g} for "
            f"{fit.dof} degrees of freedom"
        )
    comments.append(
        "t_ns: bin centre, delay after the laser pulse (ns); counts: photons per bin; fit: model "
        "photons per bin (nan outside the fitted bins); residual: Poisson deviance residual "
        "sign(counts - fit) sqrt(2 [counts ln(counts / fit) - (counts - fit)]) (squares sum to "
        "the deviance)"
    )
    columns = {
        "t_ns": d.t_ps / PS_PER_NS, "counts": d.counts, "fit": model,
        "residual": deviance_residuals(d.counts, model),
    }  # fmt: skip
    return _table("decay", comments, columns, ("counts",))


def _trace_table(summary: RunSummary, head: str) -> Table | None:
    tr, b = summary.trace, summary.blinking
    if tr is None:
        return None
    comments = [
        f"{head}, intensity trace of {'+'.join(tr.channels)}, bin {tr.bin_ps / 1e9:g} ms",
        "t_s: start of the bin on the run's clock (s); counts: photons in the bin; live_s: live "
        "time in the bin (s; less than the bin where the run starts or ends or data were lost); "
        "rate_cps: counts / live time (counts per second, nan without live time)",
    ]
    columns = {
        "t_s": tr.t_s, "counts": tr.counts, "live_s": tr.exposure_ps / PS_PER_S,
        "rate_cps": tr.rate_cps,
    }  # fmt: skip
    if b is not None:
        thresholds = ", ".join(
            f"{c:.6g} counts per full bin ({r:.6g} cps)"
            for c, r in zip(b.thresholds_counts, b.thresholds_cps, strict=True)
        )
        comments.append(
            f"state: 2 on, 1 grey, 0 off, -1 no live time; thresholds {thresholds} ({b.method})"
        )
        columns["state"] = b.states
    return _table("trace", comments, columns, ("counts", "state"))


def _flid_table(summary: RunSummary, head: str) -> Table | None:
    fl = summary.flid
    if fl is None:
        return None
    hist, delay_edges, count_edges = fl.histogram()
    if hist.size == 0 or hist.sum() == 0:
        return None
    count_width = float(count_edges[1] - count_edges[0])
    delay_width = float(delay_edges[1] - delay_edges[0]) / PS_PER_NS
    comments = [
        f"{head}, FLID of {fl.bin_ps / 1e9:g} ms time bins (full bins with timed photons)",
        f"a long table, one row per cell of the map: counts_per_bin: centre of a class of "
        f"{count_width:g} counts per time bin; mean_delay_ns: centre of a class of "
        f"{delay_width:.6g} ns of the bin's mean photon delay after the laser pulse; "
        "time_bins: time bins in the cell (0 included, so the rows fill a "
        f"{hist.shape[0]} x {hist.shape[1]} grid, delay varying fastest)",
    ]
    counts_c = 0.5 * (count_edges[:-1] + count_edges[1:])
    delay_c = 0.5 * (delay_edges[:-1] + delay_edges[1:]) / PS_PER_NS
    rows, cols = np.meshgrid(counts_c, delay_c, indexing="ij")
    columns = {
        "counts_per_bin": rows.ravel(), "mean_delay_ns": cols.ravel(), "time_bins": hist.ravel()
    }  # fmt: skip
    return _table("flid", comments, columns, ("time_bins",))
