"""What a run file being written accepts: a T3 run's metadata needs its sync period; each batch
must follow the previous one, have the run's mode, nanotimes in the run's unit that fit the
stored dtype, and tags only on channels of the channel map. Refusals raise
:class:`~tagstream.errors.BatchError` (or :class:`~tagstream.errors.TagstreamError` for the
metadata) with a one-line reason."""

from __future__ import annotations

import numpy as np

from ..errors import BatchError, TagstreamError
from ..kernels.channel_counts import channel_counts
from ..tags import RunMetadata, TagBatch


def check_metadata(metadata: RunMetadata) -> None:
    """The metadata can be written to Photon-HDF5."""
    if metadata.mode == "T3" and not metadata.laser_period_ps:
        raise TagstreamError(
            "a T3 run needs its sync period (metadata.sync_period_ps or laser_period_ps) to be "
            "written to Photon-HDF5"
        )


def check_batch(
    batch: TagBatch,
    metadata: RunMetadata,
    nanotime_dtype: np.dtype,
    known: np.ndarray,
    end: int | None,
    counts: np.ndarray | None = None,
) -> np.ndarray:
    """Check that the batch fits the file whose appended batches end at ``end`` (ps; ``None``
    before the first) and whose channel numbers are ``known`` (a mask over channel numbers);
    return its tag count per channel number (``counts`` when the caller counted them)."""
    if end is not None and batch.t_begin < end:
        raise BatchError(
            f"batch begins at {batch.t_begin} ps, before the previous one ended ({end} ps)"
        )
    if batch.mode != metadata.mode:
        raise BatchError(f"a {batch.mode} batch in a {metadata.mode} run")
    if batch.nanotimes is not None:
        check_nanotimes(batch, metadata, nanotime_dtype)
    per_channel = channel_counts(batch.channels) if counts is None else counts
    unknown = np.flatnonzero((per_channel > 0) & ~known)
    if unknown.size:
        raise BatchError(f"tags on channel {int(unknown[0])}, which the channel map lacks")
    return per_channel


def check_nanotimes(batch: TagBatch, metadata: RunMetadata, dtype: np.dtype) -> None:
    """The batch's nanotimes are in the run's unit (ps) and fit ``dtype``."""
    unit = batch.nanotime_unit_ps
    if unit is not None and not np.isclose(unit, metadata.nanotime_unit_ps, rtol=1e-9):
        raise BatchError(
            f"nanotime unit {unit} ps differs from the run's {metadata.nanotime_unit_ps} ps"
        )
    nt = batch.nanotimes
    if np.can_cast(nt.dtype, dtype, casting="safe"):
        return
    if nt.size and (nt.min() < 0 or nt.max() > np.iinfo(dtype).max):
        raise BatchError(f"nanotimes outside 0..{np.iinfo(dtype).max}")
