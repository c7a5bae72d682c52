"""The configuration of a live run (``tagstream run CONFIG``), a TOML file::

    [source]                      # one of:
    simulator = "cspbi3-10nm"     #   a preset name or a simulator TOML file
    seed = 1
    realtime = true               #   pace to the wall clock (default true)
    duration = "60 s"             #   optional; without it the run goes on until stopped
    # file = "recorded.h5"        #   a recorded run, replayed
    # speed = "1"                 #   "1", "10", ... or "max"
    # device = "s15-tdc1"         #   a hardware adapter (`tagstream devices` lists them)
    # address = "/dev/ttyACM0"    #   its port, URL, host or device index
    # settings = { level = "NIM" }  # the adapter's settings, checked before they are sent
    # options = { timeout_s = 1 }   # how the adapter opens the device
    # bench = "bench"             # a simulated dot excited through a simulated bench's laser,
                                  #   wheel and shutter (instruments simulated-*)

    [instruments.laser]           # optional: auxiliary instruments, set before the run starts;
    device = "scpi-pulsed-laser"  #   their readings are stored in the run's metadata
    address = "USB0::0x1234::0x0001::LD0042::INSTR"
    settings = { rate_hz = 40e6, power_percent = 30, enabled = true }

    [channels]                    # optional: names and roles by channel number
    [channels.virtual]            # optional: virtual channels (coincidence, delay, gate, combine)
    1 = "APD1"
    0 = { name = "laser", role = "sync" }

    [analysis]                    # the live analyses, as in `analyze --config`
    trace_bin = "10 ms"

    [output]
    path = "run.h5"
    compression = "deflate"       # deflate (default), none, blosc, lzf, gzip
    force = false
    results_every = "1 s"         # run time between result snapshots

    [pipeline]                    # ZeroMQ endpoints (tcp://, ipc://, inproc://) and workers
    data = "tcp://127.0.0.1:*"    # "*" picks a free port
    results = "tcp://127.0.0.1:*"
    control = "tcp://127.0.0.1:*"
    workers = 1                   # local analysis workers (0: wait for `tagstream worker`)
    hwm = 16                      # messages queued per worker before live analysis drops
    # keys = "lab-keys"           # CURVE key folder (`tagstream keys DIR`): needed to bind an
                                  #   address other than loopback, or for workers elsewhere

Relative paths in ``[source]`` and ``[pipeline] keys`` are taken from the config file's folder;
the output path, like ``-o``, from the current folder.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..analysis.summary_settings import SummarySettings
from ..errors import RunFileError, TagstreamError
from ..sources.factory import SourceSettings
from ..sources.paced import parse_speed
from ..sources.virtual_run import virtual_definitions
from ..store.packing import DEFAULT_COMPRESSION, check_compression
from ..tags import Channel, ChannelMap, Role, RunMetadata, parse_time
from ..transport.security import check_exposure
from ..transport.streams import DEFAULT_HWM
from .live_analysis import check_results_every
from .offline import with_irf_from

SECTIONS = ("source", "channels", "analysis", "output", "pipeline", "instruments")
#: Most messages queued per worker (each up to 2**20 tags, about 14 MB: 256 of them bound the
#: queue at 3.5 GB per worker), and most local workers a run starts.
MAX_HWM = 256
MAX_WORKERS = 64


class RunConfigError(TagstreamError):
    """A live-run config that cannot be used; the message names the file and the setting."""


@dataclass(frozen=True)
class InstrumentSettings:
    """An auxiliary instrument of the run (``[instruments.LABEL]``): its adapter, address,
    how to open it and what to set; its readings go into the run's metadata."""

    device: str
    address: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OutputSettings:
    """The ``[output]`` table of a live-run config.

    Attributes
    ----------
    path
        The run file; ``None`` until given (``-o`` or the config).
    compression
        Compression of the tag datasets (``"deflate"``, ``"none"``, ``"blosc"``, ``"lzf"``,
        ``"gzip"``).
    force
        Overwrite an existing run file.
    results_every
        Run time between result snapshots (``"1 s"``).
    """

    path: Path | None = None
    compression: str = DEFAULT_COMPRESSION
    force: bool = False
    results_every: str = "1 s"


@dataclass(frozen=True)
class PipelineSettings:
    """The ``[pipeline]`` table of a live-run config.

    Attributes
    ----------
    data, results, control
        ZeroMQ endpoints of the tag stream, the results and the control socket (``"*"`` for a
        free port).
    workers
        Local analysis workers (0: wait for ``tagstream worker``).
    hwm
        Messages queued per worker before the live analysis drops some.
    keys
        CURVE key folder; ``None`` for keys made for each run.
    """

    data: str = "tcp://127.0.0.1:*"
    results: str = "tcp://127.0.0.1:*"
    control: str = "tcp://127.0.0.1:*"
    workers: int = 1
    hwm: int = DEFAULT_HWM
    keys: Path | None = None  # a key folder; None: keys made for each run


@dataclass(frozen=True)
class RunConfig:
    """A parsed and checked live-run config (see the module docstring)."""

    source: SourceSettings = field(default_factory=SourceSettings)
    channels: dict[int, tuple[str, Role]] = field(default_factory=dict)
    virtual: dict[str, dict[str, Any]] = field(default_factory=dict)
    analysis: SummarySettings = field(default_factory=SummarySettings)
    output: OutputSettings = field(default_factory=OutputSettings)
    pipeline: PipelineSettings = field(default_factory=PipelineSettings)
    instruments: dict[str, InstrumentSettings] = field(default_factory=dict)
    analysis_table: dict[str, Any] = field(default_factory=dict)
    text: str | None = None

    def apply_channels(self, metadata: RunMetadata) -> RunMetadata:
        """``metadata`` with the names and roles of ``[channels]``."""
        if not self.channels:
            return metadata
        numbers = {c.number for c in metadata.channels}
        unknown = sorted(set(self.channels) - numbers)
        if unknown:
            raise RunConfigError(
                f"[channels]: the source has no channel {unknown[0]} (it has {sorted(numbers)})"
            )
        renamed = {}
        channels = []
        for c in metadata.channels:
            name, role = self.channels.get(c.number, (c.name, c.role))
            renamed[c.name] = name
            channels.append(Channel(c.number, name, role))
        pair = metadata.hbt_pair
        if pair is not None:
            pair = (renamed[pair[0]], renamed[pair[1]])
        return dataclasses.replace(metadata, channels=ChannelMap(channels), hbt_pair=pair)


def read_toml(file: Path) -> tuple[dict[str, Any], str]:
    """A config file's tables and its text; a missing file or invalid TOML is a
    :class:`RunFileError` naming it."""
    try:
        text = file.read_text()
    except FileNotFoundError:
        raise RunFileError(file, "no such file") from None
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        raise RunFileError(file, f"not valid TOML: {exc}") from None


def load_run_config(path: str | os.PathLike) -> RunConfig:
    """Read and check a live-run config file."""
    file = Path(path)
    raw, text = read_toml(file)
    try:
        return parse_run_config(raw, file.parent, text)
    except TagstreamError as exc:
        raise RunConfigError(f"{file}: {exc}") from None


def parse_run_config(
    raw: dict[str, Any], folder: Path = Path("."), text: str | None = None
) -> RunConfig:
    """A config from its TOML tables; relative paths are taken from ``folder``."""
    unknown = sorted(set(raw) - set(SECTIONS))
    if unknown:
        raise RunConfigError(f"unknown section [{unknown[0]}]; known: {', '.join(SECTIONS)}")
    tables = {name: _table(raw, name) for name in SECTIONS}
    analysis_table = tables["analysis"]
    try:
        analysis = SummarySettings.from_dict(analysis_table)
    except TagstreamError as exc:
        raise RunConfigError(f"[analysis] {exc}") from None
    analysis = with_irf_from(analysis, folder)
    source = _source(tables["source"], folder)
    instruments = _instruments(tables["instruments"])
    _check_bench(source, instruments)
    return RunConfig(
        source=source,
        channels=_channels(tables["channels"]),
        virtual=virtual_table(tables["channels"]),
        analysis=analysis,
        output=_output(tables["output"]),
        pipeline=_pipeline(tables["pipeline"], folder),
        instruments=instruments,
        analysis_table=dict(analysis_table),
        text=text,
    )


def _check_bench(source: SourceSettings, instruments: dict[str, InstrumentSettings]) -> None:
    """Emulated bench instruments act only on a simulated dot that follows their bench (a
    config without a source, for `replay`, opens no instrument)."""
    if source == SourceSettings():
        return
    for label, inst in instruments.items():
        if not inst.device.startswith("simulated-"):
            continue
        bench = inst.address or "bench"
        if source.simulator is None or source.bench != bench:
            raise RunConfigError(
                f"[instruments.{label}] {inst.device} acts on the simulated bench {bench!r}, "
                f"which the source does not follow: give [source] simulator = ... and "
                f"bench = {bench!r}"
            )


def _table(raw: dict[str, Any], name: str) -> dict[str, Any]:
    table = raw.get(name, {})
    if not isinstance(table, dict):
        raise RunConfigError(f"[{name}] must be a table")
    return table


def _keys(table: dict[str, Any], section: str, known: tuple[str, ...]) -> None:
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise RunConfigError(
            f"[{section}] {unknown[0]}: unknown setting; known: {', '.join(known)}"
        )


def _typed(table: dict[str, Any], section: str, key: str, kind: type, default: Any) -> Any:
    value = table.get(key, default)
    wrong = value is not None and not isinstance(value, kind)
    if wrong or (isinstance(value, bool) and kind is not bool):
        raise RunConfigError(f"[{section}] {key}: expected {kind.__name__}, got {value!r}")
    return value


def _source(table: dict[str, Any], folder: Path) -> SourceSettings:
    known = ("simulator", "file", "device", "address", "settings", "options", "seed")
    _keys(table, "source", (*known, "realtime", "duration", "speed", "bench"))
    if not table:  # a config for `replay`, whose source is the file it replays
        return SourceSettings()
    simulator = _typed(table, "source", "simulator", str, None)
    file = _typed(table, "source", "file", str, None)
    device = _typed(table, "source", "device", str, None)
    if sum(x is not None for x in (simulator, file, device)) != 1:
        raise RunConfigError(
            "[source] give one of simulator = PRESET|CONFIG, file = PATH or device = ADAPTER"
        )
    bench = _typed(table, "source", "bench", str, None)
    if bench is not None and simulator is None:
        raise RunConfigError("[source] bench: only a simulated dot follows a simulated bench")
    if simulator is not None and simulator.endswith(".toml"):
        simulator = str(_relative(simulator, folder))
    duration = table.get("duration")
    if duration is not None:
        if parse_time(duration, "[source] duration") <= 0:
            raise RunConfigError(f"[source] duration must be positive, got {duration!r}")
        duration = str(duration)
    return SourceSettings(
        simulator=simulator,
        file=None if file is None else _relative(file, folder),
        device=device,
        address=_address(table.get("address", "")),
        settings=_typed(table, "source", "settings", dict, {}),
        options=_typed(table, "source", "options", dict, {}),
        seed=_typed(table, "source", "seed", int, 0),
        realtime=_typed(table, "source", "realtime", bool, True),
        duration=duration,
        speed=parse_speed(table.get("speed", "1")),
        bench=bench,
    )


def _address(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise RunConfigError(f"[source] address: expected a port, URL or number, got {value!r}")
    return str(value)


def _instruments(table: dict[str, Any]) -> dict[str, InstrumentSettings]:
    out = {}
    for label, entry in table.items():
        section = f"instruments.{label}"
        if not isinstance(entry, dict):
            raise RunConfigError(f"[{section}] must be a table (device = ..., address = ...)")
        _keys(entry, section, ("device", "address", "options", "settings"))
        device = _typed(entry, section, "device", str, None)
        if device is None:
            raise RunConfigError(f"[{section}] device: give the instrument's adapter")
        out[label] = InstrumentSettings(
            device=device,
            address=_address(entry.get("address", "")),
            options=_typed(entry, section, "options", dict, {}),
            settings=_typed(entry, section, "settings", dict, {}),
        )
    return out


def virtual_table(table: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``[channels.virtual]``, checked (see :mod:`~tagstream.sources.virtual_run`)."""
    try:
        return virtual_definitions(table)
    except TagstreamError as exc:
        raise RunConfigError(str(exc.args[0])) from None


def _channels(table: dict[str, Any]) -> dict[int, tuple[str, Role]]:
    out = {}
    for key, value in table.items():
        if key == "virtual":
            continue
        try:
            number = int(key)
        except ValueError:
            raise RunConfigError(f"[channels] {key!r}: keys are channel numbers") from None
        if isinstance(value, str):
            name, role = value, Role.DETECTOR
        elif isinstance(value, dict) and isinstance(value.get("name"), str):
            try:
                role = Role(value.get("role", "detector"))
            except ValueError:
                raise RunConfigError(
                    f"[channels] {key}: role must be sync, detector or marker"
                ) from None
            name = value["name"]
        else:
            raise RunConfigError(f"[channels] {key}: give a name or {{name = ..., role = ...}}")
        out[number] = (name, role)
    return out


def _output(table: dict[str, Any]) -> OutputSettings:
    _keys(table, "output", ("path", "compression", "force", "results_every"))
    path = _typed(table, "output", "path", str, None)
    every = str(table.get("results_every", "1 s"))
    try:
        check_results_every(every, "[output] results_every")
    except TagstreamError as exc:
        raise RunConfigError(str(exc)) from None
    return OutputSettings(
        path=None if path is None else Path(path).expanduser(),  # like -o: from the cwd
        compression=check_compression(
            _typed(table, "output", "compression", str, DEFAULT_COMPRESSION)
        ),
        force=_typed(table, "output", "force", bool, False),
        results_every=every,
    )


def _pipeline(table: dict[str, Any], folder: Path) -> PipelineSettings:
    _keys(table, "pipeline", ("data", "results", "control", "workers", "hwm", "keys"))
    defaults = PipelineSettings()
    endpoints = {
        key: _typed(table, "pipeline", key, str, getattr(defaults, key))
        for key in ("data", "results", "control")
    }
    for key, value in endpoints.items():
        if not value.startswith(("tcp://", "ipc://", "inproc://")):
            raise RunConfigError(
                f"[pipeline] {key}: {value!r} is not a tcp://, ipc:// or inproc://"
            )
    workers = _typed(table, "pipeline", "workers", int, 1)
    hwm = _typed(table, "pipeline", "hwm", int, DEFAULT_HWM)
    if not 0 <= workers <= MAX_WORKERS or not 1 <= hwm <= MAX_HWM:
        raise RunConfigError(
            f"[pipeline] workers must lie in 0..{MAX_WORKERS} and hwm in 1..{MAX_HWM}"
        )
    keys = _typed(table, "pipeline", "keys", str, None)
    key_folder = None if keys is None else _relative(keys, folder)
    check_exposure(endpoints, keyed=key_folder is not None)
    return PipelineSettings(workers=workers, hwm=hwm, keys=key_folder, **endpoints)


def _relative(path: str, folder: Path) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() else folder / p
