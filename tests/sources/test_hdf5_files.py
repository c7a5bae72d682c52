"""Run files: the Photon-HDF5 writer, the reader (ours and other software's), open_run errors."""

import itertools
import warnings

import h5py
import numpy as np
import pytest
import tables
from phconvert import hdf5 as phc_hdf5

from tagstream.errors import (
    BatchError,
    CorruptFileError,
    MissingFileError,
    NotPhotonHDF5Error,
    OutputExistsError,
    RunFileError,
    TagstreamError,
    UnsupportedFormatError,
)
from tagstream.formats.timeline import StateTimeline
from tagstream.sources.files import open_run
from tagstream.sources.hdf5_clock import SEARCH_BLOCK
from tagstream.sources.hdf5_file import HDF5Run
from tagstream.store.packing import COMPRESSED_CHUNK_TAGS
from tagstream.store.run_writer import write_run
from tagstream.tags import Channel, ChannelMap, Role, RunMetadata, TagBatch
from tagstream.tags.units import to_ps

PERIOD = 12_500  # ps, an 80 MHz laser
UNIT = 4  # ps, T3 nanotime unit
EDGES = [0, 1_000_000, 1_700_000, 1_700_000, 3_000_000, 5_000_000]  # one empty batch
HOLE = (3_000_000, 3_200_000)  # time between two batches: a gap
OPTIONAL_FIELDS = (
    "excitation_wavelengths",
    "detection_wavelengths",
    "author",
    "author_affiliation",
)


# ---------------------------------------------------------------------- test runs
def _metadata(mode):
    channels = ChannelMap(
        [
            Channel(0, "laser", Role.SYNC),
            Channel(1, "A"),
            Channel(2, "B"),
            Channel(7, "stage", Role.MARKER),
        ]
    )
    return RunMetadata(
        "simulator",
        channels,
        mode=mode,
        sync_period_ps=PERIOD,
        nanotime_unit_ps=UNIT if mode == "T3" else None,
        hbt_pair=("A", "B"),
        settings={"seed": 3, "preset": "cspbi3-10nm"},
    )


def _tags(rng, a, b, mode):
    """Sync ticks (T2 only), Poisson photons on A and B, and one marker."""
    photons = np.sort(rng.integers(a, b, rng.poisson(60 * (b - a) / 1e6)))
    parts = [(photons, rng.integers(1, 3, photons.size))]
    if mode == "T2":
        sync = np.arange(-(-a // PERIOD) * PERIOD, b, PERIOD)
        parts.append((sync, np.zeros(sync.size, int)))
    if b - a > 0:
        parts.append((np.array([a + (b - a) // 3]), np.array([7])))
    t = np.concatenate([p[0] for p in parts]).astype(np.int64)
    ch = np.concatenate([p[1] for p in parts]).astype(np.uint8)
    order = np.argsort(t, kind="stable")
    return t[order], ch[order]


def _batches(rng, mode):
    out = []
    for a, b in itertools.pairwise(EDGES):
        if a == HOLE[0]:
            a = HOLE[1]
        t, ch = _tags(rng, a, b, mode)
        gaps = None
        if a == 0:  # data lost inside the first batch
            gaps = [[400_000, 450_000]]
            keep = (t < 400_000) | (t >= 450_000)
            t, ch = t[keep], ch[keep]
        if b == EDGES[-1]:  # a gap that ends the batch
            gaps = [[4_900_000, b]]
            keep = t < 4_900_000
            t, ch = t[keep], ch[keep]
        nt = None if mode == "T2" else (t % PERIOD // UNIT).astype(np.int32)
        out.append(
            TagBatch(
                t,
                ch,
                a,
                b,
                nanotimes=nt,
                nanotime_unit_ps=UNIT if nt is not None else None,
                gaps=gaps,
            )
        )
    return out


TRUTH = StateTimeline(
    names=("on", "grey", "off"),
    starts=np.array([0, 1_200_000, 2_600_000, 4_000_000], dtype=np.int64),
    states=np.array([0, 1, 2, 0], dtype=np.int8),
    end=5_000_000,
)


@pytest.fixture(params=["T2", "T3"])
def recorded(request, tmp_path, rng):
    """A run written to a file: (path, metadata, its batches, the progress calls)."""
    mode = request.param
    batches = _batches(rng, mode)
    metadata = _metadata(mode)
    calls = []
    path = write_run(
        tmp_path / f"run_{mode}.h5",
        iter(batches),
        metadata,
        truth=TRUTH,
        config_text="[source]\npreset = 'cspbi3-10nm'\n",
        progress=calls.append,
    )
    return path, metadata, batches, calls


def _assert_same_tags(got, want):
    np.testing.assert_array_equal(got.timestamps, want.timestamps)
    np.testing.assert_array_equal(got.channels, want.channels)
    if want.nanotimes is None:
        assert got.nanotimes is None
    else:
        np.testing.assert_array_equal(got.nanotimes, want.nanotimes)
    np.testing.assert_array_equal(got.gaps, want.gaps)
    assert (got.t_begin, got.t_end) == (want.t_begin, want.t_end)


# ---------------------------------------------------------------------- our files
def test_round_trip(recorded):
    path, metadata, batches, calls = recorded
    assert calls == [b.t_end for b in batches]
    whole = TagBatch.concat(batches)
    np.testing.assert_array_equal(
        whole.gaps, [[400_000, 450_000], list(HOLE), [4_900_000, 5_000_000]]
    )
    with open_run(path) as run:
        assert isinstance(run, HDF5Run)
        assert run.metadata.to_dict() == metadata.to_dict()
        assert run.duration_ps == 5_000_000 and run.num_tags == len(whole)
        np.testing.assert_array_equal(run.gaps, whole.gaps)
        tags = run.read()
        _assert_same_tags(tags, whole)
        assert tags.nanotime_unit_ps == (UNIT if metadata.mode == "T3" else None)
        assert tags.sync_period_ps == PERIOD
        truth = run.truth
        assert truth.names == TRUTH.names and truth.end == TRUTH.end
        np.testing.assert_array_equal(truth.starts, TRUTH.starts)
        np.testing.assert_array_equal(truth.states, TRUTH.states)
    with h5py.File(path) as f:
        assert f["/user/tagstream/config"][()].decode() == "[source]\npreset = 'cspbi3-10nm'\n"
        committed = f["/user/tagstream/committed"]
        assert [v.decode() for v in committed.attrs["fields"]] == [
            "tags",
            "gaps",
            "t_begin_ps",
            "t_end_ps",
        ]
        np.testing.assert_array_equal(committed[()], [len(whole), 3, 0, 5_000_000])
        assert f["/user/tagstream/status"][()] == b"complete"
        assert f["/acquisition_duration"][()] == 5e-6
        np.testing.assert_array_equal(
            f["/setup/detectors/counts"][()], [np.sum(whole.channels == c) for c in (0, 1, 2, 7)]
        )
        assert f["/photon_data/timestamps"].dtype == np.int64
        assert f["/photon_data/timestamps"].maxshape == (None,)


@pytest.mark.parametrize("duration", [3_001, 99_999, "1 ms", "10 s"])
def test_any_batch_duration_gives_the_same_data(recorded, duration):
    path, _, batches, _ = recorded
    whole = TagBatch.concat(batches)
    with open_run(path) as run:
        parts = list(run.batches(duration))
    assert parts[0].t_begin == 0 and parts[-1].t_end == 5_000_000
    for prev, nxt in itertools.pairwise(parts):
        assert prev.t_end == nxt.t_begin
    for part in parts:
        assert all(part.t_begin <= a < b <= part.t_end for a, b in part.gaps)
    _assert_same_tags(TagBatch.concat(parts), whole)


def test_phconvert_validates_our_files(recorded):
    path, metadata, _, _ = recorded
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        h5 = phc_hdf5.load_photon_hdf5(str(path), require_rootformat=True)
    try:
        root = h5.root
        assert root._v_attrs.format_name == b"Photon-HDF5"
        assert root.photon_data.measurement_specs.measurement_type.read() == b"generic"
        assert list(root.setup.detectors.label.read()) == [b"sync", b"A", b"B", b"stage"]
        specs = root.photon_data.measurement_specs.detectors_specs
        assert (specs.split_ch1.read()[0], specs.split_ch2.read()[0]) == (1, 2)
        assert list(specs.non_photon_id1.read()) == [0, 7]
        assert root.identity.software.read() == b"tagstream"
        assert root.setup.laser_repetition_rates.read()[0] == pytest.approx(80e6)
        assert root.setup.lifetime.read() == (metadata.mode == "T3")
        if metadata.mode == "T3":
            assert root.photon_data.nanotimes_specs.tcspc_unit.read() == pytest.approx(4e-12)
            assert root.photon_data.nanotimes_specs.tcspc_num_bins.read() == PERIOD // UNIT
    finally:
        h5.close()
    missing = {str(w.message).split('"')[1] for w in caught}
    assert missing <= set(OPTIONAL_FIELDS), [str(w.message) for w in caught]


def test_existing_file_is_kept_without_force(tmp_path, rng):
    path = tmp_path / "run.h5"
    path.write_bytes(b"precious")
    with pytest.raises(OutputExistsError, match="file exists; use --force to overwrite it") as info:
        write_run(path, _batches(rng, "T2"), _metadata("T2"))
    assert str(path) in str(info.value)
    assert path.read_bytes() == b"precious"
    write_run(path, _batches(rng, "T2"), _metadata("T2"), force=True)
    with open_run(path) as run:
        assert run.num_tags > 0
    assert [p.name for p in tmp_path.iterdir()] == ["run.h5"]


def test_interrupted_write_keeps_what_was_written(tmp_path, rng):
    def failing(batches):
        yield batches[0]
        yield batches[1]
        raise KeyboardInterrupt

    path = tmp_path / "run.h5"
    path.write_bytes(b"old run")
    batches = _batches(rng, "T2")
    with pytest.raises(KeyboardInterrupt):
        write_run(path, failing(batches), _metadata("T2"), force=True)
    with open_run(path) as run:
        assert run.status == "stopped: interrupted"
        _assert_same_tags(run.read(), TagBatch.concat(batches[:2]))
    assert [p.name for p in tmp_path.iterdir()] == ["run.h5"]


def test_writer_refuses_batches_that_do_not_fit(tmp_path, rng):
    metadata = _metadata("T2")
    good = TagBatch([5], [1], 0, 100)
    cases = {
        "overlap": ([good, TagBatch([50], [1], 50, 200)], "before the previous one ended"),
        "channel": ([good, TagBatch([150], [9], 100, 200)], "channel 9"),
        "mode": ([good, _batches(rng, "T3")[-1]], "T3 batch in a T2 run"),
    }
    for name, (batches, message) in cases.items():
        path = tmp_path / f"{name}.h5"
        with pytest.raises(BatchError, match=message):
            write_run(path, batches, metadata)
        with open_run(path) as run:  # the batch before the bad one is kept
            assert run.status.startswith("stopped: BatchError")
            _assert_same_tags(run.read(), good)


def test_missing_folder(tmp_path, rng):
    path = tmp_path / "nowhere" / "run.h5"
    with pytest.raises(RunFileError, match="does not exist"):
        write_run(path, _batches(rng, "T2"), _metadata("T2"))


# ---------------------------------------------------------------------- other software's files
def _phconvert_file(path, photon_data, setup_extra, detectors):
    """Save a minimal valid Photon-HDF5 file with phconvert's own writer."""
    ids = np.asarray(detectors["id"], dtype=np.uint8)
    setup = {
        "num_pixels": len(ids),
        "num_spots": 1,
        "num_spectral_ch": 1,
        "num_polarization_ch": 1,
        "num_split_ch": 1,
        "modulated_excitation": False,
        "lifetime": False,
        "excitation_alternated": [False],
        "excitation_cw": [True],
        "detectors": detectors,
    }
    setup.update(setup_extra)
    data = {
        "description": "test data saved by phconvert",
        "acquisition_duration": 0.001,
        "photon_data": photon_data,
        "setup": setup,
        "identity": {"author": "tester", "author_affiliation": "lab"},
    }
    phc_hdf5.save_photon_hdf5(data, h5_fname=str(path), overwrite=True, warnings=False)
    return path


def test_phconvert_t2_file_with_labels(tmp_path, rng):
    n = 3000
    raw = np.sort(rng.integers(0, 250_000_000, n)).astype(np.int64)  # 4 ps units, up to 1 ms
    det = rng.choice(np.array([0, 2, 5], dtype=np.uint8), n)
    photon_data = {
        "timestamps": raw,
        "detectors": det,
        "timestamps_specs": {"timestamps_unit": 4e-12},
        "measurement_specs": {
            "measurement_type": "generic",
            "laser_repetition_rate": 80e6,
            "detectors_specs": {
                "split_ch1": np.array([2], np.uint8),
                "split_ch2": np.array([5], np.uint8),
                "non_photon_id1": np.array([0], np.uint8),
            },
        },
    }
    setup = {
        "num_pixels": 2,
        "num_split_ch": 2,
        "excitation_cw": [False],
        "laser_repetition_rates": [80e6],
    }
    labels = np.array([b"sync", b"APD 1", b"APD 2"])
    path = _phconvert_file(
        tmp_path / "pq.h5", photon_data, setup, {"id": [0, 2, 5], "label": labels}
    )
    with open_run(path) as run:
        md = run.metadata
        assert md.mode == "T2" and md.hbt_pair == ("APD 1", "APD 2")
        assert [(c.number, c.name, c.role) for c in md.channels] == [
            (0, "sync", Role.SYNC),
            (2, "APD 1", Role.DETECTOR),
            (5, "APD 2", Role.DETECTOR),
        ]
        assert md.sync_period_ps == pytest.approx(PERIOD) and md.resolution_ps == pytest.approx(4)
        assert md.settings["software"] == "phconvert"
        assert (run.t_begin, run.t_end) == (0, 10**9)  # acquisition_duration 1 ms
        tags = run.read()
        tags_small = TagBatch.concat(list(run.batches("7 us")))
    np.testing.assert_array_equal(tags.timestamps, raw * 4)
    np.testing.assert_array_equal(tags.channels, det)
    _assert_same_tags(tags_small, tags)


def test_phconvert_t3_file_counting_syncs(tmp_path, rng):
    """Timestamps count syncs: absolute time = macrotime * period + nanotime * tcspc_unit, and
    tags of one sync period are put in time order."""
    n = 4000
    macro = np.sort(rng.integers(0, 80_000, n)).astype(np.int64)  # 1 ms of 12.5 ns periods
    nano = rng.integers(0, 3125, n).astype(np.uint16)
    det = rng.choice(np.array([1, 3, 4], dtype=np.uint8), n)
    photon_data = {
        "timestamps": macro,
        "detectors": det,
        "nanotimes": nano,
        "timestamps_specs": {"timestamps_unit": 12.5e-9},
        "nanotimes_specs": {"tcspc_unit": 4e-12, "tcspc_num_bins": 3125, "tcspc_range": 12.5e-9},
        "measurement_specs": {
            "measurement_type": "generic",
            "laser_repetition_rate": 80e6,
            "detectors_specs": {},
        },
    }
    setup = {"lifetime": True, "excitation_cw": [False], "laser_repetition_rates": [80e6]}
    labels = np.array([b"donor", b"A", b"B"])
    path = _phconvert_file(
        tmp_path / "t3.h5", photon_data, setup, {"id": [1, 3, 4], "label": labels}
    )
    absolute = macro * PERIOD + nano.astype(np.int64) * UNIT
    order = np.argsort(absolute, kind="stable")
    assert np.any(np.diff(absolute) < 0)  # the stored order is not the time order
    with open_run(path) as run:
        md = run.metadata
        assert md.mode == "T3" and md.hbt_pair is None
        assert md.nanotime_unit_ps == pytest.approx(UNIT) and md.sync_period_ps == pytest.approx(
            PERIOD
        )
        assert [c.name for c in md.channels] == ["donor", "A", "B"]
        whole = run.read()
        for duration in (77_777, "100 us"):
            _assert_same_tags(TagBatch.concat(list(run.batches(duration))), whole)
    np.testing.assert_array_equal(whole.timestamps, absolute[order])
    np.testing.assert_array_equal(whole.channels, det[order])
    np.testing.assert_array_equal(whole.nanotimes, nano[order])
    assert whole.t_end > absolute.max()


@pytest.mark.parametrize("rate_hz", [80e6, 160e6, None])
def test_sync_found_by_periodicity_without_labels(tmp_path, rng, rate_hz):
    """A strictly periodic channel is the sync (at a whole multiple of the laser period when the
    file has a laser rate: the sync may be divided down); photons of a pulsed detector are not
    periodic enough."""
    n = 2000
    sync = np.arange(n) * PERIOD + rng.integers(-2, 3, n)  # 2 ps jitter
    laser = PERIOD if rate_hz is None else round(1e12 / rate_hz)
    pulses = np.sort(rng.choice(np.arange(n * PERIOD // laser) * laser, 300, replace=False))
    pulsed = pulses + rng.integers(0, 200, 300)
    cw = np.sort(rng.integers(0, n * PERIOD, 300))
    t = np.concatenate([sync, pulsed, cw])
    ch = np.concatenate([np.full(n, 6), np.full(300, 1), np.full(300, 2)]).astype(np.uint8)
    order = np.argsort(t, kind="stable")
    photon_data = {
        "timestamps": t[order].astype(np.int64),
        "detectors": ch[order],
        "timestamps_specs": {"timestamps_unit": 1e-12},
        "measurement_specs": {"measurement_type": "generic", "detectors_specs": {}},
    }
    setup = {}
    if rate_hz is not None:
        photon_data["measurement_specs"]["laser_repetition_rate"] = rate_hz
        setup = {"excitation_cw": [False], "laser_repetition_rates": [rate_hz]}
    path = _phconvert_file(tmp_path / "nolabels.h5", photon_data, setup, {"id": [1, 2, 6]})
    with open_run(path) as run:
        md = run.metadata
        assert run.warnings == []
    assert [(c.number, c.name, c.role) for c in md.channels] == [
        (1, "ch1", Role.DETECTOR),
        (2, "ch2", Role.DETECTOR),
        (6, "sync", Role.SYNC),
    ]
    assert md.sync_period_ps == pytest.approx(PERIOD, abs=0.1)
    # the laser period: the file's, confirmed by the photons (found from them without a rate)
    assert md.laser_period_ps == pytest.approx(laser, abs=0.1)


@pytest.mark.parametrize(
    ("compression", "filter_id"),
    [("none", None), ("blosc", "32001"), ("lzf", "lzf"), ("gzip", "gzip")],
)
def test_every_compression_reads_back(tmp_path, rng, compression, filter_id):
    batches = _batches(rng, "T3")
    path = write_run(tmp_path / "packed.h5", batches, _metadata("T3"), compression=compression)
    with h5py.File(path) as f:
        for name in ("timestamps", "detectors", "nanotimes"):
            filters = f[f"/photon_data/{name}"]._filters
            assert "fletcher32" in filters  # and nothing else without compression
            assert (filter_id in filters) if filter_id else set(filters) == {"fletcher32"}
    with open_run(path) as run:
        _assert_same_tags(run.read(), TagBatch.concat(batches))


def test_pytables_decodes_the_blosc_chunks_we_write(tmp_path, rng):
    """Our Blosc chunks are compressed outside HDF5 and written directly: PyTables (phconvert's
    reader, with its own Blosc filter) must decode them, the last partial chunk included."""
    n = 3 * COMPRESSED_CHUNK_TAGS + 123
    t = np.cumsum(rng.integers(1, 500, n))
    nt = rng.integers(0, PERIOD // UNIT, n).astype(np.uint16)
    channels = rng.integers(1, 3, n).astype(np.uint8)
    whole = TagBatch(t, channels, 0, int(t[-1]) + 1, nanotimes=nt, nanotime_unit_ps=UNIT)
    batches = whole.split_at(t[[5000, 20000, 20001]])
    path = write_run(tmp_path / "packed.h5", batches, _metadata("T3"), compression="blosc")
    with tables.open_file(str(path)) as f:
        pd = f.root.photon_data
        np.testing.assert_array_equal(pd.timestamps.read(), whole.timestamps)
        np.testing.assert_array_equal(pd.detectors.read(), whole.channels)
        np.testing.assert_array_equal(pd.nanotimes.read(), whole.nanotimes)


def test_unknown_compression_is_refused(tmp_path, rng):
    with pytest.raises(TagstreamError, match="compression 'zip': choose one of none, blosc"):
        write_run(tmp_path / "x.h5", _batches(rng, "T2"), _metadata("T2"), compression="zip")
    assert not (tmp_path / "x.h5").exists()


def test_timestamp_units_round_to_the_nearest_picosecond():
    raw = np.array([0, 1, 2, 3, 5, 10**15 + 1], dtype=np.int64)
    np.testing.assert_array_equal(to_ps(raw, 4.000000000000001), raw * 4)
    np.testing.assert_array_equal(to_ps(raw[:5], 2.5), [0, 2, 5, 8, 12])  # ties to even
    assert to_ps(raw, 2.5)[-1] == 25 * 10**14 + 2  # no precision lost in long runs


# ---------------------------------------------------------------------- errors
def _one_line_naming(exc, path):
    message = str(exc)
    assert isinstance(exc, TagstreamError)
    assert "\n" not in message and str(path) in message
    return message


def test_open_run_errors(tmp_path, recorded):
    good = recorded[0]
    cases = []
    cases.append((tmp_path / "absent.h5", MissingFileError, "no such file"))
    cases.append((tmp_path, MissingFileError, "is a folder"))
    text = tmp_path / "notes.txt"
    text.write_text("not tags\n")
    cases.append((text, UnsupportedFormatError, "unknown file format"))
    ptu = tmp_path / "dot.ptu"
    ptu.write_bytes(b"PQTTTR\x00\x001.0.00\x00\x00" + bytes(64))
    cases.append((ptu, CorruptFileError, "header tag without a name at byte offset 16"))
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    cases.append((truncated, CorruptFileError, "cut short: it ends at byte offset"))
    for path, kind, text_ in cases:
        with pytest.raises(kind, match=text_) as info:
            open_run(path)
        _one_line_naming(info.value, path)


def test_hdf5_that_is_not_photon_hdf5_names_the_missing_field(tmp_path):
    plain = tmp_path / "plain.h5"
    with h5py.File(plain, "w") as f:
        f["counts"] = np.arange(5)
    no_unit = tmp_path / "no_unit.h5"
    with h5py.File(no_unit, "w") as f:
        f["photon_data/timestamps"] = np.arange(5, dtype=np.int64)
    for path, field in (
        (plain, "/photon_data"),
        (no_unit, "/photon_data/timestamps_specs/timestamps_unit"),
    ):
        with pytest.raises(NotPhotonHDF5Error) as info:
            open_run(path)
        assert info.value.field == field
        assert _one_line_naming(info.value, path).endswith(f"missing field {field}")


def test_closed_run_refuses_to_read(recorded):
    run = open_run(recorded[0])
    run.close()
    with pytest.raises(TagstreamError, match="closed"):
        next(run.batches())


def test_batches_read_only_their_own_slice_of_the_file(tmp_path, monkeypatch):
    """A run far larger than one batch is read piece by piece: no read returns much more than
    the tags of one batch (plus a binary-search block)."""
    n = 400_000
    t = np.arange(n, dtype=np.int64) * 1000  # 1 tag per ns: a batch of 10 us holds 10 000
    batch = TagBatch(t, (t // 1000 % 2 + 1).astype(np.uint8), 0, n * 1000)
    path = write_run(tmp_path / "big.h5", [batch], _metadata("T2"), compression="blosc")
    sizes = []
    original = h5py.Dataset.__getitem__

    def counting(self, key):
        out = original(self, key)
        if self.name.startswith("/photon_data/"):
            sizes.append(np.size(out))
        return out

    monkeypatch.setattr(h5py.Dataset, "__getitem__", counting)
    with open_run(path) as run:
        total = sum(len(b) for b in run.batches("10 us"))
    assert total == n
    assert max(sizes) <= 10_000 + SEARCH_BLOCK, max(sizes)
