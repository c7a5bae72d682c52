"""``tagstream keys DIR``: the key folder that lets workers on other hosts join a run."""

from __future__ import annotations

import argparse

from ..transport.security import create_key_folder


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``keys`` command (its argument: the key folder) to the subcommand parsers ``sub``."""
    p = sub.add_parser(
        "keys",
        help="make the CURVE keys for runs with workers on other hosts",
        description="Writes acquisition.key(_secret) and worker.key(_secret) into DIR. The run "
        "takes [pipeline] keys = DIR; a worker host needs acquisition.key and "
        "worker.key_secret (tagstream worker --keys DIR). Keep the *_secret files private.",
    )
    p.add_argument("folder", metavar="DIR", help="the folder to write the keys into")
    p.add_argument("--force", action="store_true", help="replace keys already in DIR")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Write the acquisition and worker CURVE key pairs into ``args.folder`` and print their paths;
    returns the exit status (0)."""
    for path in create_key_folder(args.folder, force=args.force):
        print(f"wrote {path}")
    return 0
