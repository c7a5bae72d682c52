"""The ``tagstream`` command line: thin verbs over the library.

Exit codes: 0 success, 2 bad usage or bad input (one line on stderr naming the problem),
1 anything else (a file that cannot be written, an interrupted ``simulate`` or ``analyze``).

The verbs (and with them numba, scipy and h5py) are imported inside :func:`main`, so that a
Ctrl-C at any moment of the start is a one-line "interrupted", never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from .signals import EARLY, remember


def _interrupted_at_start(signum: int, frame: object) -> None:
    """Ctrl-C or SIGTERM while the command starts (imports): only remembered, and acted on
    once the imports are done (an exception raised here could land in an import's callback,
    where Python prints it and goes on)."""
    remember(signum)


def _started_as_command() -> bool:
    return os.path.basename(sys.argv[0]) in ("tagstream", "tagstream.exe", "__main__.py")


def _stopped_by_sigterm(signum: int, frame: object) -> None:
    remember(signum)
    raise KeyboardInterrupt("stopped by SIGTERM")


def _interrupted(signum: int, frame: object) -> None:
    """Ctrl-C until a verb takes the signals over: Python's own, but remembered, for a Ctrl-C
    whose exception is swallowed (handled while a module lock's callback runs, say)."""
    remember(signum)
    raise KeyboardInterrupt


# Ctrl-C or SIGTERM while the command starts (this package's and the verbs' imports) ends it
# quietly once they are done.
if _started_as_command():
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _interrupted_at_start)
    if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _interrupted_at_start)

from ..errors import TagstreamError, WriteError  # noqa: E402
from .argv import joined_negative_values  # noqa: E402

#: The verbs, in the order ``--help`` lists them: modules of this package with ``register``.
VERB_MODULES = (
    "simulate",
    "analyze",
    "batch",
    "run",
    "replay",
    "series",
    "analyze_series",
    "view",
    "image",
    "info",
    "repair",
    "devices",
    "bench",
    "worker",
    "keys",
)


def build_parser() -> argparse.ArgumentParser:
    """The ``tagstream`` argument parser, with every verb's subcommand."""
    parser = argparse.ArgumentParser(
        prog="tagstream", description="Photon time-tag engine: g2, lifetimes and blinking."
    )
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    for name in VERB_MODULES:
        importlib.import_module(f".{name}", __name__).register(sub)
    return parser


def _peek(argv: Sequence[str]) -> tuple[str, Path | None]:
    """How to name the command in a message (``"tagstream simulate"``), and its ``-o`` file
    when that does not exist yet (if an interruption finds it still missing, nothing was
    written), read from the words before argparse (and the verbs) are loaded."""
    words = [w for w in argv if not w.startswith("-")]
    verb = f"tagstream {words[0]}" if words and words[0] in VERB_MODULES else "tagstream"
    output = None
    for i, word in enumerate(argv):
        if word in ("-o", "--output") and i + 1 < len(argv):
            output = argv[i + 1]
        elif word.startswith("--output="):
            output = word.split("=", 1)[1]
    if output is None or output == "-" or Path(output).exists():
        return verb, None
    return verb, Path(output)


def _started() -> bool:
    """Take the signals over from the start's handlers (Ctrl-C and SIGTERM raise, and are
    remembered, until a verb takes them over: simulate, run and replay then complete their
    file); whether a stop came while the command started (said in one line)."""
    if signal.getsignal(signal.SIGINT) is _interrupted_at_start:
        signal.signal(signal.SIGINT, _interrupted)
    if signal.getsignal(signal.SIGTERM) is _interrupted_at_start:
        signal.signal(signal.SIGTERM, _stopped_by_sigterm)
    reason = EARLY.pop("reason", None)
    if reason is None:
        return False
    how = "interrupted" if reason.endswith("Ctrl-C") else reason
    print(f"tagstream: {how} while starting; nothing was written", file=sys.stderr)
    return True


def _version() -> str:
    from .._version import __version__

    return f"tagstream {__version__}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``) and return its exit status: 0 done,
    1 a write error, an interruption or a closed output pipe, 2 any other error (the message on
    stderr)."""
    verb = "tagstream"
    given = sys.argv[1:] if argv is None else list(argv)
    verb, output = _peek(given)  # known before the verbs load, for an early interruption
    try:
        args = build_parser().parse_args(joined_negative_values(given))
        verb = f"tagstream {args.verb}"
        if _started():  # the imports are done: a stop asked for while they ran ends it here
            return 1
        return int(args.run(args) or 0)
    except WriteError as exc:
        print(f"{verb}: error: {exc}", file=sys.stderr)
        return 1
    except TagstreamError as exc:
        print(f"{verb}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        EARLY.clear()  # acted on: a later main() in this process starts afresh
        unwritten = "; nothing was written" if output is not None and not output.exists() else ""
        print(f"{verb}: {str(exc) or 'interrupted'}{unwritten}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # the reader went away (`tagstream info X | head`): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so that the exit flush does not fail again
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
