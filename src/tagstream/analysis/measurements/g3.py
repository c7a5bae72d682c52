"""g3: the third-order correlation of three detectors (a three-way split HBT) as a map over
(τ1, τ2), and g3(0, 0), the normalised probability of three photons at once.

For an ideal single emitter g3(0, 0) = 0 (like g2(0), but blind to the two-photon cascade);
for N equal independent emitters (N − 1)(N − 2)/N², for coherent light 1, for thermal light 6:
the photon number's third factorial moment over the cube of its mean. Pulsed, it is the
zero-delay triple peak over the mean of the nearest side peaks whose three photons come from
three different pulses (see :mod:`~tagstream.analysis.triples_zero`; M. J. Stevens et al.,
Opt. Express 22, 3244 (2014) measure g2 and g3 of a quantum-dot source this way with three
detectors).

Runs when ``[analysis.g3] channels = ["A", "B", "C"]`` is given (τ1 = t_B − t_A,
τ2 = t_C − t_A); ``window``, ``bin`` and, for CW, ``zero_window`` are optional.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from ...errors import AnalysisError
from ..measurement import register
from ..triples_zero import g3_zero
from .triples_kind import TriplesMeasurement


@register
class G3Measurement(TriplesMeasurement):
    """g3(τ1, τ2) and g3(0, 0) of three detectors."""

    kind = "g3"
    label = "g3(0,0)"
    title = "g3(τ1, τ2)"
    channel_keys = ("channels",)
    value_keys = ("g3_zero", "g3_zero_err")
    values: ClassVar[Mapping[str, Any]] = {"g3": None, "g3_zero": None}
    estimate = staticmethod(g3_zero)

    @classmethod
    def channels_of(cls, own: Mapping[str, Any]) -> tuple[Any, Any, Any]:
        """``channels``: three channel names."""
        names = own.get("channels")
        if not isinstance(names, (list, tuple)) or len(names) != 3:
            raise AnalysisError("[analysis.g3] channels: give three channel names")
        return tuple(names)
