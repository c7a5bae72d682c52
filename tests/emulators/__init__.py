"""Emulators of instruments at their transport boundary, for the driver tests."""
