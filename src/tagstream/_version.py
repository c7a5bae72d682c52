"""The package's version, in a module of its own so that any layer can name it without
importing ``tagstream/__init__`` (whose exports reach every layer)."""

__version__ = "0.1.0"
