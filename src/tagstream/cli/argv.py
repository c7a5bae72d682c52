"""The command line's words before argparse reads them (no heavy imports: this runs first)."""

from __future__ import annotations

import re
from collections.abc import Sequence

#: A value that begins like a negative number or time ("-5s", "-0.5 ms").
_NEGATIVE = re.compile(r"-\.?\d")


def joined_negative_values(argv: Sequence[str]) -> list[str]:
    """``argv`` with ``--option -5s`` written as ``--option=-5s``, so that a negative value
    reaches the option (and its check) instead of being taken for an option itself."""
    out: list[str] = []
    for arg in argv:
        if (
            out
            and _NEGATIVE.match(arg)
            and out[-1].startswith("--")
            and "=" not in out[-1]
        ):
            out[-1] = f"{out[-1]}={arg}"
        else:
            out.append(arg)
    return out
