"""Tests of drivers/picoquant."""
