"""Shared test configuration."""

from __future__ import annotations

import os

# The fits work on small matrices: BLAS threads only add overhead, and on a loaded 2-core
# machine they can slow each fit several-fold. Set before numpy is imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--hardware", action="store_true", help="run tests that need real instruments")
    parser.addoption(
        "--fuzz-messages",
        type=int,
        default=1000,
        help="hostile messages per socket in the live-run fuzz test (the full run: 10000)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--hardware"):
        return
    skip = pytest.mark.skip(reason="needs real hardware; run with --hardware")
    for item in items:
        if "hardware" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261121)
