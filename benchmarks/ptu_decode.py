"""Decoding PicoQuant PTU files: tagstream against numpy.sum and the peers that read PTU.

The data set's T3 tags are written as a GenericT3 file (MultiHarp, PicoHarp 330) in a
temporary folder; after a warm-up read the file sits in the page cache, so the rates are the
decoders', not the disk's. Rates count records (tags and the overflow records among them).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tagstream.sources.pq_file import PtuRun
from tagstream.store.ptu_writer import write_ptu

ANALYSIS = "PTU decode (GenericT3, page cache)"
#: Records/s of streaming decoding, as a fraction of numpy.sum's tags/s.
BUDGET = 0.3


def _open(path: Path) -> Callable[[], object]:
    def run() -> object:
        with PtuRun(path) as ptu:
            return ptu.counts

    return run


def _batches(ptu: PtuRun) -> Callable[[], int]:
    return lambda: sum(len(b) for b in ptu.batches())


def _open_read(path: Path) -> Callable[[], object]:
    def run() -> object:
        with PtuRun(path) as ptu:
            return ptu.read()

    return run


def _phconvert(path: Path) -> Callable[[], object] | None:
    try:
        from phconvert import pqreader
    except Exception:  # not installed, or broken against this numpy
        return None
    return lambda: pqreader.load_ptu(str(path))


def _tttrlib(path: Path) -> Callable[[], object] | None:
    try:
        import tttrlib
    except Exception:
        return None

    def run() -> object:
        data = tttrlib.TTTR(str(path), "PTU")
        return data.macro_times, data.micro_times, data.routing_channels

    return run


def measure_ptu(measure: Callable[..., tuple], data, folder: str | None = None) -> None:
    """Rows for tagstream (opening, which counts the records; streaming decoding; both with
    the whole file read into one batch) and for phconvert and tttrlib on the same file,
    through ``measure`` (the suite's)."""
    with tempfile.TemporaryDirectory(dir=folder) as where:
        path = write_ptu(data.batch, Path(where) / "bench.ptu", "GenericT3")
        with PtuRun(path) as ptu:
            n = ptu.num_records
            ours = ptu.read()
            measure(ANALYSIS, "tagstream, open (counts records)", data, _open(path), n=n)
            stream, _ = measure(ANALYSIS, "tagstream, batches (replay)", data, _batches(ptu), n=n)
        stream.budget = f">= {BUDGET:g} x numpy.sum"
        stream.meets_budget = bool(stream.ratio_to_sum >= BUDGET)
        stream.note = "decoding on two threads at constant memory, after open"
        whole, _ = measure(ANALYSIS, "tagstream, open + read()", data, _open_read(path), n=n)
        fastest = 0.0
        for name, make in (("phconvert.pqreader", _phconvert), ("tttrlib", _tttrlib)):
            fn = make(path)
            if fn is None:
                continue
            try:
                row, theirs = measure(ANALYSIS, name, data, fn, n=n)
            except Exception as exc:  # a peer that fails on a valid file is reported, not fatal
                print(f"  {name} failed: {exc}")
                continue
            row.agrees = _agrees(name, theirs, ours)
            fastest = max(fastest, row.tags_per_s)
        if fastest:
            whole.note = f"{whole.tags_per_s / fastest:.1f}x the fastest peer, file to arrays"


def _agrees(name: str, theirs, ours) -> bool:
    """Same photons: sync counts and nanotimes (the peers' units) against ours."""
    period, unit = ours.sync_period_ps, ours.nanotime_unit_ps
    nsync = np.rint((ours.timestamps - ours.nanotimes * unit) / period).astype(np.int64)
    if name.startswith("phconvert"):
        timestamps, detectors, nanotimes = theirs[:3]
        keep = detectors < 64  # photons only
        theirs_sync, theirs_nt = np.asarray(timestamps)[keep], np.asarray(nanotimes)[keep]
    else:
        macro, micro, _channels = theirs
        theirs_sync, theirs_nt = np.asarray(macro), np.asarray(micro)
    nt = ours.nanotimes.astype(np.int64)
    order = np.lexsort((nt, nsync))
    mine = nsync[order], nt[order]
    order = np.lexsort((theirs_nt, theirs_sync))
    other = theirs_sync[order].astype(np.int64), theirs_nt[order].astype(np.int64)
    return bool(np.array_equal(mine[0], other[0]) and np.array_equal(mine[1], other[1]))
