"""Presets: the TOML files in ``configs/`` (installed as ``tagstream.configs``)."""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from .config import ConfigError, SimConfig, load_config


def _folder():
    return resources.files("tagstream.configs")


def preset_names() -> list[str]:
    """Names of the simulator presets (file stems in ``configs/``)."""
    names = []
    for entry in _folder().iterdir():
        if entry.name.endswith(".toml"):
            text = entry.read_text()
            if 'kind = "simulator"' in text or "[excitation]" in text:
                names.append(entry.name[: -len(".toml")])
    return sorted(names)


def resolve_config(model: str | Path | Mapping[str, Any]) -> SimConfig:
    """A preset name, a path to a TOML file, or a dict."""
    if isinstance(model, Mapping):
        return load_config(model)
    path = Path(model)
    if path.suffix == ".toml" or path.exists():
        return load_config(path)
    entry = _folder() / f"{model}.toml"
    if not entry.is_file():
        known = ", ".join(preset_names())
        raise ConfigError(f"{model!r} is neither a file nor a preset (presets: {known})")
    with resources.as_file(entry) as file:
        config = load_config(file)
    return config
