"""Thorlabs instruments."""
