"""How arrays are laid out on disk: chunk length and compression.

Measured on a 2-core machine (``tagstream bench``, T3 stream of 2 × 2 Mcps, 11 bytes per tag)
the choices compare as follows; the README table has the figures of the current release.

``none``
    Fastest to write and read; the file holds 9 (T2) or 11 (T3) bytes per tag.
``blosc`` (default)
    Blosc with LZ4 and byte shuffling (HDF5 filter 32001, the one PyTables and therefore
    phconvert read natively; h5py reads it after ``import hdf5plugin``). Files are about 2× (T3)
    to 3.5× (T2 with a sync channel) smaller and it writes about as fast as ``none``: byte
    shuffling puts the slowly varying high bytes of the timestamps together.
``lzf``
    Ships with h5py (no plugin needed) and packs as well as Blosc after shuffling, but writes
    at about 20 M tags/s, below what fast taggers deliver.
``gzip``
    Level 1 with shuffling: the smallest files and readable everywhere, about 10 M tags/s.
"""

from __future__ import annotations

from typing import Any

import hdf5plugin

from ..errors import TagstreamError

#: Tags per chunk of the tag arrays: 512 kB of timestamps, small enough for a reader's binary
#: search to decompress little, large enough for the per-chunk cost to vanish.
CHUNK_TAGS = 1 << 16
#: Snapshots per chunk of a result series.
CHUNK_SNAPSHOTS = 16

COMPRESSIONS = ("none", "blosc", "lzf", "gzip")
DEFAULT_COMPRESSION = "blosc"


def check_compression(name: str) -> str:
    """``name`` if it is one of :data:`COMPRESSIONS`, else a :class:`TagstreamError`."""
    if name not in COMPRESSIONS:
        raise TagstreamError(f"compression {name!r}: choose one of {', '.join(COMPRESSIONS)}")
    return name


def filter_options(name: str) -> dict[str, Any]:
    """Keyword arguments of ``h5py.Group.create_dataset`` for the compression ``name``."""
    check_compression(name)
    if name == "blosc":
        return dict(hdf5plugin.Blosc(cname="lz4", clevel=5, shuffle=hdf5plugin.Blosc.SHUFFLE))
    if name == "lzf":
        return {"compression": "lzf", "shuffle": True}
    if name == "gzip":
        return {"compression": "gzip", "compression_opts": 1, "shuffle": True}
    return {}
