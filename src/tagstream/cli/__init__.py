"""The ``tagstream`` command line: thin verbs over the library.

Exit codes: 0 success, 2 bad usage or bad input (one line on stderr naming the problem),
1 anything else (a file that cannot be written, Ctrl-C).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from ..errors import TagstreamError, WriteError
from . import analyze, bench, devices, info, keys, replay, run, simulate, worker

VERBS = (simulate, analyze, run, replay, info, devices, bench, worker, keys)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tagstream", description="Photon time-tag engine: g2, lifetimes and blinking."
    )
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    for verb in VERBS:
        verb.register(sub)
    return parser


def _version() -> str:
    from .. import __version__

    return f"tagstream {__version__}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except WriteError as exc:
        print(f"tagstream {args.verb}: error: {exc}", file=sys.stderr)
        return 1
    except TagstreamError as exc:
        print(f"tagstream {args.verb}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"tagstream {args.verb}: interrupted", file=sys.stderr)
        return 1
    except BrokenPipeError:  # the reader went away (`tagstream info X | head`): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so that the exit flush does not fail again
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
