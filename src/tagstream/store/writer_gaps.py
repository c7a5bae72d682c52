"""The gaps of a run file being written: rows of ``/user/tagstream/gaps`` (k, 2), ps.

Gaps come with the batches and between them; touching or overlapping ones are merged. The last
gap waits, as the next batch may extend it: a commit writes it in the row after the final ones,
where it is written again, longer, if it grows.
"""

from __future__ import annotations

import h5py
import numpy as np

from ..tags import intervals as iv


class GapRows:
    """The gaps written to ``dataset`` so far.

    Attributes
    ----------
    rows
        Final rows of the dataset.
    """

    def __init__(self, dataset: h5py.Dataset):
        self._dataset = dataset
        self.rows = 0
        self._pending = iv.EMPTY  # the last gap, which the next batch may extend

    def add(self, gaps: np.ndarray) -> None:
        """Write the gaps that are final; the last one waits, as the next batch may extend it."""
        if not len(gaps):
            return
        merged = iv.normalize(np.concatenate([self._pending, gaps]))
        for row in merged[:-1]:
            put_row(self._dataset, self.rows, row)
            self.rows += 1
        self._pending = merged[-1:]

    def write_pending(self) -> int:
        """Write the waiting gap after the final rows (when there is one); the rows a commit
        records."""
        if len(self._pending):
            put_row(self._dataset, self.rows, self._pending[0])
        return self.rows + len(self._pending)


def put_row(ds: h5py.Dataset, index: int, row: np.ndarray) -> None:
    """Write ``row`` at ``index``, growing the dataset when it is shorter."""
    if ds.shape[0] <= index:
        ds.resize(index + 1, axis=0)
    ds[index] = row
