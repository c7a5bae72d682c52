"""Tests of drivers/swabian."""
