"""Measurement plug-ins: one class per kind of measurement, and the registry that lists them.

A measurement says in one place how it is built from the analysis settings and the run's
metadata, how it processes batches, which result series it keeps in a run file, the snapshots
it takes of them and how a snapshot reads back, and how it continues after an analysis worker
restarts. The live analysis, the recorder and the resume book iterate over the registry and
know no kind by name.

A kind registers itself with :func:`register` when its module is imported; the built-in kinds
live in :mod:`tagstream.analysis.measurements` and are registered in this order: g2, lifetime,
trace (with the blinking statistics), FLID, log-binned g2.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

import numpy as np

from ..errors import AnalysisError, TagstreamError
from ..tags import ChannelMap, RunMetadata, TagBatch
from .fit_progress import announce
from .series import RecordedSeries, SeriesSpec, Snapshot
from .stream import Coverage
from .summary_settings import SummarySettings
from .view_panel import ViewPanel

#: Default largest share of the analysis time spent on fits at snapshots.
FIT_SHARE = 0.1
#: Names of the run summary's own parts (keys of its JSON and attributes): no kind takes them.
RESERVED = frozenset(
    {"file", "duration_s", "live_s", "mode", "channels", "gaps", "warnings", "notes", "run",
     "analysis", "settings", "metadata", "values", "name"}
)  # fmt: skip
#: The package whose import registers the built-in kinds.
BUILT_IN = "tagstream.analysis.measurements"


@dataclass(frozen=True)
class ResumeState:
    """Where an analysis continues after it lost time (a restarted worker).

    Attributes
    ----------
    t_begin
        Start of the run's data, ps.
    t_resume
        End of the data the snapshots cover, ps; analysis continues with the next batch after it.
    covered
        The time the snapshots cover (k, 2), ps: the run less lost time.
    snapshots
        The last snapshot of each series by name, its ``new_rows`` holding every row of the
        series' row arrays so far.
    """

    t_begin: int
    t_resume: int
    covered: np.ndarray
    snapshots: Mapping[str, Snapshot] = field(default_factory=dict)

    def coverage(self) -> Coverage:
        """A fresh record of the covered time, for one analyzer."""
        return Coverage.from_intervals(self.covered, self.t_begin, self.t_resume)


@dataclass
class Finishing:
    """What a measurement sees when the run summary finishes it (after the pass over the
    batches): the resolved settings, the run's metadata, the notes so far, the measured IRF's
    decay histogram if one was given, and the values of the kinds finished before it."""

    settings: SummarySettings
    metadata: RunMetadata
    notes: list[str]
    values: dict[str, Any]
    irf_counts: np.ndarray | None = None

    def attempt(self, part: str, compute: Callable[[], Any]) -> Any:
        """``compute()``, or ``None`` with a note ``"part: reason"`` when the data do not
        allow it (a :class:`TagstreamError`)."""
        announce(part)
        try:
            return compute()
        except TagstreamError as exc:
            self.notes.append(f"{part}: {exc}")
            return None


@dataclass(frozen=True)
class Panel:
    """One panel of the run's figure.

    Attributes
    ----------
    slot
        Orders the panels: the figure's two-column grid is filled in this order, row after
        row (the built-in kinds use 0-3: g2, decay or log g2, trace, FLID or occurrences);
        panels of the same slot keep the registry's order.
    draw
        Draws it: called with the figure and the grid cell (a ``SubplotSpec``) to fill.
    """

    slot: int
    draw: Callable[[Any, Any], None]


class Measurement(ABC):
    """One kind of measurement over a stream of batches.

    Subclasses set :attr:`kind` and implement :meth:`build`; a kind that keeps result series in
    run files also implements :meth:`series`, :meth:`snapshots`, :meth:`restore` and
    :meth:`result_from`.

    Parameters
    ----------
    analyzer
        The streaming analyzer: ``process(batch)`` and ``result()``.
    """

    #: Name of the kind: the prefix of its notes (``"g2: ..."``) and of its series.
    kind: ClassVar[str]
    #: The part of the summary its notes belong to (``None``: its :attr:`kind`).
    part: ClassVar[str | None] = None
    #: Whether it runs in the live analysis of a recording.
    live: ClassVar[bool] = True
    #: The values it gives the run summary (attributes of the summary), with their value when
    #: it is not computed.
    values: ClassVar[Mapping[str, Any]] = {}
    #: The summary parts it must give a value for, or say why not: ``{part: value name}``.
    required: ClassVar[Mapping[str, str]] = {}
    #: Kinds finish in this order (lower first; the registry's order among equals).
    finish_order: ClassVar[int] = 0
    #: Names of the CSV tables it may export (``<run>_<name>.csv``).
    exports: ClassVar[tuple[str, ...]] = ()

    def __init__(self, analyzer: Any):
        self.analyzer = analyzer
        #: Largest share of the analysis time it may spend on fits at snapshots: a kind with
        #: slow fits leaves them out of a snapshot when it is over (never of the last one).
        self.fit_share = FIT_SHARE

    @classmethod
    @abstractmethod
    def build(
        cls, settings: SummarySettings, metadata: RunMetadata, notes: list[str]
    ) -> Self | None:
        """The measurement for resolved ``settings`` and the run's ``metadata``; ``None`` when
        the run does not allow it (with the reason appended to ``notes`` when worth saying).

        Raises
        ------
        AnalysisError, ChannelError
            Settings the run cannot use.
        """

    @classmethod
    def check_settings(cls, table: Mapping[str, Any]) -> None:
        """Check the kind's own settings (``[analysis.<kind>]``); raise
        :class:`~tagstream.errors.AnalysisError` naming a bad one. A kind without settings
        accepts none."""
        if table:
            raise AnalysisError(f"[analysis.{cls.kind}]: {cls.kind} takes no settings")

    @classmethod
    def configured(cls, settings: SummarySettings) -> bool:
        """Whether the settings hold the kind's own table (``[analysis.<kind>]``, even empty):
        for kinds that run only when asked for."""
        return cls.kind in (settings.kinds or {})

    @classmethod
    def own_settings(cls, settings: SummarySettings) -> dict[str, Any]:
        """The kind's own settings (``[analysis.<kind>]``), empty when none are given."""
        return dict((settings.kinds or {}).get(cls.kind, {}))

    @classmethod
    def part_name(cls) -> str:
        """The summary part its notes belong to (``"g2"``)."""
        return cls.part or cls.kind

    def process(self, batch: TagBatch) -> None:
        """Add one batch (batches come in time order)."""
        self.analyzer.process(batch)

    def result(self) -> Any:
        """The result so far."""
        return self.analyzer.result()

    # ------------------------------------------------------------------ the run summary
    def finish(self, finishing: Finishing) -> dict[str, Any]:
        """Its values for the run summary, from the result of the pass (and fits): by default
        the result under the kind's name."""
        return {self.kind: finishing.attempt(self.part_name(), self.result)}

    @classmethod
    def warnings(cls, values: Mapping[str, Any], metadata: RunMetadata) -> list[str]:
        """What may make its numbers wrong, as ``"part: reason"`` (from the summary's values)."""
        return []

    @classmethod
    def blocks(cls, summary: Any) -> dict[str, dict[str, Any]]:
        """Its blocks of the summary JSON, by key (every key present, ``None`` where not
        computed, and ``"note"``)."""
        return {}

    @classmethod
    def lines(cls, summary: Any) -> list[tuple[str, str]]:
        """Its lines of the human summary, as ``(part, line)``."""
        return []

    @classmethod
    def panels(cls, summary: Any) -> list[Panel]:
        """Its panels of the run's figure (a missing result's panel says why)."""
        return []

    @classmethod
    def tables(cls, summary: Any) -> dict[str, Any]:
        """Its CSV tables for ``analyze --export`` by name (:class:`~tagstream.analysis.tables.
        Table`), or in a table's place the reason it is missing."""
        return {}

    @classmethod
    def live_status(
        cls, specs: Mapping[str, SeriesSpec], latest: Mapping[str, Snapshot], settings: Any
    ) -> str | None:
        """Its part of the one-line live status (``"g2(0) 0.03 ± 0.01"``), from the last
        snapshots of the run's series; ``None`` for none."""
        return None

    @classmethod
    def view_panels(
        cls,
        series: Mapping[str, RecordedSeries],
        settings: Any,
        since: Mapping[str, RecordedSeries] | None = None,
    ) -> list[ViewPanel]:
        """Its panels of the live web view (:class:`~tagstream.analysis.view_panel.ViewPanel`),
        from the run's series as recorded so far (the last snapshot of each is the one to show);
        none by default.

        Parameters
        ----------
        series
            The series now.
        settings
            The run's analysis settings.
        since
            The series as they were some time ago: show only what came in since (the view's
            "last N s"); a kind that cannot says so in a note and shows everything.
        """
        return []

    # ------------------------------------------------------------------ result series
    def series(self) -> tuple[SeriesSpec, ...]:
        """The series it keeps in a run file (none by default)."""
        return ()

    def snapshots(self, covered: tuple[int, int], live_ps: int, final: bool) -> list[Snapshot]:
        """Snapshots of its series now.

        Parameters
        ----------
        covered
            ``(t_begin, t_end)`` of the data fed so far, ps.
        live_ps
            Covered time less lost time, ps.
        final
            The run's last snapshot: include what is still incomplete (a trace's last bin).
        """
        return []

    def fit_snapshots(
        self, covered: tuple[int, int], live_ps: int, final: bool
    ) -> list[Snapshot]:
        """Snapshots that need fits (slow), taken at the same time as :meth:`snapshots` but
        after every kind's quick snapshots went out, so that a slow fit holds up no histogram
        (none by default)."""
        return []

    def pending(self, covered: tuple[int, int], live_ps: int) -> list[Snapshot]:
        """The last snapshots when no data came in since the previous ones: what a snapshot at
        the end adds (often nothing)."""
        return []

    def restore(self, state: ResumeState) -> None:
        """Continue from the last snapshots of its series (the analyzer is fresh); a kind
        without series starts afresh."""
        return None

    @classmethod
    def snapshot_result(cls, spec: SeriesSpec, snapshot: Snapshot) -> Any:
        """The result a live snapshot of its series ``spec`` holds."""
        raise TagstreamError(f"{cls.kind}: no result of series {spec.name!r}")

    @classmethod
    def replica(cls, series: Mapping[str, RecordedSeries], channels: ChannelMap) -> Any:
        """A fresh analyzer set up as the one that made its series (to check the series against
        an offline pass over the recorded tags); ``None`` without series."""
        return None

    @classmethod
    def same(cls, live: Any, offline: Any) -> bool:
        """Whether a result read back from its series equals the replica's result exactly."""
        return bool(np.array_equal(live.counts, offline.counts))

    @classmethod
    def result_from(cls, series: Mapping[str, RecordedSeries], k: int = -1) -> Any:
        """The result held by snapshot ``k`` of its series read back from a run file."""
        raise TagstreamError(f"{cls.kind}: no result series")


_registry: dict[str, type[Measurement]] = {}


def register(cls: type[Measurement]) -> type[Measurement]:
    """Add a kind to the registry (a class decorator). A kind's name is taken once.

    Raises
    ------
    TagstreamError
        Another class already registered under the same :attr:`~Measurement.kind` (the same
        class imported again replaces itself), a kind named like a part of the summary that is
        not a measurement's (:data:`RESERVED`), or values named like another kind's.
    """
    if not cls.__module__.startswith(BUILT_IN):
        importlib.import_module(BUILT_IN)  # the built-in kinds come first
    if cls.kind in RESERVED or not cls.kind.isidentifier():
        raise TagstreamError(f"measurement {cls.kind!r}: the name is taken by the run summary")
    others = [k for name, k in _registry.items() if name != cls.kind]
    known = _registry.get(cls.kind)
    if known is not None and _origin(known) != _origin(cls):
        raise TagstreamError(
            f"measurement {cls.kind!r} of {_origin(cls)} is registered already by {_origin(known)}"
        )
    for other in others:
        shared = sorted((set(other.values) | {other.kind}) & (set(cls.values) | {cls.kind}))
        if shared and _origin(other) != _origin(cls):
            raise TagstreamError(
                f"measurement {cls.kind!r} of {_origin(cls)}: {', '.join(shared)} is a value of "
                f"{other.kind!r} already"
            )
    _registry[cls.kind] = cls
    return cls


def failure_reason(exc: Exception) -> str:
    """Why a measurement is left out after ``exc``: an analysis error's message, or what a
    plug-in's code raised (``failed (ValueError: ...)``). Any other :class:`TagstreamError` (a
    bad batch: the run's fault, not the measurement's) is raised again."""
    if isinstance(exc, AnalysisError):
        return str(exc)
    if isinstance(exc, TagstreamError):
        raise exc
    return f"failed ({type(exc).__name__}: {exc})"


def _origin(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def registered() -> list[type[Measurement]]:
    """Every registered kind, built-in ones first, in the order they registered."""
    importlib.import_module(BUILT_IN)
    return list(_registry.values())


def load_plugins(modules: tuple[str, ...] | list[str] = ()) -> list[type[Measurement]]:
    """Import the plug-in ``modules`` (each registers its kinds); every registered kind.

    Raises
    ------
    AnalysisError
        A module that cannot be imported (named, with the reason).
    """
    for name in modules:
        try:
            importlib.import_module(name)
        except TagstreamError as exc:  # its kinds could not register
            raise AnalysisError(f"plugins: {name!r}: {exc}") from None
        except Exception as exc:  # whatever the module's code does wrong, one line
            reason = f"{type(exc).__name__}: {exc}".strip()
            raise AnalysisError(f"plugins: cannot import {name!r} ({reason})") from None
    return registered()


def kind(name: str) -> type[Measurement]:
    """The registered kind called ``name``."""
    for cls in registered():
        if cls.kind == name:
            return cls
    raise TagstreamError(f"no measurement {name!r}")


def build_measurements(
    settings: SummarySettings, metadata: RunMetadata, notes: list[str], live: bool = False
) -> list[Measurement]:
    """Every registered measurement the run allows (only the live ones with ``live``)."""
    built = []
    for cls in registered():
        if live and not cls.live:
            continue
        measurement = cls.build(settings, metadata, notes)
        if measurement is not None:
            built.append(measurement)
    return built
