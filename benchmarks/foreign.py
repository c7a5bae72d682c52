"""Reading other software's Photon-HDF5: a T3 file saved by phconvert (PyTables, zlib level 6
with byte shuffling, as phconvert writes by default), read whole through ``ts.open``."""

from __future__ import annotations

import contextlib
import io
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tagstream.sources.files import open_run

from .datasets import NANOTIME_UNIT_PS, PERIOD_PS, Dataset

#: Budget of the issue: replaying a phconvert file at the pipeline's rate.
FOREIGN_READ_BUDGET = 40e6


def phconvert_file(path: Path, data: Dataset) -> Path | None:
    """Save ``data`` (T3) as phconvert saves a converted PicoQuant T3 file: timestamps count
    syncs, nanotimes in TCSPC bins. ``None`` when phconvert is not installed."""
    try:
        from phconvert import hdf5 as phc_hdf5
    except ImportError:
        return None
    batch = data.batch
    bins = PERIOD_PS // NANOTIME_UNIT_PS
    photon_data = {
        "timestamps": batch.timestamps // PERIOD_PS,
        "detectors": batch.channels,
        "nanotimes": batch.nanotimes,
        "timestamps_specs": {"timestamps_unit": PERIOD_PS * 1e-12},
        "nanotimes_specs": {
            "tcspc_unit": NANOTIME_UNIT_PS * 1e-12,
            "tcspc_num_bins": bins,
            "tcspc_range": PERIOD_PS * 1e-12,
        },
        "measurement_specs": {
            "measurement_type": "generic",
            "laser_repetition_rate": 1e12 / PERIOD_PS,
            "detectors_specs": {"split_ch1": np.array([1]), "split_ch2": np.array([2])},
        },
    }
    setup = {
        "num_pixels": 2,
        "num_spots": 1,
        "num_spectral_ch": 1,
        "num_polarization_ch": 1,
        "num_split_ch": 2,
        "modulated_excitation": False,
        "lifetime": True,
        "excitation_alternated": [False],
        "excitation_cw": [False],
        "laser_repetition_rates": [1e12 / PERIOD_PS],
        "detectors": {"id": np.array([1, 2], np.uint8), "label": np.array([b"A", b"B"])},
    }
    saved = {
        "description": "benchmark data saved by phconvert",
        "acquisition_duration": (batch.t_end - batch.t_begin) * 1e-12,
        "photon_data": photon_data,
        "setup": setup,
        "identity": {"author": "tagstream bench", "author_affiliation": "-"},
    }
    with contextlib.redirect_stdout(io.StringIO()):  # phconvert prints "Saving: ..."
        phc_hdf5.save_photon_hdf5(saved, h5_fname=str(path), overwrite=True, warnings=False)
    return path


def read_all(path: Path) -> int:
    """Read every batch of the file as a replay does; the number of tags."""
    n = 0
    with open_run(path) as run:
        for batch in run.batches():
            n += len(batch)
    return n


def measure_foreign(measure: Callable[..., tuple], data: Dataset, folder: str | None = None):
    """A row for reading a phconvert-written file (zlib 6, shuffled) in 100 ms batches."""
    with tempfile.TemporaryDirectory(dir=folder) as where:
        path = phconvert_file(Path(where) / "phconvert.h5", data)
        if path is None:
            return
        row, n = measure(
            "read phconvert file (zlib 6, shuffle), 100 ms batches",
            "tagstream (parallel inflate)",
            data,
            lambda: read_all(path),
        )
        row.budget = f">= {FOREIGN_READ_BUDGET / 1e6:g} Mtags/s"
        row.meets_budget = bool(row.tags_per_s >= FOREIGN_READ_BUDGET)
        row.agrees = n == data.n
