"""Generation speed of the simulated emitter: the pulsed full model and CW excitation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from tagstream.sources.factory import simulate, simulator_config

#: What is asked of the simulator, tags per second: the full pulsed model and CW excitation.
FULL_MODEL_BUDGET = 60e6
CW_BUDGET = 20e6

PULSED_MODEL = {
    "name": "benchmark",
    "excitation": {"repetition_rate": "40 MHz", "mean_excitations": 0.5},
    "exciton": {"lifetime": "2 ns", "quantum_yield": 0.9},
    "biexciton": {"lifetime": "0.1 ns", "quantum_yield": 0.09},
    "grey": {"lifetime": "1 ns", "quantum_yield": 0.3},
    "off": {"lifetime": "0.5 ns", "quantum_yield": 0.05},
    "blinking": {
        "states": ["on", "grey", "off"],
        "dwell": "power-law",
        "exponent": {"on": 1.5, "grey": 1.6, "off": 1.7},
        "dwell_min": "100 us",
    },
    "setup": {
        "mode": "T3",
        "collection_efficiency": 0.3,
        "background_rate": "1 kHz",
        "detectors": [
            {
                "name": name,
                "channel": ch,
                "dead_time": "22 ns",
                "jitter": "35 ps",
                "jitter_tail": "150 ps",
                "jitter_tail_fraction": 0.05,
                "dark_rate": "100 Hz",
                "afterpulsing": 0.005,
            }
            for name, ch in (("A", 1), ("B", 2))
        ],
    },
}


def cw_high_rate():
    """The ``cw-antibunching`` dot pumped at 200 MHz (k_pump = k_rad) and collected at 20 %:
    about 10 Mcps on the two detectors, dead time and afterpulsing as in the preset."""
    config = simulator_config("cw-antibunching")
    excitation = replace(config.excitation, pump_rate_hz=2e8)
    setup = replace(config.setup, collection_efficiency=0.2)
    return replace(config, name="cw-high-rate", excitation=excitation, setup=setup)


def measure_simulator(measure: Callable[..., tuple], data, seconds: float) -> None:
    """Rows through ``measure`` (the suite's): tags per second the simulator makes with the
    full pulsed model (blinking between three states, biexcitons, two detectors with dead
    time, jitter with a tail and afterpulsing; ~2.7 Mcps in T3, and in T2 with the 40 MHz sync
    as a channel), and under CW excitation at the preset's rate (~0.47 Mcps) and a high one."""
    t3 = simulator_config(PULSED_MODEL)
    t2 = replace(t3, setup=replace(t3.setup, mode="T2"))
    short = f"{max(seconds / 2.5, 0.2):g} s"
    cases = [
        ("simulator, full model (T3, photons only)", t3, short, FULL_MODEL_BUDGET),
        ("simulator, full model (T2, with the 40 MHz sync)", t2, short, None),
        ("simulator, CW (cw-antibunching, ~0.47 Mcps)", simulator_config("cw-antibunching"),
         f"{max(seconds * 10, 5):g} s", CW_BUDGET),
        ("simulator, CW at a high rate (~10 Mcps)", cw_high_rate(), short, CW_BUDGET),
    ]  # fmt: skip
    for label, config, duration, budget in cases:

        def run(config=config, duration=duration) -> int:
            return sum(len(b) for b in simulate(config, duration=duration, seed=1).batches())

        count = run()
        row, _ = measure(label, "tagstream", data, run, n=count)
        if budget:
            row.budget = f">= {budget / 1e6:g} Mtags/s"
            row.meets_budget = bool(row.tags_per_s >= budget)
