"""An independent photon-stream generator ("the world") for testing the analyses.

A single quantum emitter under pulsed or CW excitation, seen through an HBT setup (beam
splitter, two detectors with efficiency, jitter, cable delay, dark counts and dead time) by a
T2 or T3 time tagger with a possibly divided and delayed sync; optional multi-state blinking.
Written from the physical definitions, independently of ``tagstream.sources.simulator``; it
imports only :mod:`tagstream.tags` (to package the tags) and the independent PTU encoder
``tests/pq_encoder.py``. Conventions are in :mod:`tests.world.emitter` (model) and
:mod:`tests.world.files` (file layouts).
"""

from .emitter import (
    Detector,
    Setup,
    Telegraph,
    Timeline,
    World,
    blinking_trace,
    cw,
    dead_time_mask,
    photon_probabilities,
    pulsed,
)
from .files import cut_file, ptu_events, write_photon_hdf5, write_ptu

__all__ = [
    "Detector",
    "Setup",
    "Telegraph",
    "Timeline",
    "World",
    "blinking_trace",
    "cut_file",
    "cw",
    "dead_time_mask",
    "photon_probabilities",
    "ptu_events",
    "pulsed",
    "write_photon_hdf5",
    "write_ptu",
]
