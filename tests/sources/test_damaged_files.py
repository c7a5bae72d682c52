"""Run files carry checksums, and a damaged file is reported in one line, never analysed and
never a traceback."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import h5py
import numpy as np
import pytest

import tagstream as ts
from tagstream.cli import main
from tagstream.errors import CorruptFileError
from tagstream.sources.hdf5_checksum import fletcher32, with_checksum
from tagstream.store.packing import COMPRESSIONS


def _edge_cases(rng: np.random.Generator) -> list[bytes]:
    random = [rng.bytes(int(rng.integers(1, 4000))) for _ in range(60)]
    return [
        *random,
        b"\x01",
        b"\x00" * 9 + b"\x01",
        b"\xff",
        b"\xff" * 130,  # sums that are multiples of 65535
        b"\xff" * 131_073,
        b"\xff\xfe" * 70_000,
        b"\x00\x01" * 3_000_001,  # more words than one summing pass
    ]


def test_fletcher32_is_what_hdf5_stores(rng, tmp_path):
    """Against the HDF5 library's own filter: the last four bytes of each stored chunk."""
    with h5py.File(tmp_path / "f.h5", "w") as f:
        for k, data in enumerate(_edge_cases(rng)):
            values = np.frombuffer(data, np.uint8)
            ds = f.create_dataset(str(k), data=values, chunks=(values.size,), fletcher32=True)
            stored = ds.id.read_direct_chunk((0,))[1]
            assert stored == with_checksum(stored[:-4]), k
    assert fletcher32(b"") == 0 and fletcher32(b"\x00" * 7) == 0


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("checksums")
    out = {}
    for compression in COMPRESSIONS:
        path = folder / f"{compression}.h5"
        args = ["simulate", "cspbi3-10nm", "--duration", "0.5s", "-o", str(path)]
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            assert main([*args, "--compression", compression]) == 0
        out[compression] = path
    return out


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_every_growing_dataset_of_a_run_file_carries_a_checksum(recorded, compression):
    growing = []
    with h5py.File(recorded[compression], "r") as f:

        def check(name: str, node: object) -> None:
            if isinstance(node, h5py.Dataset) and node.maxshape and node.maxshape[0] is None:
                growing.append(name)
                assert node.fletcher32, name

        f.visititems(check)
    assert "photon_data/timestamps" in growing and len(growing) > 10
    with ts.open(recorded[compression]) as run:
        assert run.read().timestamps.size > 1000  # and they read back


def _flip(path: Path, dataset: str, tmp_path: Path) -> tuple[Path, int]:
    """A copy of ``path`` with one byte of the first chunk of ``dataset`` changed; the
    chunk's byte offset."""
    with h5py.File(path, "r") as f:
        info = f[dataset].id.get_chunk_info(0)
    data = bytearray(path.read_bytes())
    data[info.byte_offset + info.size // 2] ^= 0x04
    out = tmp_path / f"damaged-{path.name}"
    out.write_bytes(bytes(data))
    return out, int(info.byte_offset)


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_a_damaged_tag_chunk_is_reported_with_its_byte_offset(
    recorded, compression, tmp_path, capsys
):
    damaged, offset = _flip(recorded[compression], "photon_data/timestamps", tmp_path)
    expected = f"/photon_data/timestamps: the chunk at byte offset {offset} fails its checksum"
    for verb in ("info", "analyze", "replay"):
        args = [verb, str(damaged)]
        if verb == "replay":
            args += ["-o", str(tmp_path / "replayed.h5")]
        assert main(args) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and expected in err[0], verb
    with pytest.raises(CorruptFileError, match="fails its checksum"), ts.open(damaged) as run:
        run.read()


def test_a_damaged_results_chunk_is_reported(recorded, tmp_path):
    damaged, offset = _flip(recorded["gzip"], "user/tagstream/results/g2/counts", tmp_path)
    with pytest.raises(CorruptFileError, match=f"byte offset {offset} fails its checksum"):
        ts.results(damaged)


def test_two_hundred_mutants_never_give_a_traceback(recorded, tmp_path):
    """Bytes overwritten anywhere (header, metadata, chunks): ``info`` and ``analyze`` answer
    with a result or a one-line error (exit 2), never anything else."""
    rng = np.random.default_rng(2026)
    original = recorded["blosc"].read_bytes()
    path = tmp_path / "mutant.h5"
    outcomes = {0: 0, 2: 0}
    for _ in range(200):
        data = bytearray(original)
        for _ in range(int(rng.integers(1, 8))):
            at = int(rng.integers(0, len(data)))
            piece = data[at : at + int(rng.integers(1, 16))]
            data[at : at + len(piece)] = rng.bytes(len(piece))
        path.write_bytes(bytes(data))
        verbs = ["info"] if rng.random() < 0.7 else ["info", "analyze"]  # analyze costs more
        for verb in verbs:
            err = io.StringIO()
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
                code = main([verb, str(path)])
            assert code in outcomes, (verb, code, err.getvalue())
            if code == 2:  # one line of error (after the progress bar's lines)
                said = [x for x in err.getvalue().splitlines() if x.startswith("tagstream")]
                assert len(said) == 1 and said[0].startswith(f"tagstream {verb}: error: ")
            outcomes[code] += 1
    assert outcomes[2] > 20  # damage is found, not read as data


def test_an_incomplete_run_file_is_said_to_be_incomplete(tmp_path, capsys):
    path = tmp_path / "run.h5"
    assert main(["simulate", "cspbi3-10nm", "--duration", "0.3s", "-o", str(path)]) == 0
    with h5py.File(path, "r+") as f:  # as a writer killed before it could say more leaves it
        del f["user/tagstream/status"]
        f["user/tagstream/status"] = np.bytes_(b"recording")
    capsys.readouterr()
    summary = tmp_path / "s.json"
    assert main(["analyze", str(path), "--json", str(summary)]) == 0
    assert "the run file is not complete (status 'recording')" in capsys.readouterr().err
    warnings = json.loads(summary.read_text())["warnings"]
    assert any("not complete" in w for w in warnings)


def test_a_summary_that_cannot_be_written_leaves_nothing_behind(tmp_path, capsys, monkeypatch):
    path = tmp_path / "run.h5"
    assert main(["simulate", "cspbi3-10nm", "--duration", "0.3s", "-o", str(path)]) == 0

    def full(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_text", full)
    capsys.readouterr()
    out = tmp_path / "s.json"
    assert main(["analyze", str(path), "--json", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    said = f"tagstream analyze: error: {out}: cannot write the JSON (No space left on device)"
    assert err[-1] == said and not any(x.startswith("Traceback") for x in err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.h5"]


@pytest.mark.parametrize(
    "dataset, says",
    [
        ("user/tagstream/metadata", "/user/tagstream/metadata fails its checksum"),
        ("user/tagstream/committed", "/user/tagstream/committed: the chunk at byte offset"),
    ],
)
def test_damaged_metadata_or_commit_record_is_reported_not_read(
    recorded, tmp_path, capsys, dataset, says
):
    """The metadata (units, periods: a changed digit changes every lifetime) and the record of
    what was committed (how many tags to read) carry checksums too."""
    source = recorded["blosc"]
    with h5py.File(source, "r") as f:
        ds = f[dataset]
        if ds.chunks:
            info = ds.id.get_chunk_info(0)
            offset, size = info.byte_offset, info.size - 4
        else:
            offset, size = ds.id.get_offset(), ds.id.get_storage_size()
    data = bytearray(source.read_bytes())
    data[offset + size // 2] ^= 0x01
    damaged = tmp_path / "damaged.h5"
    damaged.write_bytes(bytes(data))
    for verb in ("info", "analyze"):
        assert main([verb, str(damaged)]) == 2
        err = [x for x in capsys.readouterr().err.splitlines() if x.startswith("tagstream")]
        assert len(err) == 1 and says in err[0], (verb, err)
