"""Emulated auxiliary instruments of a simulated setup (laser, filter wheel, shutter, power
meter) acting on one light path (:mod:`tagstream.sources.optical_bench`) that the simulated dot
follows: a power series runs without hardware."""
