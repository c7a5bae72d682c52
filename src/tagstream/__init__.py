"""tagstream: a photon time-tag engine."""

__version__ = "0.1.0"
