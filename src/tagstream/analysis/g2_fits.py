"""g2(0) from pulsed and CW g2 histograms: the public entry points.

See :mod:`.g2_pulsed` (adjacent-peak ratio, windows or a fit of a comb of peaks),
:mod:`.g2_cw` (antibunching fit) and :mod:`.g2_period` (period from the peaks).
"""

from .g2_cw import CWG2Fit, fit_cw
from .g2_period import find_period
from .g2_pulsed import pulsed_g2_zero
from .g2_pulsed_result import PulsedG2
from .g2_pulsed_window import peak_leakage

__all__ = ["CWG2Fit", "PulsedG2", "find_period", "fit_cw", "peak_leakage", "pulsed_g2_zero"]
