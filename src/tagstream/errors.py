"""Exceptions raised by tagstream.

Every error a user can cause derives from :class:`TagstreamError`; the command line turns these
into a one-line message and exit code 2.
"""

from __future__ import annotations

import os
from pathlib import Path


class TagstreamError(Exception):
    """Base class of all errors caused by bad input or bad usage."""


class UnitError(TagstreamError, ValueError):
    """A quantity string such as ``"12.5 ns"`` could not be parsed."""


class ChannelError(TagstreamError, KeyError):
    """A channel name or number is not in the run's channel map."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain
        return str(self.args[0]) if self.args else ""


class BatchError(TagstreamError, ValueError):
    """A tag batch violates the tag model (order, dtype, span, gaps)."""


class AnalysisError(TagstreamError, ValueError):
    """An analysis cannot run on the data or settings it was given."""


class FitError(AnalysisError):
    """A fit has too little data or did not converge."""


class RunFileError(TagstreamError):
    """A run file cannot be found, recognised, read or written; the message names the file."""

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path = Path(path)
        self.reason = " ".join(str(reason).split())
        super().__init__(f"{self.path}: {self.reason}")


class MissingFileError(RunFileError):
    """The file does not exist, or the path is a folder."""


class UnsupportedFormatError(RunFileError):
    """The content is not a format tagstream reads (or not yet)."""


class CorruptFileError(RunFileError):
    """The file has the right format but is truncated or damaged."""


class NotPhotonHDF5Error(RunFileError):
    """An HDF5 file that lacks a field Photon-HDF5 requires.

    Attributes
    ----------
    field
        Path of the missing field, e.g. ``"/photon_data/timestamps"``.
    """

    def __init__(self, path: str | os.PathLike, field: str):
        self.field = field
        super().__init__(path, f"not a Photon-HDF5 file: missing field {field}")


class DeviceError(TagstreamError):
    """A device that cannot be reached or that reported an error; the message names it."""


class SettingsError(TagstreamError):
    """A setting a device does not accept; the message names the device and the setting."""


class OutputExistsError(RunFileError):
    """Refusing to overwrite an existing file without ``--force``."""

    def __init__(self, path: str | os.PathLike):
        super().__init__(path, "file exists; use --force to overwrite it")


class WriteError(RunFileError):
    """A run file could not be written (disk full, quota, I/O error); what its last commit
    made final stays readable. The command line exits with code 1."""
