"""Exceptions raised by tagstream.

Every error a user can cause derives from :class:`TagstreamError`; the command line turns these
into a one-line message and exit code 2.
"""

from __future__ import annotations


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
