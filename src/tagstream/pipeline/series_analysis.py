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
from ..errors import TagstreamError
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
    where = Path(index["folder"]).absolute()
    files = [str(where / step["file"]) for step in index["steps"]]
    present = [f for f in files if Path(f).is_file()]
    rows = []
    if present:
        rows = population(present, None, settings, scheduler, workers, progress=progress)
    by_file = {r["file"]: r for r in rows}
    missing = {"error": "no such file (listed in series.json)"}
    result = series_result(index, [by_file.get(f, {"file": f, **missing}) for f in files])
    if not any(not s["error"] for s in result["steps"]):
        first = result["steps"][0]["error"] if result["steps"] else "the index lists no step"
        raise TagstreamError(f"{where}: no step of the series could be analysed ({first})")
    return result


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
    by_setting = not metered and "power" in str(index.get("setting"))
    if not metered and lit:
        warnings.append(
            "no power meter reading for every step: the stepped setting's value stands for the "
            "power (P_sat is then in its units)" if by_setting else
            f"no power meter reading for every step, and the stepped setting "
            f"({index.get('setting')}) is not a power: no saturation or cascade fit (give "
            "[series] meter)"
        )  # fmt: skip
    gated = any(s["gate_ns"] is not None for s in lit)
    for s in steps:
        by_value = by_setting and not s["dark"]  # the dark step's value is no power
        s["power"] = s["power_w"] if metered else (_number(s["value"]) if by_value else None)
        _above_dark(s, dark_cps, gated)
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
        "on_fraction": row.get("blinking.fractions.on"), "gate_ns": row.get("g2.gate_ns"),
    }  # fmt: skip


def _or_nan(value: Any) -> float:
    number = _number(value)
    return np.nan if number is None else number


def _number(value: Any) -> float | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    return float(value) if ok else None


def _dark_rates(dark: Mapping[str, Any] | None, warnings: list[str]) -> dict[str, float] | None:
    if dark is None:
        warnings.append("no dark step (a [series] shutter closes for one): the dark count rate "
                        "is taken as zero and g2(0) is not corrected for it")  # fmt: skip
        return None
    return {d: float(r or 0.0) for d, r in dark["rates_cps"].items()}


def _above_dark(s: dict[str, Any], dark: Mapping[str, float] | None, gated: bool) -> None:
    """The step's rate above the dark counts and its Poisson error, and each detector's signal
    fraction (unknown when g2 is gated: the gate keeps another share of the dark counts)."""
    rate = err2 = 0.0
    s["signal_fraction"] = {}
    for d, r in s["rates_cps"].items():
        r, n = float(r or 0.0), float(s["counts"].get(d) or 0.0)
        dark_d = 0.0 if dark is None else dark.get(d, 0.0)
        rate += r - dark_d
        err2 += r * r / n if n > 0 else 0.0  # (sqrt(n) / T)^2 with T = n / r
        s["signal_fraction"][d] = (r - dark_d) / r if r > 0 and not gated else None
    s["rate_cps"], s["rate_err_cps"] = rate, math.sqrt(err2)
    if s["dark"]:  # its decay, g2 and blinking are of dark counts: nothing to show
        for key in ("g2_zero", "g2_zero_err", "tau_ns", "on_fraction"):
            s[key] = None


def _fits(result: dict[str, Any], lit: list[dict[str, Any]]) -> None:
    """Saturation, <N> per step and the cascade, in alternation; the low-power g2(0)."""
    power = np.array([_or_nan(s["power"]) for s in lit], float)
    rate = np.array([s["rate_cps"] for s in lit], float)
    rate_err = np.array([s["rate_err_cps"] for s in lit], float)
    g = np.array([_or_nan(s["g2_zero"]) for s in lit], float)
    g_err = np.array([_or_nan(s["g2_zero_err"]) for s in lit], float)
    lit_power = power[np.isfinite(power) & (power > 0)]
    if lit_power.size < 3:
        if lit_power.size:
            result["warnings"].append("fewer than three steps with a power: no saturation or "
                                      "cascade fit")  # fmt: skip
        return
    if lit_power.max() < 1.5 * lit_power.min():
        result["warnings"].append(
            "the power at the sample spans less than a factor 1.5 over the steps: no "
            "saturation or cascade fit (does the meter see the excitation?)")
        return
    if np.sum(rate > 5 * rate_err) < 3:
        result["warnings"].append("fewer than three steps count clearly (5 sigma) above the "
                                  "dark counts: no saturation or cascade fit")  # fmt: skip
        return
    rho = np.array([_pair_fraction(s) for s in lit], float)
    sat, cascade = _alternate(result, power, rate, rate_err, g, g_err, rho)
    if sat is None:
        return
    n = power / sat.p_sat_w
    result["saturation"] = _saturation_block(sat, n, result["power_from"])
    for s, x, r in zip(lit, n, rho, strict=True):
        s["mean_excitations"], s["signal_fraction_pair"] = float(x), float(r)
        if cascade is not None:
            s["g2_zero_model"] = float(with_background(cascade_g2_zero(x, cascade.qy_ratio), r, 1))
    if cascade is not None:
        gated = any(s["gate_ns"] is not None for s in lit)
        result["cascade"] = {
            "qy_ratio": cascade.qy_ratio, "qy_ratio_err": cascade.qy_ratio_err,
            "reduced_chi2": cascade.reduced_chi2, "steps": cascade.n,
            "note": "g2(0) = 2 r P2 / (P1 + r P2)^2 with r = QY(BX)/QY(X), " + (
                "g2 gated: its dark counts' share is not known and not taken off" if gated else
                "no dark step: no dark counts taken off" if result["dark_cps"] is None else
                "the dark counts' share taken into account"),
        }  # fmt: skip
    good = np.isfinite(g) & np.isfinite(g_err) & np.isfinite(n)
    if good.any():
        k = int(np.flatnonzero(good)[np.argmin(n[good])])
        known = result["dark_cps"] is not None and not any(s["gate_ns"] is not None for s in lit)
        result["low_power"] = _low_power_block(lit[k]["file"], n[k], g[k], g_err[k],
                                               rho[k] if known else None)  # fmt: skip


def _alternate(result, power, rate, rate_err, g, g_err, rho):
    """The saturation and cascade fits, each using the other's latest result; the last good
    pair (a fit that fails in a later round keeps the earlier one, with a warning)."""
    ratio, sat, cascade = 0.0, None, None
    for _ in range(ROUNDS):
        try:
            sat = fit_saturation(power, rate, rate_err, ratio)
        except ValueError as exc:
            result["warnings"].append(f"saturation: {exc}")
            break
        try:
            cascade = fit_cascade(power / sat.p_sat_w, g, g_err, rho, 1.0)
        except ValueError as exc:
            result["warnings"].append(f"cascade: {exc}")
            break
        ratio = cascade.qy_ratio
    return sat, cascade


def _saturation_block(sat, n: np.ndarray, power_from: str) -> dict[str, Any]:
    notes = []
    if sat.reduced_chi2 > 3:
        notes.append(f"the rates scatter {math.sqrt(sat.reduced_chi2):.1f}x more than counting "
                     "explains (blinking, drift): the errors are scaled by that")  # fmt: skip
    if np.nanmax(n) < 1:
        notes.append("no step reaches saturation (<N> < 1): P_sat is an extrapolation")
    if not sat.p_sat_err_w > 0:
        notes.append("the fit gives no uncertainty (too few steps or a degenerate fit)")
    return {
        "model": "I = I_sat (P(N>=1) + r P(N>=2)), <N> = P/P_sat" if sat.qy_ratio else
                 "I = I_sat (1 - exp(-P/P_sat))",
        "i_sat_cps": sat.i_sat_cps, "i_sat_err_cps": sat.i_sat_err_cps, "p_sat": sat.p_sat_w,
        "p_sat_err": sat.p_sat_err_w, "unit": "W" if power_from == "meter" else None,
        "qy_ratio_used": sat.qy_ratio, "reduced_chi2": sat.reduced_chi2, "steps": sat.n,
        "note": "; ".join(notes) or None,
    }  # fmt: skip


def _low_power_block(
    file: str, n: float, g: float, g_err: float, rho: float | None
) -> dict[str, Any]:
    """The lowest power's g2(0), and without the dark counts when their share ``rho`` is known
    (a dark step, no gate)."""
    ok = rho is not None and rho > 0
    return {
        "file": file, "mean_excitations": float(n), "g2_zero": float(g),
        "g2_zero_err": float(g_err),
        "g2_zero_dark_corrected": float(1.0 + (g - 1.0) / rho) if ok else None,
        "g2_zero_err_dark_corrected": float(g_err / rho) if ok else None,
        "note": None if n < 0.2 else f"the lowest power has <N> = {n:.2f}: g2(0) there is "
                "above QY(BX)/QY(X)",
    }  # fmt: skip


def _pair_fraction(s: Mapping[str, Any]) -> float:
    """``rho_A rho_B`` of the step's g2 pair (1 when unknown)."""
    pair = s.get("pair") or []
    fractions = [s["signal_fraction"].get(name) for name in pair]
    if len(fractions) != 2 or any(f is None for f in fractions):
        return 1.0
    return float(fractions[0] * fractions[1])
