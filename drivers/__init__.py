"""Hardware adapters, one module per instrument (installed as ``tagstream.drivers``): time taggers
and TCSPC units implementing the source protocol (:mod:`tagstream.sources.device_protocol`), and
auxiliary instruments (lasers, power meters, shutters, filter wheels) whose readings go into a
run's metadata. They are loaded by name (:mod:`tagstream.sources.device_registry`)."""
