"""What a run file's writer does when it cannot go on: the one-line
:class:`~tagstream.errors.WriteError` (the operating system's reason, the byte offset HDF5
names, and how much of the run the file keeps), the file abandoned without writing more, and the
reason a stopped file's status gives.

HDF5 cannot close a file after a failed write (it retries, fails again, and crashes at exit), so
the file's descriptor is first pointed at ``/dev/null``: the file on disk then holds exactly what
was written before the error, and HDF5 closes cleanly.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import h5py

from ..errors import TagstreamError, WriteError
from ..tags.units import PS_PER_S

#: The operating system's reason and the byte offset in HDF5's message on a failed write.
_HDF5_OS_ERROR = re.compile(r"error message = '([^']*)'")
_HDF5_OFFSET = re.compile(r"offset = (\d+)")


def write_error(
    path: Path, exc: BaseException, doing: str, committed_span: tuple[int, int] | None
) -> BaseException:
    """The error to raise for ``exc`` while ``doing`` something to the file at ``path``, whose
    last commit covered ``committed_span`` (ps; ``None`` before the first): ``exc`` itself
    when it is tagstream's own or an interruption, else a :class:`WriteError`."""
    if isinstance(exc, TagstreamError | KeyboardInterrupt | SystemExit):
        return exc
    message = str(exc)
    reason = _HDF5_OS_ERROR.search(message)
    offset = _HDF5_OFFSET.search(message)
    if reason is not None:
        text = reason.group(1)
    elif isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
    else:
        text = " ".join(message.split()) or type(exc).__name__
    if offset:
        text += f" at byte offset {offset.group(1)}"
    kept = "nothing was committed"
    if committed_span is not None:
        t0, t1 = committed_span
        kept = f"it keeps the first {(t1 - t0) / PS_PER_S:.6g} s of the run"
    return WriteError(path, f"{doing}: {text}; {kept}")


def abandon(f: h5py.File) -> None:
    """Close ``f`` after a failure without writing anything more to it."""
    try:
        fd = f.id.get_vfd_handle()
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, fd)
        os.close(null)
    except Exception:  # the file is closed below either way
        pass
    try:
        f.close()
    except Exception:  # after a failure nothing more can be saved
        pass


def stop_reason(exc: BaseException | None) -> str:
    """What the status of a stopped file says about why it stopped."""
    if exc is None:
        return "stopped"
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
