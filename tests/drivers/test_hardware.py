"""On real instruments (``pytest --hardware``; skipped otherwise): each adapter whose device is
present opens it, acquires for a second and stops. Which devices: those ``tagstream devices``
finds, or the ports and indices in ``TAGSTREAM_HARDWARE`` (``adapter=address,...``)."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from tagstream.sources.device_registry import ADAPTERS, find_devices, open_device


def _present() -> list[tuple[str, str]]:
    given = os.environ.get("TAGSTREAM_HARDWARE", "")
    if given:
        return [tuple(item.split("=", 1)) for item in given.split(",")]  # type: ignore[misc]
    return [(name, address) for name, address, _ in find_devices() if address]


@pytest.mark.hardware
def test_the_instruments_on_this_machine_acquire_tags_in_time_order():
    present = _present()
    assert present, f"no devices found for {sorted(ADAPTERS)}; set TAGSTREAM_HARDWARE"
    for name, address in present:
        with open_device(name, address) as dev:
            info = dev.info()
            assert info.resolution_ps > 0 and info.channels
            dev.start()
            blocks = []
            deadline = time.monotonic() + 1.0
            while time.monotonic() < deadline:
                blocks.append(dev.read())
                time.sleep(0.01)
            dev.stop()
            t = np.concatenate([b.timestamps for b in blocks])
            assert np.all(np.diff(t) >= 0), name
            assert blocks[-1].until_ps >= (t[-1] if t.size else 0), name
