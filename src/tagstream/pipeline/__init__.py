"""Layer 7: composing a source, the analyzers and the store."""

from .offline import analyze_run, load_analysis_settings, record_run, summary

__all__ = ["analyze_run", "load_analysis_settings", "record_run", "summary"]
