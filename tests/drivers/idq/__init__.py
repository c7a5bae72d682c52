"""Tests of drivers/idq."""
