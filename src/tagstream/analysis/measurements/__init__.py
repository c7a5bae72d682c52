"""The built-in measurement kinds; importing this package registers them in the order of
:data:`BUILT_IN_KINDS` (see :mod:`tagstream.analysis.measurement`)."""

import importlib

#: Modules of the built-in kinds, in the order they register (and snapshot).
BUILT_IN_KINDS = (
    "g2", "lifetime", "trace", "flid", "g2_log", "levels", "xx_x", "g3", "heralded", "hom",
    "image", "counters",
)

for _name in BUILT_IN_KINDS:
    importlib.import_module(f"{__name__}.{_name}")
