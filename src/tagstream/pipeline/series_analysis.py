"""``tagstream analyze-series DIR``: the runs of a power series analysed on the batch machinery
(:mod:`.population`), then the saturation of the count rate, ``<N>`` per step, g2(0) against
``<N>`` with the biexciton cascade, and the lifetime and ON fraction against power."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..analysis.saturation import cascade_g2_zero, fit_cascade, fit_saturation, with_background
from ..analysis.summary_settings import SummarySettings
from .population import BatchProgress, population
from .series_index import read_index

#: Rounds of (saturation fit -> <N> -> cascade fit -> saturation fit with the BX photons).
ROUNDS = 3


def analyze_series(
    folder: str | Path, settings: SummarySettings | None = None, scheduler: str | None = None,
    workers: int | None = None, progress: Callable[[BatchProgress], None] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The power-series result of the series in ``folder`` (see :func:`series_result`)."""
    index = read_index(folder)
    where = Path(index["folder"])
    files = [str(where / step["file"]) for step in index["steps"]]
    rows = population(files, None, settings, scheduler, workers, progress=progress) if files else []
    by_file = {r["file"]: r for r in rows}
    return series_result(index, [by_file[f] for f in files])


def series_result(index: Mapping[str, Any], rows: list[Mapping[str, Any]]) -> dict[str, Any]:
    """The power-series result from the index and each step's summary row (flattened as in a
    population table), in step order."""
    warnings: list[str] = []
    steps = [_step(s, r) for s, r in zip(index["steps"], rows, strict=True)]
    for s in steps:
        if s["error"]:
            warnings.append(f"{s['file']}: {s['error']}")
    dark = [s for s in steps if s["dark"] and not s["error"]]
    lit = [s for s in steps if not s["dark"] and not s["error"]]
    dark_cps = _dark_rates(dark[0] if dark else None, warnings)
    metered = all(isinstance(s["power_w"], (int, float)) for s in lit) and bool(lit)
    if not metered:
        warnings.append("no power meter reading for every step: the stepped setting's value "
                        "stands for the power (P_sat is then in its units)")  # fmt: skip
    for s in steps:
        s["power"] = s["power_w"] if metered else _number(s["value"])
        _above_dark(s, dark_cps)
    result: dict[str, Any] = {
        "folder": index.get("folder"), "instrument": index.get("instrument"),
        "setting": index.get("setting"), "power_from": "meter" if metered else "setting",
        "dark_cps": None if dark_cps is None else sum(dark_cps.values()),
        "saturation": None, "cascade": None, "low_power": None, "steps": steps,
        "warnings": warnings,
    }  # fmt: skip
    _fits(result, lit)
    return _finite(result)


def _finite(value: Any) -> Any:
    """``value`` with every NaN or infinity replaced by ``None`` (valid JSON)."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _step(step: Mapping[str, Any], row: Mapping[str, Any]) -> dict[str, Any]:
    """One step's numbers from its index entry and summary row."""
    detectors = sorted({k.split(".")[1] for k in row if k.startswith("channels.")
                        and k.endswith(".role") and row[k] == "detector"})  # fmt: skip
    counts = {d: row.get(f"channels.{d}.counts") for d in detectors}
    rates = {d: row.get(f"channels.{d}.rate_cps") for d in detectors}
    pair = row.get("g2.pair")
    return {
        "file": step["file"], "value": step.get("value"), "dark": bool(step.get("dark")),
        "power_w": step.get("power_w"), "error": row.get("error"), "note": step.get("note"),
        "counts": counts, "rates_cps": rates, "pair": json.loads(pair) if pair else None,
        "g2_zero": row.get("g2.g2_zero"), "g2_zero_err": row.get("g2.g2_zero_err"),
        "g2_method": row.get("g2.method"), "g2_note": row.get("g2.note"),
        "tau_ns": row.get("lifetime.tau_mean_ns.intensity"),
        "on_fraction": row.get("blinking.fractions.on"),
    }  # fmt: skip


def _number(value: Any) -> float | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    return float(value) if ok else None


def _dark_rates(dark: Mapping[str, Any] | None, warnings: list[str]) -> dict[str, float] | None:
    if dark is None:
        warnings.append("no dark step (a [series] shutter closes for one): the dark count rate "
                        "is taken as zero and g2(0) is not corrected for it")  # fmt: skip
        return None
    return {d: float(r or 0.0) for d, r in dark["rates_cps"].items()}


def _above_dark(s: dict[str, Any], dark: Mapping[str, float] | None) -> None:
    """The step's rate above the dark counts and its Poisson error, and each detector's signal
    fraction."""
    rate = err2 = 0.0
    s["signal_fraction"] = {}
    for d, r in s["rates_cps"].items():
        r, n = float(r or 0.0), float(s["counts"].get(d) or 0.0)
        dark_d = 0.0 if dark is None else dark.get(d, 0.0)
        rate += r - dark_d
        err2 += r * r / n if n > 0 else 0.0  # (sqrt(n) / T)^2 with T = n / r
        s["signal_fraction"][d] = (r - dark_d) / r if r > 0 else None
    s["rate_cps"], s["rate_err_cps"] = rate, math.sqrt(err2)


def _fits(result: dict[str, Any], lit: list[dict[str, Any]]) -> None:
    """Saturation, <N> per step and the cascade, in alternation; the low-power g2(0)."""
    power = np.array([s["power"] if s["power"] is not None else np.nan for s in lit], float)
    rate = np.array([s["rate_cps"] for s in lit], float)
    rate_err = np.array([s["rate_err_cps"] for s in lit], float)
    g = np.array([_number(s["g2_zero"]) or np.nan for s in lit], float)
    g_err = np.array([_number(s["g2_zero_err"]) or np.nan for s in lit], float)
    rho = np.array([_pair_fraction(s) for s in lit], float)
    for s, r in zip(lit, rho, strict=True):
        s["signal_fraction_pair"] = float(r)
    ratio, sat, cascade = 0.0, None, None
    for _ in range(ROUNDS):
        try:
            sat = fit_saturation(power, rate, rate_err, ratio)
        except ValueError as exc:
            result["warnings"].append(f"saturation: {exc}")
            return
        n = power / sat.p_sat_w
        try:
            cascade = fit_cascade(n, g, g_err, rho, 1.0)
        except ValueError as exc:
            result["warnings"].append(f"cascade: {exc}")
            cascade = None
            break
        ratio = cascade.qy_ratio
    n = power / sat.p_sat_w
    for s, x in zip(lit, n, strict=True):
        s["mean_excitations"] = float(x)
    note = None
    if sat.reduced_chi2 > 3:
        note = (f"the rates scatter {math.sqrt(sat.reduced_chi2):.1f}x more than counting "
                "explains (blinking, drift): the errors are scaled by that")  # fmt: skip
    if n.max() < 1:
        note = (note + "; " if note else "") + ("no step reaches saturation (<N> < 1): P_sat "
                                                "is an extrapolation")  # fmt: skip
    result["saturation"] = {
        "model": "I = I_sat (P(N>=1) + r P(N>=2)), <N> = P/P_sat" if sat.qy_ratio else
                 "I = I_sat (1 - exp(-P/P_sat))",
        "i_sat_cps": sat.i_sat_cps, "i_sat_err_cps": sat.i_sat_err_cps, "p_sat": sat.p_sat_w,
        "p_sat_err": sat.p_sat_err_w, "unit": "W" if result["power_from"] == "meter" else None,
        "qy_ratio_used": sat.qy_ratio, "reduced_chi2": sat.reduced_chi2, "steps": sat.n,
        "note": note,
    }  # fmt: skip
    if cascade is not None:
        result["cascade"] = {
            "qy_ratio": cascade.qy_ratio, "qy_ratio_err": cascade.qy_ratio_err,
            "reduced_chi2": cascade.reduced_chi2, "steps": cascade.n,
            "note": "g2(0) = 2 r P2 / (P1 + r P2)^2 with r = QY(BX)/QY(X), the dark counts' "
                    "share taken into account" + ("" if result["dark_cps"] is not None else
                                                  " (no dark step: none assumed)"),
        }  # fmt: skip
        for s, x, r in zip(lit, n, rho, strict=True):
            s["g2_zero_model"] = float(with_background(cascade_g2_zero(x, cascade.qy_ratio), r, 1))
    good = np.isfinite(g) & np.isfinite(g_err)
    if good.any():
        k = int(np.flatnonzero(good)[np.argmin(n[good])])
        low = lit[k]
        corrected = 1.0 + (g[k] - 1.0) / rho[k] if rho[k] > 0 else np.nan
        result["low_power"] = {
            "file": low["file"], "mean_excitations": float(n[k]), "g2_zero": float(g[k]),
            "g2_zero_err": float(g_err[k]), "g2_zero_dark_corrected": float(corrected),
            "g2_zero_err_dark_corrected": float(g_err[k] / rho[k]) if rho[k] > 0 else None,
            "note": None if n[k] < 0.2 else f"the lowest power has <N> = {n[k]:.2f}: g2(0) "
                    "there is above QY(BX)/QY(X)",
        }  # fmt: skip


def _pair_fraction(s: Mapping[str, Any]) -> float:
    """``rho_A rho_B`` of the step's g2 pair (1 when unknown)."""
    pair = s.get("pair") or []
    fractions = [s["signal_fraction"].get(name) for name in pair]
    if len(fractions) != 2 or any(f is None for f in fractions):
        return 1.0
    return float(fractions[0] * fractions[1])
