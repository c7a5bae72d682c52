"""Layer 4: where tags come from. One protocol (:class:`Run`) for the simulator, files and the
hardware drivers."""

from .run import Run

__all__ = ["Run"]
