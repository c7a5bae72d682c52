"""Our PTU decoding equals phconvert's (an independent reader, in the test extra) for every
record type, on files from the independent test encoder: the same photons with the same
times, detectors and nanotimes. (phconvert 0.10.2 raises IndexError on PicoHarp files that
hold marker records, so those files have none.)"""

from __future__ import annotations

import numpy as np
import pytest

from tagstream.sources.files import open_run

from ..pq_encoder import FORMATS, RECORD_TYPES, encode, ptu_file

pqreader = pytest.importorskip("phconvert.pqreader")

SYNC_HZ = 80e6


def _events(fmt: str, rng: np.random.Generator, n: int = 5000):
    """Photons on four inputs, markers and (HydraHarp-family T2) syncs, with pauses of a few
    overflow periods."""
    spec = FORMATS[fmt]
    t2 = spec.mode == 2
    steps = rng.integers(0, 3000, n)
    jumps = rng.random(n) < 0.02
    steps[jumps] = rng.integers(1, 5, jumps.sum()) * spec.period
    time = np.cumsum(steps)
    kind = np.zeros(n, dtype=np.int64)
    if not spec.picoharp:  # phconvert 0.10.2 fails on PicoHarp files holding markers
        kind[rng.random(n) < 0.03] = 2
    if t2 and not spec.picoharp:
        kind[rng.random(n) < 0.1] = 1
    channel = np.where(kind == 2, rng.integers(1, 16, n), rng.integers(1, 5, n))
    dtime = None if t2 else rng.integers(0, 1 << (12 if spec.picoharp else 15), n)
    return time, kind, channel, dtime


@pytest.mark.parametrize("fmt", sorted(RECORD_TYPES))
def test_photons_equal_phconverts(tmp_path, fmt):
    spec = FORMATS[fmt]
    rng = np.random.default_rng(sorted(RECORD_TYPES).index(fmt) + 50)
    records, _ = encode(fmt, *_events(fmt, rng))
    res_s = (4e-12 if spec.picoharp else 5e-12) if spec.mode == 3 else 4e-12
    path = ptu_file(tmp_path / f"{fmt}.ptu", fmt, records, res_s, SYNC_HZ)

    times, dets, dtimes, _meta, marker_ids = pqreader.load_ptu(str(path))
    photon = ~np.isin(dets, marker_ids)
    theirs = [np.asarray(times)[photon].astype(np.int64), np.asarray(dets)[photon]]
    theirs.append(np.zeros(photon.sum(), np.int64) if dtimes is None else dtimes[photon])

    with open_run(path) as run:
        tags = run.read()
        unit = run.metadata.nanotime_unit_ps
        tick = run.header.get("MeasDesc_GlobalResolution") * 1e12
    photon = (tags.channels < 64) & ((tags.channels > 0) | spec.picoharp)
    nt = np.zeros(photon.sum(), np.int64) if tags.nanotimes is None else tags.nanotimes[photon]
    t = tags.timestamps[photon]
    if spec.mode == 3:
        t = t - np.rint(nt * unit).astype(np.int64)
    ours = [np.rint(t / tick).astype(np.int64), tags.channels[photon].astype(np.int64), nt]
    if not spec.picoharp:
        ours[1] -= 1  # phconvert numbers HydraHarp-family inputs from 0
    assert ours[0].size == theirs[0].size > 4000
    mine = np.lexsort(ours[::-1])
    other = np.lexsort(theirs[::-1])
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(a[mine], np.asarray(b, dtype=np.int64)[other])
