"""Reading what `tagstream run` wrote to stderr in tests."""

from __future__ import annotations


def error_lines(stderr: str) -> list[str]:
    """The error lines among what a run wrote to stderr (the live view writes there too)."""
    return [line for line in stderr.splitlines() if "error:" in line]
