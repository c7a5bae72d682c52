"""Layer 7: composing sources, analyzers and storage into jobs."""

from .offline import analyze_run, load_analysis_settings, summary
from .record import record_run
from .result_series import RecordedResults, read_results

__all__ = [
    "RecordedResults",
    "analyze_run",
    "load_analysis_settings",
    "read_results",
    "record_run",
    "summary",
]
