"""Swabian Instruments devices."""
