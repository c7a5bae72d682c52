"""The PicoQuant adapters against a fake programming library (``emulators/picoquant_fake.c``)
compiled here with the system compiler: the exact sequence of library calls, the records it
serves decoded into the tags the PTU reader gets from the same records, a full FIFO turned into
a gap, a failing read mid-run, a missing device and a missing library."""

from __future__ import annotations

import ctypes
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from tagstream.drivers.picoquant.hydraharp import HydraHarp
from tagstream.drivers.picoquant.multiharp import MultiHarp
from tagstream.drivers.picoquant.picoharp import PicoHarp
from tagstream.drivers.picoquant.timeharp import TimeHarp260N, TimeHarp260P

import tagstream as ts
from tagstream.cli import main
from tagstream.errors import DeviceError, SettingsError
from tagstream.sources.device import DeviceRun
from tagstream.sources.device_registry import find_devices
from tagstream.sources.pq_file import PtuRun
from tagstream.store.ptu_writer import write_ptu

from ...pq_encoder import ptu_file
from ...run_output import error_lines

FAKE_SOURCE = Path(__file__).parents[2] / "emulators" / "picoquant_fake.c"
PREFIXES = {"HH": True, "MH": True, "PH": False, "TH260": False}  # Initialize takes refsource


@pytest.fixture(scope="session")
def fake_libraries(tmp_path_factory) -> dict[str, Path]:
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.fail("the PicoQuant adapter tests need a C compiler (cc or gcc) to build the fake")
    folder = tmp_path_factory.mktemp("fakelib")
    out = {}
    for prefix, refsource in PREFIXES.items():
        path = folder / f"libfake{prefix.lower()}.so"
        flags = [f"-DPREFIX={prefix}"] + (["-DHAS_REFSOURCE"] if refsource else [])
        subprocess.run(
            [compiler, "-shared", "-fPIC", "-O1", "-Wall", "-Werror", *flags, "-o", str(path),
             str(FAKE_SOURCE)],
            check=True,
        )  # fmt: skip
        out[prefix] = path
    return out


class Fake:
    """The test's handle on one fake library: records to serve, errors to inject, the log."""

    def __init__(self, path: Path):
        self.path = str(path)
        self.dll = ctypes.CDLL(self.path)
        self.dll.FAKE_Log.restype = ctypes.c_char_p
        self.dll.FAKE_Setup.argtypes = [ctypes.c_double, ctypes.c_double, ctypes.c_int]
        self.dll.FAKE_Serve.argtypes = [
            ctypes.c_void_p,
            ctypes.c_long,
            ctypes.c_int,
            ctypes.c_double,
        ]
        self.dll.FAKE_Fail.argtypes = [ctypes.c_int, ctypes.c_int]
        self.dll.FAKE_Reset()
        self.setup(1.0, 80e6, 2)
        self.serve(np.zeros(0, np.uint32))

    def setup(self, base_ps: float, sync_rate: float, inputs: int) -> None:
        self.dll.FAKE_Setup(base_ps, sync_rate, inputs)

    def serve(self, records: np.ndarray, per_read: int = 4096, seconds: float = 0.0) -> None:
        """Serve ``records``, at most ``per_read`` a read; with ``seconds``, spread over that
        long from the start, as a real unit would deliver them."""
        self.records = np.ascontiguousarray(records, dtype=np.uint32)
        per_s = self.records.size / seconds if seconds else 0.0
        self.dll.FAKE_Serve(self.records.ctypes.data, self.records.size, per_read, per_s)

    def fail(self, kind: int, after: int = 0) -> None:
        self.dll.FAKE_Fail(kind, after)

    def log(self) -> list[str]:
        return self.dll.FAKE_Log().decode().split()


MODELS = {
    "HH": (HydraHarp, "picoquant-hydraharp"),
    "MH": (MultiHarp, "picoquant-multiharp"),
    "PH": (PicoHarp, "picoquant-picoharp"),
    "TH260": (TimeHarp260P, "picoquant-timeharp260p"),
}


@pytest.fixture
def fake(fake_libraries, request) -> Fake:
    return Fake(fake_libraries[request.param])


def _read_all(dev, n_tags: int, timeout_s: float = 10.0):
    blocks = []
    got = 0
    deadline = time.monotonic() + timeout_s
    while got < n_tags and time.monotonic() < deadline:
        block = dev.read()
        blocks.append(block)
        got += block.timestamps.size
        if not block.timestamps.size:
            time.sleep(0.002)
    return blocks


@pytest.mark.parametrize(
    ("fake", "settings", "calls"),
    [
        (
            "HH",
            dict(mode="T3", sync_divider=8, sync_level_mv=100, sync_zero_cross_mv=10,
                 input_level_mv=80, input_zero_cross_mv=8, sync_offset_ps=-500,
                 input_offset_ps_2=1200, binning=2),
            ["HH_Initialize(0,3,0)", "HH_Calibrate(0)", "HH_SetSyncDiv(0,8)",
             "HH_SetSyncCFD(0,100,10)", "HH_SetInputCFD(0,0,80,8)", "HH_SetInputCFD(0,1,80,8)",
             "HH_SetSyncChannelOffset(0,-500)", "HH_SetInputChannelOffset(0,1,1200)",
             "HH_SetBinning(0,2)"],
        ),
        (
            "MH",
            dict(sync_level_mv=-50, sync_edge="falling", input_level_mv=-40, input_edge="falling",
                 input_offset_ps_1=-300),
            ["MH_SetSyncEdgeTrg(0,-50,0)", "MH_SetInputEdgeTrg(0,0,-40,0)",
             "MH_SetInputEdgeTrg(0,1,-40,0)", "MH_SetInputChannelOffset(0,0,-300)"],
        ),
        (
            "PH",
            dict(mode="T3", sync_divider=4, sync_level_mv=300, sync_zero_cross_mv=10,
                 input_level_mv=120, input_zero_cross_mv=5, sync_offset_ps=2000),
            ["PH_Initialize(0,3)", "PH_Calibrate(0)", "PH_SetSyncDiv(0,4)",
             "PH_SetInputCFD(0,0,300,10)", "PH_SetInputCFD(0,1,120,5)", "PH_SetSyncOffset(0,2000)"],
        ),
        ("TH260", dict(sync_divider=2), ["TH260_SetSyncDiv(0,2)"]),
    ],
    indirect=["fake"],
)  # fmt: skip
def test_the_library_calls_of_a_run_in_order(fake, settings, calls):
    prefix = fake.path.split("libfake")[1].split(".")[0].upper()
    cls = MODELS[prefix][0]
    with cls(0, library=fake.path) as dev:
        dev.configure(**settings)
        dev.start()
        dev.stop()
    init = [f"{prefix}_Initialize(0,2{',0' if PREFIXES[prefix] else ''})"]
    if cls.CALIBRATE:
        init.append(f"{prefix}_Calibrate(0)")
    assert fake.log() == [
        f"{prefix}_OpenDevice(0)", *init, *calls,
        f"{prefix}_StartMeas(0,360000000)", f"{prefix}_StopMeas(0)", f"{prefix}_CloseDevice(0)",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("fake", "settings", "message"),
    [
        ("HH", {"sync_zero_cross_mv": 41}, "sync_zero_cross_mv' must be within 0 .. 40 mV"),
        ("HH", {"sync_divider": 17}, "sync_divider' must be within 1 .. 16"),
        ("HH", {"input_edge": "rising"}, "no setting 'input_edge'"),
        ("MH", {"input_edge": "up"}, "must be one of rising, falling"),
        ("PH", {"sync_divider": 3}, "must be one of 1, 2, 4, 8, got 3"),
        ("HH", {"sync_divider": 3}, "must be one of 1, 2, 4, 8, 16, got 3"),
        ("PH", {"input_offset_ps_1": 5}, "no setting 'input_offset_ps_1'"),
        ("HH", {"sync_level_mv": 50}, "give sync_level_mv and sync_zero_cross_mv together"),
        ("HH", {"sync_divider": float("nan")}, "must be a finite number"),
        ("HH", {"mode": "T4"}, "must be one of T2, T3"),
    ],
    indirect=["fake"],
)
def test_settings_a_model_does_not_take_are_refused_before_any_call(fake, settings, message):
    prefix = fake.path.split("libfake")[1].split(".")[0].upper()
    with MODELS[prefix][0](0, library=fake.path) as dev:
        before = fake.log()
        with pytest.raises(SettingsError, match=message.replace("(", r"\(")):
            dev.configure(**settings)
        assert fake.log() == before


def _ptu_records(tmp_path: Path, preset: str, fmt: str, seconds: float = 1.0):
    """A simulated dot written as PicoQuant records, and the PTU reader's tags of them."""
    tags = ts.simulate(preset, duration=f"{seconds} s", seed=5).read()
    path = write_ptu(tags, tmp_path / f"{fmt}.ptu", fmt)
    with PtuRun(path) as run:
        return np.array(run._records), run.read(), run


@pytest.mark.parametrize(
    ("fake", "mode", "fmt", "preset"),
    [
        ("HH", "T2", "HydraHarp2T2", "cw-antibunching"),
        ("HH", "T3", "HydraHarp2T3", "cspbi3-10nm"),
        ("MH", "T3", "GenericT3", "cspbi3-10nm"),
        ("TH260", "T2", "TimeHarp260PT2", "cw-antibunching"),
    ],
    indirect=["fake"],
)
def test_served_records_decode_to_the_tags_the_ptu_reader_gets(fake, tmp_path, mode, fmt, preset):
    records, want, _ = _ptu_records(tmp_path, preset, fmt)
    prefix = fake.path.split("libfake")[1].split(".")[0].upper()
    if mode == "T3":
        fake.setup(want.nanotime_unit_ps, 1e12 / want.sync_period_ps, 2)
    fake.serve(records, per_read=3001)  # reads that end anywhere in the records
    with MODELS[prefix][0](0, library=fake.path) as dev:
        dev.configure(mode=mode)
        info = dev.info()
        assert info.mode == mode and info.serial == "1020304" and info.channels == (0, 1, 2)
        dev.start()
        blocks = _read_all(dev, want.timestamps.size)
        dev.stop()
    got_t = np.concatenate([b.timestamps for b in blocks])
    np.testing.assert_array_equal(got_t, want.timestamps)
    np.testing.assert_array_equal(np.concatenate([b.channels for b in blocks]), want.channels)
    if mode == "T3":
        nts = np.concatenate([b.nanotimes for b in blocks])
        np.testing.assert_array_equal(nts, want.nanotimes)
    assert all(b.gaps is None for b in blocks)
    # everything before the last record's time is in (T3: its sync, not its photon)
    last = got_t[-1] - (want.nanotimes[-1] * want.nanotime_unit_ps if mode == "T3" else 0)
    assert blocks[-1].until_ps > last


@pytest.mark.parametrize("fake", ["HH"], indirect=True)
def test_a_full_fifo_is_a_gap_and_the_measurement_goes_on(fake, tmp_path):
    records, want, _ = _ptu_records(tmp_path, "cw-antibunching", "HydraHarp2T2", 0.5)
    cut = records.size // 3
    fake.serve(records, per_read=1000)
    fake.fail(2, cut)  # the FIFO fills after a third of the records
    with HydraHarp(0, library=fake.path) as dev:
        dev.start()
        blocks = _read_all(dev, want.timestamps.size)
        status = dev.status()
        dev.stop()
    log = fake.log()
    assert log.count("HH_StartMeas(0,360000000)") == 2 and log.count("HH_StopMeas(0)") == 2
    gaps = [g for b in blocks if b.gaps is not None for g in b.gaps.tolist()]
    assert len(gaps) == 1
    t = np.concatenate([b.timestamps for b in blocks])
    before = t < gaps[0][0]
    n_before = int(before.sum())
    np.testing.assert_array_equal(t[before], _tags_of(tmp_path, "head.ptu", records[:cut]))
    assert t.size == want.timestamps.size and np.all(t[n_before:] >= gaps[0][1])
    after = _tags_of(tmp_path, "tail.ptu", records[cut:])  # the unit counts from 0 again
    np.testing.assert_array_equal(t[n_before:] - gaps[0][1], after)
    assert status.overflow and "FIFO full" in status.warnings[0]
    assert status.count_rates_cps == {0: 80e6, 1: 1000.0, 2: 2000.0}  # the unit's rate meters
    assert "WARNING_COUNTS_EXCEED_LIMIT" in status.warnings


def _tags_of(tmp_path: Path, name: str, records: np.ndarray) -> np.ndarray:
    """The timestamps the PTU reader gets from these HydraHarp2T2 records (1 ps), counted
    from 0."""
    with PtuRun(ptu_file(tmp_path / name, "HydraHarp2T2", records, 1e-12, 80e6)) as run:
        return run.read().timestamps


@pytest.mark.parametrize("fake", ["HH"], indirect=True)
def test_a_read_error_mid_run_ends_the_run_with_the_data_before_it(fake, tmp_path, capsys):
    records, _, _ = _ptu_records(tmp_path, "cw-antibunching", "HydraHarp2T2")
    fake.serve(records, per_read=2000)
    fake.fail(3, records.size // 2)
    config = tmp_path / "hh.toml"
    config.write_text(
        f'[source]\ndevice = "picoquant-hydraharp"\naddress = 0\n'
        f'options = {{ library = "{fake.path}" }}\n'
    )
    out = tmp_path / "hh.h5"
    assert main(["run", str(config), "--duration", "1s", "-o", str(out)]) == 1
    err = error_lines(capsys.readouterr().err)
    assert len(err) == 1 and "HH_ReadFiFo failed: ERROR_USB_FAIL (-14)" in err[0]
    with ts.open(out) as run:
        got = run.read()
        assert len(run.gaps) == 1 and run.gaps[0][1] == run.t_end
    head = _tags_of(tmp_path, "head.ptu", records[: records.size // 2])
    np.testing.assert_array_equal(got.timestamps, head)


@pytest.mark.parametrize("fake", ["HH"], indirect=True)
def test_a_dot_through_the_fake_library_gives_the_results_of_the_file(fake, tmp_path):
    """`tagstream run` on the fake HydraHarp serving a simulated dot's T3 records gives the
    live results that the same records give fed to the pipeline from their PTU file."""
    records, want, _ = _ptu_records(tmp_path, "cspbi3-10nm", "HydraHarp2T3", 2.0)
    fake.setup(want.nanotime_unit_ps, 1e12 / want.sync_period_ps, 2)
    fake.serve(records, per_read=50_000, seconds=want.timestamps[-1] / 1e12)  # as a unit would
    analysis = '[analysis]\ng2_window = "100 ns"\ng2_bin = "500 ps"\ntrace_bin = "10 ms"\n'
    config = tmp_path / "hh.toml"
    config.write_text(
        f'[source]\ndevice = "picoquant-hydraharp"\naddress = 0\n'
        f'options = {{ library = "{fake.path}" }}\nsettings = {{ mode = "T3" }}\n{analysis}'
    )
    direct = tmp_path / "direct.toml"
    direct.write_text(f'[source]\nfile = "{tmp_path / "HydraHarp2T3.ptu"}"\nspeed = "max"\n'
                      f"{analysis}")  # fmt: skip
    via, straight = tmp_path / "via.h5", tmp_path / "straight.h5"
    duration = f"{want.timestamps[-1] // 10**9}ms"  # whole ms before the last tag
    assert main(["run", str(config), "--duration", duration, "-o", str(via)]) == 0
    assert main(["run", str(direct), "--duration", duration, "-o", str(straight)]) == 0
    a, b = ts.results(via), ts.results(straight)
    assert len(a.analysis_gaps()) == len(b.analysis_gaps()) == 0  # nothing dropped live
    np.testing.assert_array_equal(a.g2().counts, b.g2().counts)
    np.testing.assert_array_equal(a.lifetime().counts, b.lifetime().counts)
    np.testing.assert_array_equal(a.trace().counts, b.trace().counts)
    sa, sb = ts.summary(via), ts.summary(straight)
    # the device names its inputs ch1, ch2; the PTU file carries the simulated dot's A, B
    names = {"pair": None, "channel": None}
    assert sa["g2"] | names == sb["g2"] | names
    assert sa["lifetime"] | names == sb["lifetime"] | names
    assert sa["g2"]["g2_zero"] < 0.1  # a single dot


@pytest.mark.parametrize("fake", ["HH"], indirect=True)
def test_no_device_and_no_library_are_one_line_errors(fake, tmp_path):
    fake.fail(1)
    with pytest.raises(DeviceError, match=r"HH_OpenDevice failed: ERROR_DEVICE_OPEN_FAIL \(-1\)"):
        HydraHarp(0, library=fake.path)
    fake.fail(4)  # the unit opens but does not initialise: it is closed again
    with pytest.raises(DeviceError, match=r"HH_Initialize failed: ERROR_USB_FAIL \(-14\)"):
        HydraHarp(0, library=fake.path)
    assert fake.log()[-2:] == ["HH_Initialize(0,2,0)", "HH_CloseDevice(0)"]
    with pytest.raises(DeviceError, match="install PicoQuant's MHLib"):
        MultiHarp(0, library=str(tmp_path / "libmh150.so"))
    rows = {name: text for name, address, text in find_devices() if not address}
    assert "install PicoQuant's HHLib" in rows["picoquant-hydraharp"]


@pytest.mark.parametrize("fake", ["PH"], indirect=True)
def test_the_picoharp_rate_meters_are_its_sync_and_its_input(fake):
    with PicoHarp(0, library=fake.path) as dev:
        dev.configure(mode="T3", sync_divider=2)
        assert dev.status().count_rates_cps == {0: 1000.0, 1: 2000.0}
        assert dev.info().sync_period_ps == pytest.approx(2 * 1e12 / 1000)


@pytest.mark.parametrize("fake", ["TH260"], indirect=True)
def test_the_timeharp_n_sets_edge_triggers(fake):
    with TimeHarp260N(0, library=fake.path) as dev:
        dev.configure(sync_level_mv=-100, sync_edge="falling")
    assert "TH260_SetSyncEdgeTrg(0,-100,0)" in fake.log()


def test_device_run_of_a_fake_unit_names_its_channels(fake_libraries):
    fake = Fake(fake_libraries["HH"])
    with DeviceRun(HydraHarp(0, library=fake.path), {"mode": "T2"}) as run:
        names = [c.name for c in run.metadata.channels]
        assert names == ["sync", "ch1", "ch2"] and run.metadata.hbt_pair == ("ch1", "ch2")


@pytest.mark.parametrize("fake", ["HH"], indirect=True)
def test_a_mode_change_sends_the_settings_again(fake):
    """Initialising for the new mode resets the unit: the divider (and every other setting) is
    sent again, and the T3 sync period counts the divided syncs."""
    with HydraHarp(0, library=fake.path) as dev:
        dev.configure(sync_divider=4, sync_offset_ps=100)
        dev.configure(mode="T3")
        info = dev.info()
    log = fake.log()
    after = log[log.index("HH_Initialize(0,3,0)") :]
    assert after[:4] == [
        "HH_Initialize(0,3,0)", "HH_Calibrate(0)", "HH_SetSyncDiv(0,4)",
        "HH_SetSyncChannelOffset(0,100)",
    ]  # fmt: skip
    assert info.sync_period_ps == pytest.approx(4 * 1e12 / 80e6)
