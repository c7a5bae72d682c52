"""Writing a run to a Photon-HDF5 0.5 file, with tagstream's own data under ``/user/tagstream``.

Layout (``nanotimes`` and ``nanotimes_specs`` only in T3; rates only with a pulsed laser)::

    /                         attrs format_name, format_version, format_url, TITLE
    /acquisition_duration     s
    /description, /format_name, /format_version
    /photon_data/timestamps   int64, absolute ps (also in T3), chunked and resizable
    /photon_data/detectors    uint8 channel numbers (the sync channel included in T2)
    /photon_data/nanotimes    uint16 or uint32, micro-times in units of tcspc_unit
    /photon_data/timestamps_specs/timestamps_unit           1e-12 s
    /photon_data/nanotimes_specs/tcspc_unit, tcspc_num_bins, tcspc_range
    /photon_data/measurement_specs/measurement_type         "generic"
    /photon_data/measurement_specs/laser_repetition_rate    Hz
    /photon_data/measurement_specs/detectors_specs/split_ch1, split_ch2, non_photon_id1
    /setup/num_pixels, num_spots, num_spectral_ch, num_polarization_ch, num_split_ch,
          modulated_excitation, lifetime, excitation_alternated, excitation_cw,
          laser_repetition_rates
    /setup/detectors/id, label, counts
    /identity/filename, filename_full, creation_time, software, software_version, format_*
    /user/tagstream/metadata  JSON of RunMetadata.to_dict()
    /user/tagstream/config    the run's config text (when given)
    /user/tagstream/gaps      int64 (k, 2) ps, every lost-time interval of the run
    /user/tagstream/span      int64 [t_begin, t_end] ps
    /user/tagstream/truth/    names, starts, states, end (the simulator's state timeline)

``split_ch1``/``split_ch2`` name the HBT pair, ``non_photon_id1`` the sync and marker channels,
and the sync channel's label is ``"sync"``. Strings are fixed-length UTF-8 bytes, which every
HDF5 reader (PyTables, phconvert, MATLAB) understands.

The file is written under a temporary name in the target folder and renamed when complete, so
an interrupted write leaves neither a half file under the user's name nor a damaged old file.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Callable, Iterable
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path
from types import TracebackType

import h5py
import numpy as np

from ..errors import BatchError, OutputExistsError, RunFileError, TagstreamError
from ..sources import photon_hdf5_spec as spec
from ..sources.timeline import StateTimeline
from ..tags import Channel, Role, RunMetadata, TagBatch
from ..tags import intervals as iv
from .paths import check_target

PS_PER_S = 1e12
CHUNK_TAGS = 1 << 16  # tags per HDF5 chunk (512 kB of timestamps)
FLUSH_EVERY_S = 1.0
SOFTWARE = "tagstream"

_USER_TITLES = {
    spec.USER_METADATA: "Run metadata (JSON): source, settings, channel map, periods.",
    spec.USER_CONFIG: "Configuration text of the run.",
    spec.USER_GAPS: "Intervals [start, stop) in ps where data were lost.",
    spec.USER_SPAN: "Time span [t_begin, t_end) in ps covered by the run.",
    spec.USER_TRUTH: "Ground-truth state timeline of the simulated emitter.",
}


def write_run(
    path: str | os.PathLike,
    batches: Iterable[TagBatch],
    metadata: RunMetadata,
    *,
    force: bool = False,
    duration_ps: int | None = None,
    truth: StateTimeline | None = None,
    config_text: str | None = None,
    progress: Callable[[int], object] | None = None,
    description: str | None = None,
    compression: int | None = None,
) -> Path:
    """Write consecutive batches to a new Photon-HDF5 file, as they come.

    Parameters
    ----------
    path
        The file to create.
    batches
        Consecutive tag batches (a run's ``batches()``); time between two spans becomes a gap.
    metadata
        The run's metadata, stored as JSON and used for ``/setup``.
    force
        Overwrite an existing file (only once the new one is complete).
    duration_ps
        Acquisition duration to record, ps; defaults to the span the batches cover.
    truth
        The simulator's state timeline, stored under ``/user/tagstream/truth``.
    config_text
        The run's configuration, stored verbatim.
    progress
        Called with the end of each batch's span (ps) once the batch is written.
    description
        The file's ``/description``; a default names the source and mode.
    compression
        gzip level (1-9, with byte shuffling) for the tag arrays; ``None`` writes them
        uncompressed, which is about four times faster.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    RunFileError
        The file exists (without ``force``), the folder is missing, or it cannot be written.
    BatchError
        A batch overlaps the previous one, has the wrong mode or an unmapped channel.
    """
    with RunWriter(
        path,
        metadata,
        force=force,
        config_text=config_text,
        description=description,
        compression=compression,
    ) as writer:
        for batch in batches:
            writer.append(batch)
            if progress is not None:
                progress(batch.t_end)
        return writer.finish(duration_ps=duration_ps, truth=truth)


class RunWriter:
    """A Photon-HDF5 file being written batch by batch.

    Use as a context manager: leaving the block normally completes the file and gives it its
    name; an exception discards it.

    Parameters
    ----------
    path, metadata, force, config_text, description, compression
        As for :func:`write_run`.
    flush_every_s
        Flush the HDF5 buffers after a batch when this much time (s) has passed since the last
        flush.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        metadata: RunMetadata,
        *,
        force: bool = False,
        config_text: str | None = None,
        description: str | None = None,
        compression: int | None = None,
        flush_every_s: float = FLUSH_EVERY_S,
    ):
        self.path = check_target(path, force)
        self.metadata = metadata
        self._force = force
        self._flush_every_s = flush_every_s
        _check_metadata(metadata)
        self._nanotime_dtype = _nanotime_dtype(metadata)
        self._known = np.zeros(256, dtype=bool)
        self._known[[c.number for c in metadata.channels]] = True
        self._counts = np.zeros(256, dtype=np.int64)
        self._span: list[int] | None = None
        self._pending_gap = iv.EMPTY
        self._tmp: Path | None = None
        self._file: h5py.File | None = None
        try:
            self._tmp, self._file = _create_beside(self.path)
            _write_root(self._file, description or _default_description(metadata))
            _write_identity(self._file, self.path)
            _write_setup(self._file, metadata)
            self._data = _create_photon_data(
                self._file, metadata, self._nanotime_dtype, compression
            )
            self._gaps = _write_user(self._file, metadata, config_text)
            self._file.flush()
        except BaseException:
            self.abort()
            raise
        self._last_flush = time.monotonic()

    # ------------------------------------------------------------------ writing
    def append(self, batch: TagBatch) -> None:
        """Append one batch; it must begin where (or after) the previous one ended."""
        f = self._open_file()
        per_channel = self._check_batch(batch)
        if self._span is None:
            self._span = [batch.t_begin, batch.t_begin]
        if batch.t_begin > self._span[1]:
            self._add_gaps(np.array([[self._span[1], batch.t_begin]], dtype=np.int64))
        self._add_gaps(batch.gaps)
        if len(batch):
            _extend(self._data["timestamps"], batch.timestamps)
            _extend(self._data["detectors"], batch.channels)
            if batch.nanotimes is not None:
                _extend(self._data["nanotimes"], batch.nanotimes.astype(self._nanotime_dtype))
            self._counts += per_channel
        self._span[1] = batch.t_end
        if time.monotonic() - self._last_flush >= self._flush_every_s:
            f.flush()
            self._last_flush = time.monotonic()

    def finish(self, *, duration_ps: int | None = None, truth: StateTimeline | None = None) -> Path:
        """Write the closing fields, close the file and give it its name.

        Parameters
        ----------
        duration_ps
            Acquisition duration to record, ps; defaults to the span covered.
        truth
            The simulator's state timeline, if any.
        """
        f = self._open_file()
        try:
            _extend(self._gaps, self._pending_gap)
            span = self._span or [0, 0]
            user = f[spec.TAGSTREAM_GROUP]
            _dataset(
                user, spec.USER_SPAN, np.asarray(span, dtype=np.int64), _USER_TITLES[spec.USER_SPAN]
            )
            if truth is not None:
                _write_truth(user, truth)
            duration = span[1] - span[0] if duration_ps is None else int(duration_ps)
            _official(f, "/acquisition_duration", np.float64(duration / PS_PER_S))
            ids = np.array([c.number for c in self.metadata.channels], dtype=np.uint8)
            _official(f, "/setup/detectors/counts", self._counts[ids])
            f.close()
            self._file = None
            _publish(self._tmp, self.path, self._force)
        except BaseException:
            self.abort()
            raise
        self._tmp = None
        return self.path

    def abort(self) -> None:
        """Discard the file being written; a file already under the target name is untouched."""
        if self._file is not None:
            try:
                self._file.close()
            finally:
                self._file = None
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self.abort()
        elif self._file is not None:
            self.finish()

    # ------------------------------------------------------------------ helpers
    def _open_file(self) -> h5py.File:
        if self._file is None:
            raise TagstreamError(f"{self.path}: the file is already closed")
        return self._file

    def _check_batch(self, batch: TagBatch) -> np.ndarray:
        """Check that the batch fits the file; return its tag count per channel number."""
        if self._span is not None and batch.t_begin < self._span[1]:
            raise BatchError(
                f"batch begins at {batch.t_begin} ps, before the previous one ended "
                f"({self._span[1]} ps)"
            )
        if batch.mode != self.metadata.mode:
            raise BatchError(f"a {batch.mode} batch in a {self.metadata.mode} run")
        if batch.nanotimes is not None:
            _check_nanotimes(batch, self.metadata, self._nanotime_dtype)
        per_channel = np.bincount(batch.channels, minlength=256)
        unknown = np.flatnonzero((per_channel > 0) & ~self._known)
        if unknown.size:
            raise BatchError(f"tags on channel {int(unknown[0])}, which the channel map lacks")
        return per_channel

    def _add_gaps(self, gaps: np.ndarray) -> None:
        """Queue gaps; the last one is held back, as the next batch may extend it."""
        if not len(gaps):
            return
        merged = iv.normalize(np.concatenate([self._pending_gap, gaps]))
        _extend(self._gaps, merged[:-1])
        self._pending_gap = merged[-1:]


# ---------------------------------------------------------------------- target file
def _create_beside(out: Path) -> tuple[Path, h5py.File]:
    """A new HDF5 file under a hidden temporary name in the target's folder."""
    tmp = out.with_name(f".{out.name}.{secrets.token_hex(4)}.partial")
    try:
        return tmp, h5py.File(tmp, "w-")
    except OSError as exc:
        raise RunFileError(out, f"cannot create a file in {out.parent} ({exc})") from exc


def _publish(tmp: Path, out: Path, force: bool) -> None:
    """Give the complete file its name; without ``force`` never replace a file that appeared
    meanwhile."""
    if force:
        os.replace(tmp, out)
        return
    try:
        os.link(tmp, out)
    except FileExistsError:
        raise OutputExistsError(out) from None
    except OSError:  # a file system without hard links
        if out.exists():
            raise OutputExistsError(out) from None
        os.replace(tmp, out)
        return
    tmp.unlink()


# ---------------------------------------------------------------------- checks
def _check_metadata(metadata: RunMetadata) -> None:
    if metadata.mode == "T3" and not metadata.laser_period_ps:
        raise TagstreamError(
            "a T3 run needs its sync period (metadata.sync_period_ps) to be written to Photon-HDF5"
        )


def _nanotime_dtype(metadata: RunMetadata) -> np.dtype:
    if metadata.mode != "T3":
        return np.dtype(np.uint16)
    return np.dtype(np.uint16 if _tcspc_num_bins(metadata) <= 1 << 16 else np.uint32)


def _tcspc_num_bins(metadata: RunMetadata) -> int:
    """Number of TCSPC bins: the sync period in nanotime units, rounded up."""
    period = metadata.sync_period_ps or metadata.laser_period_ps
    return max(1, int(np.ceil(period / metadata.nanotime_unit_ps - 1e-9)))


def _check_nanotimes(batch: TagBatch, metadata: RunMetadata, dtype: np.dtype) -> None:
    unit = batch.nanotime_unit_ps
    if unit is not None and not np.isclose(unit, metadata.nanotime_unit_ps, rtol=1e-9):
        raise BatchError(
            f"nanotime unit {unit} ps differs from the run's {metadata.nanotime_unit_ps} ps"
        )
    nt = batch.nanotimes
    if nt.size and (nt.min() < 0 or nt.max() > np.iinfo(dtype).max):
        raise BatchError(f"nanotimes outside 0..{np.iinfo(dtype).max}")


# ---------------------------------------------------------------------- layout
def _text(value: str) -> np.bytes_:
    """A scalar fixed-length UTF-8 string."""
    return np.bytes_(value.encode("utf-8"))


def _texts(values: Iterable[str]) -> np.ndarray:
    """A 1-D array of fixed-length UTF-8 strings."""
    encoded = [v.encode("utf-8") for v in values]
    width = max((len(e) for e in encoded), default=0)
    return np.array(encoded, dtype=f"S{max(width, 1)}")


def _title(node: h5py.HLObject, text: str) -> None:
    node.attrs["TITLE"] = _text(text)


def _group(f: h5py.File, path: str) -> h5py.Group:
    """The official group at ``path``, created with its description if missing."""
    if path in f:
        return f[path]
    group = f.create_group(path)
    _title(group, spec.description(path))
    return group


def _dataset(parent: h5py.Group, name: str, data: object, title: str | None = None) -> h5py.Dataset:
    """Create a dataset; scalars are marked so that PyTables reads them as Python values
    (as phconvert writes them)."""
    ds = parent.create_dataset(name, data=data)
    if title is not None:
        _title(ds, title)
    if np.ndim(data) == 0:
        ds.attrs["FLAVOR"] = np.bytes_(b"python")
    return ds


def _official(f: h5py.File, path: str, data: object) -> h5py.Dataset:
    """Create the official field at ``path`` (and its parent groups) with its description."""
    parent = path.rsplit("/", 1)[0] or "/"
    if parent != "/":
        _group(f, parent)
    return _dataset(f, path, data, spec.description(path))


def _default_description(metadata: RunMetadata) -> str:
    return f"tagstream {metadata.mode} run from {metadata.source}"


def _software_version() -> str:
    try:
        return package_version(SOFTWARE)
    except PackageNotFoundError:
        return "unknown"


def _write_root(f: h5py.File, description: str) -> None:
    _title(f, spec.description("/"))
    for name, value in spec.ROOT_ATTRIBUTES.items():
        f.attrs[name] = _text(value)
    _official(f, "/description", _text(description))
    _official(f, "/format_name", _text(spec.FORMAT_NAME))
    _official(f, "/format_version", _text(spec.FORMAT_VERSION))


def _write_identity(f: h5py.File, out: Path) -> None:
    fields = {
        "filename": out.name,
        "filename_full": str(out.resolve()),
        "creation_time": time.strftime("%Y-%m-%d %H:%M:%S"),
        "software": SOFTWARE,
        "software_version": _software_version(),
        "format_name": spec.FORMAT_NAME,
        "format_version": spec.FORMAT_VERSION,
        "format_url": spec.FORMAT_URL,
    }
    for name, value in fields.items():
        _official(f, f"/identity/{name}", _text(value))


def _laser_rate_hz(metadata: RunMetadata) -> float | None:
    return None if not metadata.laser_period_ps else PS_PER_S / metadata.laser_period_ps


def _label(channel: Channel) -> str:
    return spec.SYNC_LABEL if channel.role == Role.SYNC else channel.name


def _write_setup(f: h5py.File, metadata: RunMetadata) -> None:
    channels = metadata.channels
    rate = _laser_rate_hz(metadata)
    scalars = {
        "num_pixels": len(channels.detectors),
        "num_spots": 1,
        "num_spectral_ch": 1,
        "num_polarization_ch": 1,
        "num_split_ch": 2 if metadata.hbt_pair else 1,
        "modulated_excitation": 0,
        "lifetime": int(metadata.mode == "T3"),
    }
    for name, value in scalars.items():
        _official(f, f"/setup/{name}", np.int64(value))
    _official(f, "/setup/excitation_alternated", np.zeros(1, dtype=np.uint8))
    _official(f, "/setup/excitation_cw", np.array([rate is None], dtype=np.uint8))
    if rate is not None:
        _official(f, "/setup/laser_repetition_rates", np.array([rate]))
    ids = np.array([c.number for c in channels], dtype=np.uint8)
    _official(f, "/setup/detectors/id", ids)
    _official(f, "/setup/detectors/label", _texts(_label(c) for c in channels))


def _growing(f: h5py.File, path: str, dtype: np.dtype, compression: int | None) -> h5py.Dataset:
    """A resizable, chunked 1-D official array, empty for now."""
    packing = {}
    if compression is not None:
        packing = {"compression": "gzip", "compression_opts": compression, "shuffle": True}
    ds = f.create_dataset(
        path, shape=(0,), maxshape=(None,), dtype=dtype, chunks=(CHUNK_TAGS,), **packing
    )
    _title(ds, spec.description(path))
    return ds


def _create_photon_data(
    f: h5py.File, metadata: RunMetadata, nanotime_dtype: np.dtype, compression: int | None
) -> dict[str, h5py.Dataset]:
    _group(f, "/photon_data")
    data = {
        "timestamps": _growing(f, "/photon_data/timestamps", np.dtype(np.int64), compression),
        "detectors": _growing(f, "/photon_data/detectors", np.dtype(np.uint8), compression),
    }
    _official(f, "/photon_data/timestamps_specs/timestamps_unit", np.float64(1 / PS_PER_S))
    if metadata.mode == "T3":
        data["nanotimes"] = _growing(f, "/photon_data/nanotimes", nanotime_dtype, compression)
        bins = _tcspc_num_bins(metadata)
        unit_s = metadata.nanotime_unit_ps / PS_PER_S
        _official(f, "/photon_data/nanotimes_specs/tcspc_unit", np.float64(unit_s))
        _official(f, "/photon_data/nanotimes_specs/tcspc_num_bins", np.int64(bins))
        _official(f, "/photon_data/nanotimes_specs/tcspc_range", np.float64(bins * unit_s))
    _write_measurement_specs(f, metadata)
    return data


def _write_measurement_specs(f: h5py.File, metadata: RunMetadata) -> None:
    base = "/photon_data/measurement_specs"
    _official(f, f"{base}/measurement_type", _text(spec.MEASUREMENT_TYPE))
    rate = _laser_rate_hz(metadata)
    if rate is not None:
        _official(f, f"{base}/laser_repetition_rate", np.float64(rate))
    specs = _group(f, f"{base}/detectors_specs")
    channels = metadata.channels
    if metadata.hbt_pair:
        for k, name in enumerate(metadata.hbt_pair, start=1):
            number = channels.lookup(name).number
            _official(f, f"{specs.name}/split_ch{k}", np.array([number], dtype=np.uint8))
    others = [c.number for c in channels if c.role != Role.DETECTOR]
    if others:
        _official(f, f"{specs.name}/non_photon_id1", np.array(others, dtype=np.uint8))


def _write_user(f: h5py.File, metadata: RunMetadata, config_text: str | None) -> h5py.Dataset:
    """Create ``/user/tagstream`` with the metadata and config; return the growing gaps
    array."""
    user = f.require_group(spec.TAGSTREAM_GROUP)
    user.attrs["layout_version"] = np.int64(spec.TAGSTREAM_LAYOUT_VERSION)
    _dataset(
        user,
        spec.USER_METADATA,
        _text(json.dumps(metadata.to_dict(), default=_json_value)),
        _USER_TITLES[spec.USER_METADATA],
    )
    if config_text is not None:
        _dataset(user, spec.USER_CONFIG, _text(config_text), _USER_TITLES[spec.USER_CONFIG])
    gaps = user.create_dataset(
        spec.USER_GAPS, shape=(0, 2), maxshape=(None, 2), dtype=np.int64, chunks=(1024, 2)
    )
    _title(gaps, _USER_TITLES[spec.USER_GAPS])
    return gaps


def _json_value(value: object) -> object:
    """numpy scalars and arrays in the settings, as plain JSON values."""
    if isinstance(value, np.generic | np.ndarray):
        return value.tolist()
    raise TypeError(f"settings: {type(value).__name__} cannot be stored as JSON")


def _write_truth(user: h5py.Group, truth: StateTimeline) -> None:
    group = user.create_group(spec.USER_TRUTH)
    _title(group, _USER_TITLES[spec.USER_TRUTH])
    states = np.asarray(truth.states)
    if not np.issubdtype(states.dtype, np.integer):
        raise TagstreamError(f"truth: states must be integer codes, got {states.dtype}")
    _dataset(group, "names", _texts(truth.names), "State names.")
    _dataset(group, "starts", np.asarray(truth.starts, dtype=np.int64), "Segment starts, ps.")
    _dataset(group, "states", states, "State of each segment (index into names).")
    _dataset(group, "end", np.int64(truth.end), "End of the last segment, ps.")


def _extend(ds: h5py.Dataset, values: np.ndarray) -> None:
    """Append rows to a resizable dataset."""
    if not len(values):
        return
    n = ds.shape[0]
    ds.resize(n + len(values), axis=0)
    ds[n:] = values
