"""How arrays are laid out on disk: chunk length and compression.

Measured with ``tagstream bench`` (writer rows, T3 stream of 2 × 1 Mcps in batches of 131072
tags, 11 bytes per tag) on the 2-core build machine on 7 December while other jobs took part of
it — every row of one run (numpy.sum: 1973 M tags/s), so compare them with each other; file
sizes also for a T2 stream with a 20 MHz sync channel:

``deflate`` (default)
    26 M tags/s (0.013 × numpy.sum; Blosc 42, none 60 in the same run); files 2.3× (T3) to
    6.4× (T2 with a sync) smaller. HDF5's built-in shuffle and deflate filters (and
    fletcher32), so every HDF5 reader decodes it without plug-ins: h5py, h5dump, HDFView,
    MATLAB, PyTables. The chunks are byte-shuffled and deflated outside HDF5 with ISA-L
    (level 1: about 1.3 GB/s of shuffled timestamps per core, ten times zlib's level 1 at the
    same ratio) on every core and written as the filters would store them, see
    :mod:`.chunk_codec`. The writer needs 27-31 ns of CPU per tag (11 in the writing thread),
    so with both cores free it should write about 60 M tags/s (an estimate, not measured).
``none``
    60 M tags/s; the file holds every byte of the arrays: the fastest to write, the largest
    on disk.
``blosc``
    Blosc with LZ4 (level 5), compressed on every core like ``deflate`` and about 1.5× as
    fast (42 M tags/s, 21 ns of CPU per tag); files 2.3× (T3) to 4.7× (T2 with a sync channel)
    smaller. It is HDF5 filter 32001, a plug-in: PyTables (and therefore phconvert) reads it
    natively, h5py after ``import hdf5plugin``, h5dump and MATLAB only with the plug-in
    installed. Timestamps are byte-shuffled; channel numbers and nanotimes bit-shuffled (55 %
    and 18 % smaller than byte shuffling at the same speed).
``lzf``
    Ships with h5py (no plugin needed) and packs like Blosc after shuffling, but writes at
    about 13 M tags/s in the run above (in the writing thread), below what fast taggers
    deliver.
``gzip``
    Shuffle and deflate level 1 by HDF5 itself in the writing thread (zlib): the files of
    ``deflate``, slightly smaller (2.4×, 6.5×), at 8 M tags/s in the run above.
"""

from __future__ import annotations

from typing import Any

import hdf5plugin
import numpy as np

from ..errors import TagstreamError
from ..sources.hdf5_filters import ISAL_LEVEL
from .chunk_codec import BloscChunks, ChunkCodec, DeflateChunks

#: Tags per chunk of uncompressed tag arrays: 512 kB of timestamps, large enough for the
#: per-chunk cost to vanish.
CHUNK_TAGS = 1 << 16
#: Tags per chunk of compressed tag arrays. A commit in the middle of a chunk stores it, and the
#: complete chunk is stored anew later; a file open for SWMR writing never reuses the space of
#: the first copy. At one commit per second that costs up to one compressed chunk per second:
#: with 16384-tag chunks files grow by 8 % at 100 kcps and 1 % at 1 Mcps (33 % and 3 % with
#: 65536), for 15-20 % less write speed. Uncompressed chunks are rewritten in place.
COMPRESSED_CHUNK_TAGS = 1 << 14
#: Snapshots per chunk of a result series.
CHUNK_SNAPSHOTS = 16

#: Blosc settings of the ``blosc`` compression.
BLOSC_CNAME = "lz4"
BLOSC_CLEVEL = 5

COMPRESSIONS = ("none", "blosc", "lzf", "gzip", "deflate")
DEFAULT_COMPRESSION = "deflate"


def check_compression(name: str) -> str:
    """``name`` if it is one of :data:`COMPRESSIONS`, else a :class:`TagstreamError`."""
    if name not in COMPRESSIONS:
        raise TagstreamError(f"compression {name!r}: choose one of {', '.join(COMPRESSIONS)}")
    return name


def chunk_tags(name: str) -> int:
    """Tags per chunk of the tag arrays under the compression ``name``."""
    return CHUNK_TAGS if check_compression(name) == "none" else COMPRESSED_CHUNK_TAGS


def blosc_shuffle(dtype: np.dtype) -> int:
    """Blosc shuffle mode for an array of ``dtype``: bits for 1- and 2-byte values (channel
    numbers, nanotimes), bytes for wider ones."""
    if np.dtype(dtype).itemsize <= 2:
        return hdf5plugin.Blosc.BITSHUFFLE
    return hdf5plugin.Blosc.SHUFFLE


def filter_options(name: str, dtype: np.dtype | None = None) -> dict[str, Any]:
    """Keyword arguments of ``h5py.Group.create_dataset`` for the compression ``name`` of an
    array of ``dtype`` (float64 if not given)."""
    check_compression(name)
    if name == "deflate":  # the level HDF5 would use itself (result series); tags come packed
        return {"compression": "gzip", "compression_opts": ISAL_LEVEL, "shuffle": True}
    if name == "blosc":
        shuffle = blosc_shuffle(np.float64 if dtype is None else dtype)
        return dict(hdf5plugin.Blosc(cname=BLOSC_CNAME, clevel=BLOSC_CLEVEL, shuffle=shuffle))
    if name == "lzf":
        return {"compression": "lzf", "shuffle": True}
    if name == "gzip":
        return {"compression": "gzip", "compression_opts": 1, "shuffle": True}
    return {}


def chunk_codec(name: str) -> ChunkCodec | None:
    """What compresses whole chunks of tag arrays outside HDF5 under the compression ``name``
    (for direct chunk writes); ``None`` where HDF5's own filter does it."""
    if check_compression(name) == "blosc":
        return BloscChunks(BLOSC_CNAME, BLOSC_CLEVEL, blosc_shuffle)
    if name == "deflate":
        return DeflateChunks(ISAL_LEVEL)
    return None
