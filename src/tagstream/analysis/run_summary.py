"""The run summary's result: the run's span, rates and gaps, and what each measurement kind
found, as the summary JSON (:meth:`RunSummary.to_dict`) and the human summary
(:meth:`RunSummary.text`). The blocks and lines of the kinds come from the registry, in its
order."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import TagstreamError
from ..tags import Role, RunMetadata
from ..tags.units import PS_PER_S
from .formatting import count_rate, hertz, plain, seconds
from .measurement import RESERVED, registered
from .summary_settings import SummarySettings


@dataclass(frozen=True, eq=False)
class RunSummary:
    """Everything :func:`~tagstream.analysis.summary.summarize` found in a run.

    The values of the measurement kinds are attributes too (``summary.g2``,
    ``summary.g2_zero``, ``summary.decay``, ``summary.decay_fit``, ``summary.decay_fits``,
    ``summary.trace``, ``summary.blinking``, ``summary.flid``, ``summary.g2_log`` and those of
    kinds registered since), ``None`` when not computed.

    Attributes
    ----------
    name, metadata, settings
        The run's name, its metadata and the resolved settings (channels by name, times in ps).
    mode
        ``"T2"`` or ``"T3"``.
    t_begin_ps, t_end_ps, live_ps
        Span of the run and its live time (span minus gaps), ps.
    channel_counts
        Tags per channel number (channels with tags only).
    gaps_ps
        Lost time inside the span (data loss, holes between batches), int64 ``(k, 2)``, ps.
    values
        The measurement kinds' values by name.
    notes
        Why parts are missing, and anything else worth knowing, as ``"part: reason"``.
    warnings
        What may make a number wrong or uninformative, as ``"part: reason"`` (``"file: ..."``
        for what the reader found wrong with the file).
    """

    name: str
    metadata: RunMetadata
    settings: SummarySettings
    mode: str
    t_begin_ps: int
    t_end_ps: int
    live_ps: int
    channel_counts: dict[int, int]
    gaps_ps: np.ndarray = field(repr=False)
    values: Mapping[str, Any] = field(repr=False, default_factory=dict)
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    def __getattr__(self, name: str) -> Any:
        values = self.__dict__.get("values", {})
        if name in values:
            return values[name]
        raise AttributeError(f"{type(self).__name__} has no {name!r}")

    @property
    def duration_s(self) -> float:
        """Span of the run, s."""
        return (self.t_end_ps - self.t_begin_ps) / PS_PER_S

    @property
    def live_s(self) -> float:
        """Live time (span minus gaps), s."""
        return self.live_ps / PS_PER_S

    def rate_cps(self, number: int) -> float:
        """Mean tag rate of a channel over the live time, counts/s (0 without live time)."""
        count = self.channel_counts.get(int(number), 0)
        return count / self.live_s if self.live_ps > 0 else 0.0

    def notes_for(self, part: str) -> list[str]:
        """The notes and warnings about one part (``"g2"``, ``"lifetime"``, ...)."""
        prefix = f"{part}: "
        return [n[len(prefix) :] for n in (*self.notes, *self.warnings) if n.startswith(prefix)]

    def note(self, part: str) -> str | None:
        """The ``"note"`` of a summary block: its notes and warnings joined, or ``None``."""
        found = self.notes_for(part)
        return "; ".join(found) if found else None

    def to_dict(self) -> dict[str, Any]:
        """The summary JSON of ``tagstream analyze --json``: plain types, ``None`` for
        anything not computed or not finite. Every block is present, with ``None`` values and
        a ``"note"`` saying why when it could not be computed."""
        blocks: dict[str, Any] = {}
        for cls in registered():
            for key, block in cls.blocks(self).items():
                if key in blocks or key in RESERVED:
                    raise TagstreamError(f"measurement {cls.kind!r}: its block {key!r} is taken")
                blocks[key] = block
        return plain(
            {
                "file": self.name,
                "duration_s": self.duration_s,
                "live_s": self.live_s,
                "mode": self.mode,
                "channels": self._channels_dict(),
                **blocks,
                "gaps": [[s / PS_PER_S, e / PS_PER_S] for s, e in self.gaps_ps.tolist()],
                "warnings": list(self.warnings),
            }
        )

    def _channels_dict(self) -> dict[str, dict[str, Any]]:
        return {
            c.name: {
                "number": c.number,
                "role": str(c.role),
                "counts": self.channel_counts.get(c.number, 0),
                "rate_cps": float(self.rate_cps(c.number)),
            }
            for c in self.metadata.channels
        }

    def text(self) -> str:
        """A short human summary: duration, rates, a line per measured part, gaps, notes and
        warnings; a line whose value has a warning says so."""
        lines = [self._run_line(), self._rates_line()]
        for cls in registered():
            for part, line in cls.lines(self):
                warned = any(w.startswith(f"{part}: ") for w in self.warnings)
                lines.append(f"{line}  [see warning]" if warned else line)
        lines += self._gap_lines()
        lines += [f"note: {n}" for n in self.notes]
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(line for line in lines if line)

    def _run_line(self) -> str:
        lost = self.duration_s - self.live_s
        extra = f", {seconds(lost)} lost" if lost > 0 else ""
        return f"{self.name}: {self.mode}, {seconds(self.duration_s)}{extra}"

    def _rates_line(self) -> str:
        parts = []
        for c in self.metadata.channels:
            if c.role == Role.SYNC and self.mode == "T3" and self.metadata.sync_period_ps:
                parts.append(f"{c.name} {hertz(PS_PER_S / self.metadata.sync_period_ps)} (sync)")
                continue
            role = "" if c.role == Role.DETECTOR else f" ({c.role})"
            parts.append(f"{c.name} {count_rate(self.rate_cps(c.number))}{role}")
        return "rates: " + ", ".join(parts) if parts else ""

    def _gap_lines(self) -> list[str]:
        if len(self.gaps_ps) == 0:
            return []
        shown = ", ".join(
            f"{s / PS_PER_S:.4g}-{e / PS_PER_S:.4g} s" for s, e in self.gaps_ps[:5].tolist()
        )
        more = f" and {len(self.gaps_ps) - 5} more" if len(self.gaps_ps) > 5 else ""
        return [f"gaps: {len(self.gaps_ps)} ({shown}{more})"]
