"""Small run files of every format a batch reads, made from the separately written generator
(``tests/synthetic``) by writers that are not tagstream's (PicoQuant PTU and HT3 by the test
encoders, Photon-HDF5 by phconvert) and by tagstream's own recorder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from phconvert import hdf5 as phc_hdf5

import tagstream as ts
from tagstream.pipeline import record_run

from ..pq_encoder import encode, ptu_file
from ..pq_legacy_encoder import hydraharp_header, legacy_file
from ..synthetic import pulsed_t3

PERIOD_PS = 12_500
UNIT_PS = 4
FORMATS = ("ptu", "ht3", "phconvert", "ours")


def dot(rng: np.random.Generator, duration_ps: int = 50 * 10**9):
    """A dot's T3 photons: random purity and lifetime, as a population has."""
    g2_zero, tau_ps = float(rng.uniform(0.02, 0.3)), float(rng.uniform(1_000, 3_000))
    batch, _ = pulsed_t3(rng, duration_ps, period_ps=PERIOD_PS, p1=0.05, g2_zero=g2_zero,
                         tau_ps=tau_ps, eta=0.3, unit_ps=UNIT_PS)  # fmt: skip
    return batch


def _hydraharp_records(batch, period_ps: int) -> np.ndarray:
    """HydraHarp T3 records of a T3 batch of the generator (sync count, channel, nanotime)."""
    nsync = batch.timestamps // period_ps
    field = batch.channels.astype(np.int64) - 1  # HydraHarp family: channel field + 1
    records, _ = encode("HydraHarp2T3", nsync, np.zeros(nsync.size, np.int64), field,
                        batch.nanotimes.astype(np.int64))  # fmt: skip
    return records


def ptu_of(batch, path: Path, period_ps: int) -> Path:
    """A HydraHarp T3 PTU file at ``path`` written by the test encoder from a generator batch,
    its header stating the batch's duration as the acquisition time."""
    ms = round((batch.t_end - batch.t_begin) * 1e-9)
    stated = [("MeasDesc_AcquisitionTime", -1, "Int8", ms), ("TTResult_StopAfter", -1, "Int8", ms)]
    return ptu_file(path, "HydraHarp2T3", _hydraharp_records(batch, period_ps), UNIT_PS * 1e-12,
                    1e12 / period_ps, extra_tags=stated)  # fmt: skip


def write(path: Path, fmt: str, rng: np.random.Generator) -> Path:
    """A run file of format ``fmt`` (one of :data:`FORMATS`) at ``path`` (suffix added)."""
    if fmt == "ours":
        out = path.with_suffix(".h5")
        seed = int(rng.integers(1 << 30))
        record_run(ts.simulate("cspbi3-10nm", duration="0.1 s", seed=seed), out,
                   results_every=None)  # fmt: skip
        return out
    batch = dot(rng)
    nsync = batch.timestamps // PERIOD_PS
    if fmt == "ptu":
        return ptu_of(batch, path.with_suffix(".ptu"), PERIOD_PS)
    if fmt == "ht3":
        records = _hydraharp_records(batch, PERIOD_PS)
        header = hydraharp_header(3, records.size, resolution_ps=float(UNIT_PS), binning=2,
                                  acquisition_ms=50)  # fmt: skip
        return legacy_file(path.with_suffix(".ht3"), header, records)
    out = path.with_suffix(".hdf5")
    photon_data = {
        "timestamps": nsync,
        "detectors": batch.channels.astype(np.uint8),
        "nanotimes": batch.nanotimes.astype(np.uint16),
        "timestamps_specs": {"timestamps_unit": PERIOD_PS * 1e-12},
        "nanotimes_specs": {"tcspc_unit": UNIT_PS * 1e-12, "tcspc_num_bins": PERIOD_PS // UNIT_PS,
                            "tcspc_range": PERIOD_PS * 1e-12},
        "measurement_specs": {
            "measurement_type": "generic",
            "laser_repetition_rate": 1e12 / PERIOD_PS,
            "detectors_specs": {"split_ch1": np.array([1], np.uint8),
                                "split_ch2": np.array([2], np.uint8)},
        },
    }
    setup = {
        "num_pixels": 2, "num_spots": 1, "num_spectral_ch": 1, "num_polarization_ch": 1,
        "num_split_ch": 2, "modulated_excitation": False, "lifetime": True,
        "excitation_alternated": [False], "excitation_cw": [False],
        "laser_repetition_rates": [1e12 / PERIOD_PS],
        "detectors": {"id": np.array([1, 2], np.uint8), "label": np.array([b"A", b"B"])},
    }  # fmt: skip
    data = {
        "description": "a dot, saved by phconvert",
        "acquisition_duration": (batch.t_end - batch.t_begin) * 1e-12,
        "photon_data": photon_data,
        "setup": setup,
        "identity": {"author": "tester", "author_affiliation": "lab"},
    }
    phc_hdf5.save_photon_hdf5(data, h5_fname=str(out), overwrite=True, warnings=False)
    return out


def population_folder(folder: Path, n: int, seed: int = 0) -> list[Path]:
    """``n`` files, the formats in turn, and one corrupt PTU file (its records cut short and
    its header damaged) in ``folder``."""
    rng = np.random.default_rng(seed)
    files = [write(folder / f"dot{i:03d}", FORMATS[i % len(FORMATS)], rng) for i in range(n)]
    bad = folder / "broken.ptu"
    bad.write_bytes(b"PQTTTR\0\0" + bytes(range(40)))
    return [*files, bad]
