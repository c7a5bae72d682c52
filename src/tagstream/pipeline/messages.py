"""What the pipeline's processes say to each other, as wire-format records: snapshot bundles,
progress reports and resume states."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..store.results import Snapshot
from ..transport.wire import Kind, WireError, encode_record
from .live_analysis import ResumeState


# ---------------------------------------------------------------------- snapshots
def encode_snapshots(stream_id: int, sequence: int, snapshots: list[Snapshot]) -> list:
    """One record holding the snapshots a worker took at one time (so that they arrive, and are
    resumed from, together)."""
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
    return encode_record(Kind.SNAPSHOT, stream_id, sequence, {"snapshots": entries}, arrays)


def decode_snapshots(record: dict[str, Any], arrays: dict[str, np.ndarray]) -> list[Snapshot]:
    try:
        out = []
        for k, entry in enumerate(record["snapshots"]):
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
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise WireError(f"snapshot record: {exc!r}") from None


# ---------------------------------------------------------------------- resume states
def resume_arrays(state: ResumeState) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """A resume state as a JSON object and arrays (for the reply to a worker's hello)."""
    record = {"t_begin": state.t_begin, "t_resume": state.t_resume}
    arrays = {"covered": np.asarray(state.covered, np.int64).reshape(-1, 2)}
    if state.g2 is not None:
        counts, n_a, n_b = state.g2
        arrays["g2_counts"] = counts
        record["g2_n"] = [int(n_a), int(n_b)]
    if state.lifetime is not None:
        arrays["lifetime_counts"] = state.lifetime
    if state.trace is not None:
        t0, rows, exposure, partial, partial_exposure = state.trace
        record["trace_t0"] = int(t0)
        record["trace_partial_exposure"] = int(partial_exposure)
        arrays.update(trace_rows=rows, trace_exposure=exposure, trace_partial=partial)
    return record, arrays


def resume_state(record: dict[str, Any], arrays: dict[str, np.ndarray]) -> ResumeState:
    try:
        g2 = None
        if "g2_counts" in arrays:
            g2 = (arrays["g2_counts"], int(record["g2_n"][0]), int(record["g2_n"][1]))
        trace = None
        if "trace_rows" in arrays:
            trace = (
                int(record["trace_t0"]),
                arrays["trace_rows"],
                arrays["trace_exposure"],
                arrays["trace_partial"],
                int(record["trace_partial_exposure"]),
            )
        return ResumeState(
            t_begin=int(record["t_begin"]),
            t_resume=int(record["t_resume"]),
            covered=arrays["covered"],
            g2=g2,
            lifetime=arrays.get("lifetime_counts"),
            trace=trace,
        )
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise WireError(f"resume state: {exc!r}") from None
