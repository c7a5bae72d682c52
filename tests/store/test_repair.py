"""``tagstream repair``: a writer killed with SIGKILL leaves its file marked open for writing;
repair checks the committed part, clears the mark (plain h5py and h5dump open the file), keeps
every byte, and refuses damaged files and files still written."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
import numpy as np
import pytest

import tagstream as ts
from tagstream.cli import main
from tagstream.formats.hdf5_superblock import (
    SWMR_WRITE_ACCESS,
    WRITE_ACCESS,
    lookup3,
    read_superblock,
    swmr_flags_set,
)
from tagstream.store.superblock import clear_write_flags

from ..store.test_run_file_durability import (
    _assert_prefix,
    _committed_end_ps,
    _expected,
    _simulate_cmd,
    _wait_for,
    killed_writer,
)

PLAIN_READ = textwrap.dedent(
    """
    import sys
    import h5py
    with h5py.File(sys.argv[1], "r") as f:
        n = f["/photon_data/timestamps"].shape[0]
        print(n, int(f["/photon_data/timestamps"][-1]), f["/user/tagstream/status"][()].decode())
    assert "hdf5plugin" not in sys.modules and "tagstream" not in sys.modules
    """
)


def _killed_writer(tmp_path: Path) -> Path:
    """A ``simulate --realtime`` killed with SIGKILL after it committed 2 s."""
    out = tmp_path / "killed.h5"
    killed_writer(out)
    return out


def _plain_h5py(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", PLAIN_READ, str(path)], capture_output=True, text=True
    )


@pytest.fixture(scope="module")
def killed(tmp_path_factory) -> Path:
    return _killed_writer(tmp_path_factory.mktemp("killed"))


def test_lookup3_is_the_superblock_checksum(tmp_path):
    """Bob Jenkins' published test values, and the checksum HDF5 stored in a new file."""
    assert lookup3(b"") == 0xDEADBEEF
    assert lookup3(b"Four score and seven years ago") == 0x17770551
    assert lookup3(b"Four score and seven years ago", 1) == 0xCD628161
    path = tmp_path / "new.h5"
    with h5py.File(path, "w", libver=("v110", "v110")) as f:
        f["x"] = np.arange(3)
    block = read_superblock(path)
    assert block is not None and block.version == 3 and not block.open_for_writing


def test_repair_of_a_killed_writer(killed, tmp_path, capsys):
    path = tmp_path / "copy.h5"
    shutil.copyfile(killed, path)
    assert swmr_flags_set(path)
    refused = _plain_h5py(path)
    assert refused.returncode != 0 and "open for write" in refused.stderr
    with ts.open(path) as run:
        before = run.read()
        stored_rows = run._timestamps.shape[0]
    size = path.stat().st_size

    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "still marked open for writing" in out and f"tagstream repair {path}" in out

    assert main(["repair", str(path)]) == 0
    report = capsys.readouterr().out.strip()
    assert "\n" not in report and "cleared the open-for-writing mark" in report
    assert f"keeps {len(before)} tags" in report and "checksum verified" in report
    assert not swmr_flags_set(path) and path.stat().st_size >= size

    plain = _plain_h5py(path)  # no plug-in, no tagstream, no SWMR
    assert plain.returncode == 0, plain.stderr
    rows, _, status = plain.stdout.split(maxsplit=2)
    assert int(rows) == stored_rows >= len(before)  # nothing cut, not even uncommitted rows
    assert status.startswith("stopped: repaired by tagstream repair")
    with ts.open(path) as run:  # the same committed tags, now from a closed file
        after = run.read()
        assert run.status.startswith("stopped:") and not run.warnings
    np.testing.assert_array_equal(after.timestamps, before.timestamps)
    np.testing.assert_array_equal(after.nanotimes, before.nanotimes)
    _assert_prefix(path, _expected("60 s"))
    if shutil.which("h5dump"):
        dump = subprocess.run(
            ["h5dump", "-d", "/photon_data/timestamps", "-s", "0", "-c", "3", str(path)],
            capture_output=True,
            text=True,
        )
        assert dump.returncode == 0, dump.stderr
        first = ", ".join(str(v) for v in before.timestamps[:3])
        assert first in dump.stdout

    assert main(["repair", str(path)]) == 0  # a second repair changes nothing
    assert "nothing to repair" in capsys.readouterr().out


def test_a_damaged_committed_part_is_reported_and_left_alone(killed, tmp_path, capsys):
    path = tmp_path / "damaged.h5"
    shutil.copyfile(killed, path)
    with ts.open(path) as run:
        ds = run._timestamps.dataset
        info = ds.id.get_chunk_info(0)
    with open(path, "r+b") as fh:  # flip a byte inside the first chunk of timestamps
        fh.seek(info.byte_offset + info.size // 2)
        byte = fh.read(1)
        fh.seek(-1, 1)
        fh.write(bytes([byte[0] ^ 0xFF]))
    original = path.read_bytes()
    assert main(["repair", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    assert f"byte offset {info.byte_offset}" in err and "checksum" in err
    assert path.read_bytes() == original


def test_a_file_still_written_is_refused(tmp_path, capsys):
    out = tmp_path / "live.h5"
    proc = subprocess.Popen(
        _simulate_cmd(out, "60 s", "--realtime"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(lambda: _committed_end_ps(out) >= 10**12, "1 s was committed", proc)
        original_flags = read_superblock(out).flags
        assert main(["repair", str(out)]) == 2
        err = capsys.readouterr().err
        assert f"process {proc.pid} has it open" in err
        assert read_superblock(out).flags == original_flags
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


def test_clearing_extends_a_file_cut_before_its_recorded_end(tmp_path):
    """A writer's reserved space may lie beyond the bytes it wrote: the file is padded with
    zeros up to the end its superblock records, and the checksum stays right."""
    path = tmp_path / "x.h5"
    with h5py.File(path, "w", libver=("v110", "v110")) as f:
        f["x"] = np.arange(1000)
    raw = bytearray(path.read_bytes())
    assert raw[9] == 8 and int.from_bytes(raw[28:36], "little") == len(raw)  # end of file
    raw[11] = WRITE_ACCESS | SWMR_WRITE_ACCESS
    raw[28:36] = (len(raw) + 4096).to_bytes(8, "little")  # space reserved, never written
    raw[44:48] = lookup3(bytes(raw[:44])).to_bytes(4, "little")
    path.write_bytes(bytes(raw))
    assert swmr_flags_set(path)
    block = clear_write_flags(path)
    assert block.open_for_writing and path.stat().st_size == len(raw) + 4096
    assert read_superblock(path).flags == 0
    with h5py.File(path, "r") as f:
        np.testing.assert_array_equal(f["x"][:], np.arange(1000))


def test_repair_of_missing_and_foreign_files(tmp_path, capsys):
    assert main(["repair", str(tmp_path / "none.h5")]) == 2
    assert "no such file" in capsys.readouterr().err
    text = tmp_path / "notes.h5"
    text.write_text("not hdf5")
    assert main(["repair", str(text)]) == 2
    err = capsys.readouterr().err
    assert "\n" not in err.strip() and "Traceback" not in err
