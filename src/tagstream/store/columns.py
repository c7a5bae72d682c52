"""Same-length tag arrays appended to their HDF5 datasets in whole chunks."""

from __future__ import annotations

from collections.abc import Mapping

import h5py
import numpy as np

from .chunk_codec import ChunkCodec

#: Chunks held in memory per array before they are written.
STAGE_CHUNKS = 8


class ChunkedColumns:
    """Appends rows to 1-D resizable datasets of equal length, a whole chunk at a time.

    Rows wait in a staging buffer of :data:`STAGE_CHUNKS` chunks that starts on a chunk
    boundary in the file, so HDF5 writes (and compresses) whole chunks and never reads one back.
    :meth:`flush` writes the staged rows not yet in the file; the partial chunk at the end is
    written again, complete, once its rows arrive. (A compressed chunk that grows is stored
    anew, and a file open for SWMR writing does not reuse the old space: each flush in the middle
    of a chunk costs up to one compressed chunk of file size.)

    With a ``codec``, the chunks are compressed by it (on every core) and written to the file
    as they are, past HDF5's filter pipeline; the datasets' filter must decode what it makes.

    Parameters
    ----------
    datasets
        The datasets by name, all empty, chunked with the same chunk length.
    codec
        Compresses chunks for direct writes; ``None`` to let HDF5 do it.
    """

    def __init__(self, datasets: Mapping[str, h5py.Dataset], codec: ChunkCodec | None = None):
        self._datasets = dict(datasets)
        self._codec = codec
        chunk = {ds.chunks[0] for ds in self._datasets.values()}
        if len(chunk) != 1:
            raise ValueError("columns: the datasets must share one chunk length")
        self.chunk = chunk.pop()
        self.capacity = self.chunk * STAGE_CHUNKS
        self._stage = {
            name: np.empty(self.capacity, dtype=ds.dtype) for name, ds in self._datasets.items()
        }
        self._start = 0  # file row of stage[0], a chunk boundary
        self._fill = 0  # rows staged
        self._written = 0  # rows in the file
        # rows the datasets hold (asking HDF5 each time costs more than writing a chunk)
        self._extent = min(ds.shape[0] for ds in self._datasets.values())

    @property
    def rows(self) -> int:
        """Rows appended so far (in the file or staged)."""
        return self._start + self._fill

    def append(self, columns: Mapping[str, np.ndarray]) -> None:
        """Append equal-length arrays, one per dataset, of the datasets' dtypes."""
        n = len(next(iter(columns.values())))
        i = 0
        while i < n:
            if self._fill == 0 and n - i >= self.capacity:
                whole = (n - i) // self.capacity * self.capacity
                self._write({k: v[i : i + whole] for k, v in columns.items()}, self._start)
                self._start += whole
                self._written = self._start
                i += whole
                continue
            take = min(n - i, self.capacity - self._fill)
            for name, stage in self._stage.items():
                stage[self._fill : self._fill + take] = columns[name][i : i + take]
            self._fill += take
            i += take
            if self._fill == self.capacity:
                self._write_staged()
                self._start += self.capacity
                self._fill = 0

    def flush(self) -> None:
        """Write the staged rows not yet in the file (they stay staged until their chunks are
        complete)."""
        if self._start + self._fill > self._written:
            self._write_staged()

    def _write_staged(self) -> None:
        """Write the staged rows from the first chunk not yet complete in the file."""
        first = (self._written - self._start) // self.chunk * self.chunk
        staged = {k: v[first : self._fill] for k, v in self._stage.items()}
        self._write(staged, self._start + first)
        self._written = self._start + self._fill

    def _write(self, columns: Mapping[str, np.ndarray], at: int) -> None:
        """Write equal-length arrays at file row ``at``, a chunk boundary."""
        codec = self._codec
        frames = {}
        if codec is not None:  # every column's chunks compress together, then are written
            frames = {name: codec.submit(values, self.chunk) for name, values in columns.items()}
        for name, values in columns.items():
            ds = self._datasets[name]
            end = at + len(values)
            if self._extent < end:
                ds.resize(end, axis=0)
            if codec is None:
                ds[at:end] = values
                continue
            row, dsid = at, ds.id
            for future in frames[name]:
                for frame in future.result():
                    dsid.write_direct_chunk((row,), frame)
                    row += self.chunk
        self._extent = max(self._extent, at + len(next(iter(columns.values()), ())))
