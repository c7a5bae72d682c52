"""``tagstream repair``: make a run file whose writer died readable by every HDF5 tool."""

from __future__ import annotations

import argparse

from ..store.repair import repair_run


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``repair`` command (its argument: a run file) to the subcommand parsers ``sub``."""
    p = sub.add_parser(
        "repair",
        help="check a run file left open by a killed writer and clear its open-for-writing mark",
        description="Reads every committed tag (checking each chunk's checksum), then clears "
        "the HDF5 superblock's open-for-writing mark that a killed writer leaves, so h5py, "
        "h5dump, HDFView and MATLAB open the file. Nothing is removed; a damaged file is "
        "reported and left as it was; a file still being written is refused.",
    )
    p.add_argument("file", metavar="FILE", help="the run file (Photon-HDF5)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Check the run file ``args.file`` and clear its open-for-writing mark, printing what was
    found; returns the exit status (0)."""
    print(repair_run(args.file).summary())
    return 0
