"""Tests of drivers/s15."""
