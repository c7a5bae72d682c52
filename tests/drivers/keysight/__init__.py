"""Tests of drivers/keysight."""
