"""The default compression is one every HDF5 reader decodes with the library's own filters
(shuffle + deflate + Fletcher-32): plain h5py (no plug-in, no tagstream) and h5dump read the
default output of ``simulate``, ``run`` and ``replay``; chunks deflated outside HDF5 hold exactly
what was appended; the parallel reader of deflated files reads exactly what h5py reads."""

from __future__ import annotations

import itertools
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
import numpy as np
import pytest

import tagstream as ts
from tagstream.errors import CorruptFileError
from tagstream.kernels.byte_shuffle import shuffle_words, unshuffle_words
from tagstream.kernels.fletcher32 import fletcher32_bytes
from tagstream.sources.chunk_reader import InflatingReader, parallel_reader
from tagstream.sources.hdf5_checksum import fletcher32
from tagstream.store import layout
from tagstream.store.columns import STAGE_CHUNKS, ChunkedColumns
from tagstream.store.packing import DEFAULT_COMPRESSION, chunk_codec, filter_options

REPO = Path(__file__).resolve().parents[2]
TAG_DTYPES = (np.int64, np.uint8, np.uint16, np.uint32)

#: Run in a fresh interpreter: reads the tag arrays with nothing but h5py and prints them.
PLAIN_READ = textwrap.dedent(
    """
    import sys
    import h5py
    import numpy as np
    with h5py.File(sys.argv[1], "r") as f:
        pd = f["/photon_data"]
        arrays = {k: pd[k][:] for k in ("timestamps", "detectors", "nanotimes") if k in pd}
        filters = {k: sorted(pd[k]._filters) for k in arrays}
    assert not {"hdf5plugin", "tagstream", "blosc"} & set(sys.modules), sys.modules.keys()
    np.savez(sys.argv[2], **arrays)
    print(filters)
    """
)


def _cli(*args: str, cwd: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tagstream", *args], cwd=cwd, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


def _assert_plain_tools_read(path: Path, tmp_path: Path) -> None:
    """Plain h5py in another process, and h5dump where installed, read the committed tags."""
    saved = tmp_path / f"{path.stem}-plain.npz"
    done = subprocess.run(
        [sys.executable, "-c", PLAIN_READ, str(path), str(saved)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "shuffle" in done.stdout and "gzip" in done.stdout and "fletcher32" in done.stdout
    plain = np.load(saved)
    with ts.open(path) as run:
        tags = run.read()
        assert run.status == "complete"
    assert len(tags) > 1000
    np.testing.assert_array_equal(plain["timestamps"], tags.timestamps)
    np.testing.assert_array_equal(plain["detectors"], tags.channels)
    np.testing.assert_array_equal(plain["nanotimes"], tags.nanotimes)
    if shutil.which("h5dump"):
        dump = subprocess.run(
            ["h5dump", "-d", "/photon_data/nanotimes", "-c", "5", str(path)],
            capture_output=True,
            text=True,
        )
        assert dump.returncode == 0, dump.stderr
        values = dump.stdout.split("DATA {")[1].split("}")[0].split(":", 1)[1]
        assert [int(v) for v in values.replace(",", " ").split()] == list(tags.nanotimes[:5])


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> Path:
    where = tmp_path_factory.mktemp("default")
    _cli("simulate", "cspbi3-10nm", "--duration", "2s", "--seed", "3", "-o", "sim.h5", cwd=where)
    return where / "sim.h5"


def test_default_is_deflate():
    assert DEFAULT_COMPRESSION == "deflate"


def test_simulate_output_opens_in_plain_h5py_and_h5dump(simulated, tmp_path):
    _assert_plain_tools_read(simulated, tmp_path)


def test_replay_output_opens_in_plain_h5py_and_h5dump(simulated, tmp_path):
    out = tmp_path / "replayed.h5"
    _cli("replay", str(simulated), "--speed", "max", "-o", str(out), cwd=tmp_path)
    _assert_plain_tools_read(out, tmp_path)


def test_run_output_opens_in_plain_h5py_and_h5dump(tmp_path):
    config = REPO / "configs" / "run-cspbi3-10nm.toml"
    out = tmp_path / "live.h5"
    _cli("run", str(config), "--duration", "1s", "-o", str(out), cwd=tmp_path)
    _assert_plain_tools_read(out, tmp_path)


# ---------------------------------------------------------------------- direct chunk writes
def _values(rng: np.random.Generator, dtype, n: int) -> np.ndarray:
    if dtype is np.int64:  # timestamps: increasing, with the odd large jump
        return np.cumsum(rng.integers(0, 5000, n) * (rng.random(n) < 0.99) + 1).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, n, dtype=dtype, endpoint=True)


@pytest.mark.parametrize("seed", range(4))
def test_deflated_chunks_read_back_exactly(tmp_path, seed):
    """Appends of every size (empty, partial chunks, chunk boundaries, more than a stage) with
    flushes between them; h5py (HDF5's own filters) reads back every value."""
    rng = np.random.default_rng(seed)
    chunk = int(rng.choice([1, 5, 64, 1000]))
    capacity = chunk * STAGE_CHUNKS
    sizes = rng.choice([0, 1, chunk - 1, chunk, chunk + 1, capacity, 3 * capacity + 7], 30)
    total = int(sizes.sum())
    data = {f"a{k}": _values(rng, dtype, total) for k, dtype in enumerate(TAG_DTYPES)}
    path = tmp_path / "d.h5"
    with h5py.File(path, "w") as f:
        datasets = {
            name: layout.growing(f, name, v.dtype, chunk=chunk, compression="deflate")
            for name, v in data.items()
        }
        columns = ChunkedColumns(datasets, chunk_codec("deflate"))
        at = 0
        for n in sizes:
            columns.append({name: v[at : at + n] for name, v in data.items()})
            at += n
            if rng.random() < 0.4:
                columns.flush()
                for name, v in data.items():  # what is in the file so far
                    np.testing.assert_array_equal(datasets[name][:at], v[:at])
        columns.flush()
    with h5py.File(path, "r") as f:
        for name, v in data.items():
            ds = f[name]
            assert ds._filters.keys() == {"shuffle", "gzip", "fletcher32"}
            assert ds.shape == (total,)
            np.testing.assert_array_equal(ds[:], v)
            for k in range(ds.id.get_num_chunks()):  # stored as HDF5's filters store them
                assert ds.id.get_chunk_info(k).filter_mask == 0


def test_empty_arrays_stay_empty(tmp_path):
    with h5py.File(tmp_path / "e.h5", "w") as f:
        ds = layout.growing(f, "t", np.int64, chunk=16, compression="deflate")
        columns = ChunkedColumns({"t": ds}, chunk_codec("deflate"))
        columns.append({"t": np.zeros(0, np.int64)})
        columns.flush()
        assert ds.shape == (0,) and ds.id.get_num_chunks() == 0
        assert parallel_reader(ds)[:].size == 0


def test_the_deflate_filter_options_are_hdf5_builtins():
    options = filter_options("deflate", np.int64)
    assert options == {"compression": "gzip", "compression_opts": 1, "shuffle": True}


# ---------------------------------------------------------------------- kernels
@pytest.mark.parametrize("n", [0, 1, 2, 3, 4095, 4096 * 2 + 1, 100_003])
def test_fletcher32_kernel_equals_the_reference(rng, n):
    for data in (
        rng.integers(0, 256, n).astype(np.uint8),
        np.zeros(n, np.uint8),
        np.full(n, 255, np.uint8),
    ):
        assert int(fletcher32_bytes(data)) == fletcher32(data.tobytes())


@pytest.mark.parametrize("dtype", [np.uint16, np.uint32, np.uint64])
@pytest.mark.parametrize("n", [0, 1, 7, 1000])
def test_byte_shuffle_kernels_equal_the_reference(rng, dtype, n):
    values = rng.integers(0, np.iinfo(dtype).max, n, dtype=dtype, endpoint=True)
    size = values.itemsize
    reference = values.view(np.uint8).reshape(n, size).T.reshape(-1)  # byte j of every value
    planes = np.empty(n * size, np.uint8)
    shuffle_words(values, planes)
    np.testing.assert_array_equal(planes, reference)
    back = np.empty_like(values)
    unshuffle_words(reference, back)
    np.testing.assert_array_equal(back, values)


# ---------------------------------------------------------------------- parallel reading
def _slices_equal(ds: h5py.Dataset, reader) -> None:
    n = ds.shape[0]
    full = ds[:]
    np.testing.assert_array_equal(reader[:], full)
    edges = sorted({0, n, *np.random.default_rng(n).integers(0, n + 1, 12).tolist()})
    pieces = [reader[a:b] for a, b in itertools.pairwise(edges)]
    np.testing.assert_array_equal(np.concatenate(pieces), full)
    np.testing.assert_array_equal(reader[-3:], full[-3:])
    np.testing.assert_array_equal(reader[n // 2 : n // 2 + 1], full[n // 2 : n // 2 + 1])
    assert reader[5:5].size == 0


@pytest.mark.parametrize("level", [1, 4, 6, 9])
@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("fletcher", [True, False])
def test_parallel_reader_equals_h5py_on_gzip_files(tmp_path, rng, level, shuffle, fletcher):
    n = 50_001
    path = tmp_path / "g.h5"
    with h5py.File(path, "w") as f:
        for k, dtype in enumerate(TAG_DTYPES):
            f.create_dataset(
                f"a{k}",
                data=_values(rng, dtype, n),
                chunks=(4096,),
                compression="gzip",
                compression_opts=level,
                shuffle=shuffle,
                fletcher32=fletcher,
            )
    with h5py.File(path, "r") as f:
        for k in range(len(TAG_DTYPES)):
            reader = parallel_reader(f[f"a{k}"])
            assert isinstance(reader, InflatingReader)
            _slices_equal(f[f"a{k}"], reader)


def test_other_filters_are_read_by_h5py(tmp_path, rng):
    with h5py.File(tmp_path / "o.h5", "w") as f:
        lzf = f.create_dataset("lzf", data=np.arange(100), chunks=(10,), compression="lzf")
        plain = f.create_dataset("plain", data=np.arange(100))
        big = f.create_dataset(
            "big", data=np.arange(100, dtype=">i8"), chunks=(10,), compression="gzip"
        )
        for ds in (lzf, plain, big):
            assert parallel_reader(ds) is ds


def test_parallel_reader_on_phconvert_files(tmp_path, rng):
    """phconvert (PyTables) writes zlib level 6 with shuffling and its own chunk sizes."""
    phc_hdf5 = pytest.importorskip("phconvert.hdf5")
    n = 300_000
    t = np.cumsum(rng.integers(1, 2000, n)).astype(np.int64)
    det = rng.integers(0, 2, n).astype(np.uint8)
    nano = rng.integers(0, 3125, n).astype(np.uint16)
    data = {
        "description": "parallel reader test",
        "acquisition_duration": 1.0,
        "photon_data": {
            "timestamps": t,
            "detectors": det,
            "nanotimes": nano,
            "timestamps_specs": {"timestamps_unit": 1e-12},
            "nanotimes_specs": {
                "tcspc_unit": 4e-12,
                "tcspc_num_bins": 3125,
                "tcspc_range": 12.5e-9,
            },
            "measurement_specs": {
                "measurement_type": "generic",
                "laser_repetition_rate": 80e6,
                "detectors_specs": {},
            },
        },
        "setup": {
            "num_pixels": 2,
            "num_spots": 1,
            "num_spectral_ch": 1,
            "num_polarization_ch": 1,
            "num_split_ch": 1,
            "modulated_excitation": False,
            "lifetime": True,
            "excitation_alternated": [False],
            "excitation_cw": [False],
            "laser_repetition_rates": [80e6],
            "detectors": {"id": np.array([0, 1], np.uint8)},
        },
        "identity": {"author": "tester", "author_affiliation": "lab"},
    }
    path = tmp_path / "phc.h5"
    phc_hdf5.save_photon_hdf5(data, h5_fname=str(path), overwrite=True, warnings=False)
    with h5py.File(path, "r") as f:
        for name in ("timestamps", "detectors", "nanotimes"):
            ds = f[f"/photon_data/{name}"]
            assert "gzip" in ds._filters
            reader = parallel_reader(ds)
            assert isinstance(reader, InflatingReader)
            _slices_equal(ds, reader)
    with ts.open(path) as run:
        tags = run.read()
    np.testing.assert_array_equal(tags.timestamps, t)
    np.testing.assert_array_equal(tags.channels, det)
    np.testing.assert_array_equal(tags.nanotimes, nano)


def test_a_damaged_deflated_chunk_is_a_one_line_error(simulated, tmp_path):
    """The checksum the reader verifies sends the chunk to HDF5, which refuses it: the same
    one-line error naming the array and the chunk's byte offset as before."""
    path = tmp_path / "damaged.h5"
    shutil.copyfile(simulated, path)
    with h5py.File(path, "r") as f:
        info = f["/photon_data/timestamps"].id.get_chunk_info(1)
    with open(path, "r+b") as fh:
        fh.seek(info.byte_offset + 10)
        byte = fh.read(1)
        fh.seek(-1, 1)
        fh.write(bytes([byte[0] ^ 0x55]))
    with pytest.raises(CorruptFileError) as caught:
        with ts.open(path) as run:
            run.read()
    message = str(caught.value)
    assert "\n" not in message
    assert f"/photon_data/timestamps: the chunk at byte offset {info.byte_offset}" in message
