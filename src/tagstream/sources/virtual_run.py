"""Any run with virtual channels added (:mod:`.virtual_channels`): the same protocol, its
metadata's channel map holding the new channels, its batches their tags."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ..errors import ChannelError
from ..tags import TagBatch, parse_time
from .run import Run
from .virtual_channels import KINDS, RECORD, VirtualChannel, VirtualChannels


class VirtualRun(Run):
    """``run`` with the virtual channels ``specs`` (in order; later ones may use earlier ones).

    Batches keep their spans, except that the last ``margin`` of each waits for the next batch
    when a virtual channel's tags may come before the newest input (see
    :class:`~.virtual_channels.VirtualChannels`).
    """

    def __init__(self, run: Run, specs: Sequence[VirtualChannel]):
        self.run = run
        self.specs = tuple(specs)
        self.metadata = VirtualChannels(self.specs, run.metadata).metadata  # checked now
        for name in ("duration_ps", "truth", "paced", "warnings", "status"):
            setattr(self, name, getattr(run, name))

    @property
    def lost(self) -> str | None:  # type: ignore[override]
        """The wrapped run's loss, if any."""
        return self.run.lost

    def batches(self, duration: str | int | None = None) -> Iterator[TagBatch]:
        """The wrapped run's batches with the virtual channels' tags, each as soon as it comes
        (less the margin, which the next one completes); after the last, the rest."""
        chain = VirtualChannels(self.specs, self.run.metadata)
        last = None
        for batch in self.run.batches(duration):
            last = batch
            out = chain.process(batch)
            if out is not None:
                yield out
        if last is not None:
            end = TagBatch.empty(last.t_end, last.t_end, t3=last.nanotimes is not None,
                                 metadata=self.run.metadata,
                                 nanotime_unit_ps=last.nanotime_unit_ps)  # fmt: skip
            yield chain.process(end, final=True)

    def header_lines(self) -> list[str]:
        """The wrapped run's, and the virtual channels."""
        return [*self.run.header_lines(), *(f"virtual channel {describe(s)}" for s in self.specs)]

    def file_warnings(self) -> list[str]:
        """The wrapped run's."""
        return self.run.file_warnings()

    def notes(self) -> list[str]:
        """The wrapped run's."""
        return self.run.notes()

    def close(self) -> None:
        """Close the wrapped run."""
        self.run.close()


def describe(spec: VirtualChannel) -> str:
    """``"AB = coincidence of A, B within 1 ns (at the last arrival)"``."""
    inputs = ", ".join(map(str, spec.channels))
    if spec.kind == "coincidence":
        at = "the last arrival" if spec.at == "last" else "the mean time"
        return f"{spec.name} = coincidence of {inputs} within {spec.window_ps} ps (at {at})"
    if spec.kind == "delay":
        return f"{spec.name} = {inputs} delayed by {spec.delay_ps} ps"
    if spec.kind == "combine":
        return f"{spec.name} = {inputs} combined"
    if spec.markers is not None:
        return f"{spec.name} = {inputs} between markers {spec.markers[0]} and {spec.markers[1]}"
    lo, hi = spec.nanotime_ps
    return f"{spec.name} = {inputs} with nanotimes in [{lo:g}, {hi:g}) ps"


#: The settings of each kind besides ``kind``, ``number`` and its input channels.
OPTIONS = {"coincidence": {"window", "at"}, "delay": {"delay"},
           "gate": {"markers", "nanotimes"}, "combine": set()}  # fmt: skip
#: Settings a kind must be given.
NEEDED = {"coincidence": {"window"}, "delay": {"delay"}}


def virtual_channel(name: str, table: Mapping[str, Any]) -> VirtualChannel:
    """A virtual channel from its settings (``[channels.virtual] NAME = {...}``): ``kind``,
    ``channels`` (or ``channel``), and per kind ``window`` and ``at``, ``delay``, ``markers`` or
    ``nanotimes`` (two times), optional ``number``.

    Raises
    ------
    ChannelError
        An unknown, missing or malformed setting (one line naming it).
    """
    where = f"virtual channel {name!r}"
    kind = table.get("kind")
    if kind not in KINDS:
        raise ChannelError(f"{where}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
    known = {"kind", "channels", "channel", "number"} | OPTIONS[kind]
    unknown = sorted(set(table) - known)
    if unknown:
        raise ChannelError(f"{where}: unknown setting(s) for a {kind}: {', '.join(unknown)} "
                           f"(known: {', '.join(sorted(known))})")  # fmt: skip
    missing = sorted(NEEDED.get(kind, set()) - set(table))
    if missing:
        raise ChannelError(f"{where}: a {kind} needs {', '.join(missing)}")
    channels = table.get("channels", table.get("channel"))
    channels = [channels] if isinstance(channels, str | int) else channels
    if not isinstance(channels, list | tuple) or not channels:
        raise ChannelError(f"{where}: give its input channels (channels = [...])")
    options = _times(table, where)
    if "at" in table:
        options["at"] = table["at"]
    if "markers" in table:
        markers = table["markers"]
        if not isinstance(markers, list | tuple) or len(markers) != 2:
            raise ChannelError(f"{where}: markers = [start, stop]")
        options["markers"] = tuple(markers)
    if "number" in table:
        options["number"] = table["number"]
    return VirtualChannel(name, kind, tuple(channels), **options)


def _times(table: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The times of a definition: ``window_ps``, ``delay_ps``, ``nanotime_ps``."""
    options: dict[str, Any] = {}
    try:
        if "window" in table:
            options["window_ps"] = parse_time(table["window"], f"{where} window")
        if "delay" in table:
            options["delay_ps"] = parse_time(table["delay"], f"{where} delay")
        if "nanotimes" in table:
            window = table["nanotimes"]
            if not isinstance(window, list | tuple) or len(window) != 2:
                raise ChannelError(f"{where}: nanotimes = [start, stop] (times)")
            options["nanotime_ps"] = tuple(float(parse_time(x, f"{where} nanotimes"))
                                           for x in window)  # fmt: skip
    except (OverflowError, ValueError) as exc:
        raise ChannelError(f"{where}: {exc}") from None
    return options


def with_virtual_channels(run: Run, definitions: Mapping[str, Mapping[str, Any]] | None) -> Run:
    """``run`` with the virtual channels of ``definitions`` (``{name: settings}``, as in
    ``[channels.virtual]``); ``run`` itself without any to make. A run recorded with a virtual
    channel of the same definition keeps the tags it recorded.

    Raises
    ------
    ChannelError
        A definition that is malformed, names a channel of the run, or differs from the one the
        run's channel of that name was made with.
    """
    held = {c.name for c in run.metadata.channels}
    made = run.metadata.settings.get(RECORD, {})
    specs = []
    for name, settings in (definitions or {}).items():
        spec = virtual_channel(name, settings)
        if name not in held:
            specs.append(spec)
        elif name not in made:
            raise ChannelError(f"virtual channel {name!r}: the run has a channel of that name")
        elif made[name] != spec.record():
            raise ChannelError(
                f"virtual channel {name!r}: the run holds one of that name made otherwise "
                f"({made[name]}); give the new one another name"
            )
    return VirtualRun(run, specs) if specs else run


def virtual_definitions(channels_table: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The ``virtual`` sub-table of a config's ``[channels]``: each virtual channel's settings
    by name, checked.

    Raises
    ------
    ChannelError
        A malformed table or definition (one line, prefixed ``[channels.virtual]``).
    """
    virtual = channels_table.get("virtual", {})
    if not isinstance(virtual, Mapping) or not all(
        isinstance(v, Mapping) for v in virtual.values()
    ):
        raise ChannelError("[channels.virtual]: NAME = { kind = ..., channels = [...] } each")
    for name, settings in virtual.items():
        try:
            virtual_channel(name, settings)
        except ChannelError as exc:
            raise ChannelError(f"[channels.virtual] {exc.args[0]}") from None
    return {name: dict(settings) for name, settings in virtual.items()}
