"""Excitation lasers."""
