"""Measurement kinds defined only in the tests (plug-ins loaded by ``[analysis] plugins``)."""
