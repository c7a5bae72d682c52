"""Results the pipeline's processes send each other as wire-format records: snapshot bundles
and resume states (requests, reports and the hello reply are in :mod:`.control_messages`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..analysis.measurement import ResumeState
from ..analysis.series import Snapshot
from ..transport.wire import Kind, WireError, encode_record


# ---------------------------------------------------------------------- snapshots
def encode_snapshots(stream_id: int, sequence: int, snapshots: list[Snapshot]) -> list:
    """One record holding the snapshots a worker took at one time (so that they arrive, and are
    resumed from, together)."""
    entries, arrays = _snapshot_entries(snapshots)
    return encode_record(Kind.SNAPSHOT, stream_id, sequence, {"snapshots": entries}, arrays)


def decode_snapshots(record: dict[str, Any], arrays: dict[str, np.ndarray]) -> list[Snapshot]:
    """The snapshots a worker's result record and its arrays hold; a :class:`WireError` for a
    malformed record."""
    try:
        return _snapshots(record["snapshots"], arrays)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise WireError(f"snapshot record: {exc!r}") from None


def _snapshot_entries(snapshots: list[Snapshot]) -> tuple[list[dict], dict[str, np.ndarray]]:
    """Snapshots as JSON entries (scalars inline) and arrays (named ``k/v/field`` and
    ``k/r/row array``)."""
    entries, arrays = [], {}
    for k, snap in enumerate(snapshots):
        values, listed = {}, []
        for name, value in snap.values.items():
            if np.ndim(value):
                arrays[f"{k}/v/{name}"] = np.asarray(value)
                listed.append(name)
            else:
                values[name] = value.item() if isinstance(value, np.generic) else value
        for name, rows in snap.new_rows.items():
            arrays[f"{k}/r/{name}"] = np.asarray(rows)
        entries.append(
            {
                "series": snap.series,
                "covered_ps": [int(v) for v in snap.covered_ps],
                "live_ps": int(snap.live_ps),
                "wall_time_s": float(snap.wall_time_s),
                "scalars": values,
                "arrays": listed,
                "rows": list(snap.new_rows),
            }
        )
    return entries, arrays


def _snapshots(entries: list[dict], arrays: dict[str, np.ndarray]) -> list[Snapshot]:
    out = []
    for k, entry in enumerate(entries):
        values = dict(entry["scalars"])
        values.update({name: arrays[f"{k}/v/{name}"] for name in entry["arrays"]})
        rows = {name: arrays[f"{k}/r/{name}"] for name in entry["rows"]}
        out.append(
            Snapshot(
                str(entry["series"]),
                (int(entry["covered_ps"][0]), int(entry["covered_ps"][1])),
                int(entry["live_ps"]),
                values,
                rows,
                float(entry["wall_time_s"]),
            )
        )
    return out


# ---------------------------------------------------------------------- resume states
def resume_arrays(state: ResumeState) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """A resume state as a JSON object and arrays (for the reply to a worker's hello)."""
    entries, arrays = _snapshot_entries(list(state.snapshots.values()))
    record = {"t_begin": state.t_begin, "t_resume": state.t_resume, "snapshots": entries}
    arrays["covered"] = np.asarray(state.covered, np.int64).reshape(-1, 2)
    return record, arrays


def resume_state(record: dict[str, Any], arrays: dict[str, np.ndarray]) -> ResumeState:
    """The :class:`ResumeState` a resume record and its arrays hold (times in ps); a
    :class:`WireError` for a malformed record."""
    try:
        snapshots = _snapshots(record["snapshots"], arrays)
        return ResumeState(
            t_begin=int(record["t_begin"]),
            t_resume=int(record["t_resume"]),
            covered=arrays["covered"],
            snapshots={s.series: s for s in snapshots},
        )
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise WireError(f"resume state: {exc!r}") from None
