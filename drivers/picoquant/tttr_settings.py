"""The settings a PicoQuant TCSPC unit takes, from the class attributes of its
:class:`~.tttr_device.TttrDevice` subclass (trigger kind and ranges in mV, sync dividers,
inputs, offsets in ps), and the combinations it refuses before anything is sent."""

from __future__ import annotations

from typing import Any

from tagstream.sources.device_protocol import Setting, SettingsError

#: The measurement modes and the libraries' mode numbers.
MODES = {"T2": 2, "T3": 3}
#: The sync and input offsets a unit takes, ps.
OFFSET_RANGE_PS = (-99_999, 99_999)


def settings_table(unit: type) -> dict[str, Setting]:
    """The settings of a unit (a ``TttrDevice`` subclass): mode, sync divider, trigger levels
    (mV) with zero crosses (mV) or edges, offsets (ps), binning."""
    lo, hi = unit.LEVEL_MV
    table = {
        "mode": Setting("mode", str, choices=tuple(MODES)),
        "sync_divider": Setting(
            "sync_divider", int, min(unit.SYNC_DIVIDERS), max(unit.SYNC_DIVIDERS)
        ),
        "sync_level_mv": Setting("sync_level_mv", int, lo, hi, unit="mV"),
        "input_level_mv": Setting("input_level_mv", int, lo, hi, unit="mV"),
        "sync_offset_ps": Setting("sync_offset_ps", int, *OFFSET_RANGE_PS, unit="ps"),
        "binning": Setting("binning", int, 0, unit.BINNING_STEPS - 1),
    }
    if unit.TRIGGER == "cfd":
        zlo, zhi = unit.ZERO_CROSS_MV
        for part in ("sync", "input"):
            name = f"{part}_zero_cross_mv"
            table[name] = Setting(name, int, zlo, zhi, unit="mV")
    else:
        for part in ("sync", "input"):
            table[f"{part}_edge"] = Setting(f"{part}_edge", str, choices=("rising", "falling"))
    for k in range(1, unit.MAX_INPUTS + 1):
        name = f"input_offset_ps_{k}"
        table[name] = Setting(name, int, *OFFSET_RANGE_PS, unit="ps")
    return table


def refuse(device: Any, checked: dict[str, Any], inputs: int) -> None:
    """A :class:`SettingsError` for settings the unit ``device`` (a ``TttrDevice``, with
    ``inputs`` inputs) cannot take together."""
    divider = checked.get("sync_divider")
    if divider is not None and divider not in device.SYNC_DIVIDERS:
        allowed = ", ".join(str(d) for d in device.SYNC_DIVIDERS)
        raise SettingsError(
            f"{device.NAME}: setting 'sync_divider' must be one of {allowed}, got {divider}"
        )
    for k in range(inputs + 1, device.MAX_INPUTS + 1):
        if f"input_offset_ps_{k}" in checked:
            raise SettingsError(f"{device.NAME}: input_offset_ps_{k}: it has {inputs} inputs")
    shape = "zero_cross_mv" if device.TRIGGER == "cfd" else "edge"
    for part in ("sync", "input"):
        if (f"{part}_level_mv" in checked) != (f"{part}_{shape}" in checked):
            raise SettingsError(f"{device.NAME}: give {part}_level_mv and {part}_{shape} together")
