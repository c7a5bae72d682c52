"""Run configurations and simulator presets (TOML files), installed as ``tagstream.configs``."""
