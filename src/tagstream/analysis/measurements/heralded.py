"""The heralded (conditional) g2: the g2(0) of an HBT pair counted only in the pulses (or the
time window) in which a third channel, the herald, saw a photon.

With the biexciton line as the herald and the exciton line on the HBT pair, it measures the
purity of the X photons announced by an XX photon; with a photon-pair source's idler as the
herald, that of the heralded signal photons. Estimator (Grangier, Roger & Aspect, Europhys. Lett.
1, 173, 1986): g2_h(0) = N_H · N_HAB / (N_HA · N_HB), with N_H the herald's photons, N_HA and
N_HB its coincidences with each detector and N_HAB the triples, all in the zero-delay peaks
(pulsed: one-period windows; CW: ``zero_window``). 1 for light uncorrelated with the herald's,
0 for one photon per herald.

Runs when ``[analysis.heralded]`` gives ``herald = "H"`` and ``pair = ["A", "B"]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from ...errors import AnalysisError
from ..measurement import register
from ..triples import TripleResult
from ..triples_zero import heralded_g2_zero
from .triples_kind import TriplesMeasurement


@register
class HeraldedMeasurement(TriplesMeasurement):
    """The g2(0) of a pair conditioned on a herald's photons."""

    kind = "heralded"
    label = "heralded g2(0)"
    title = "heralded g2: triples of the herald with the pair"
    channel_keys = ("herald", "pair")
    value_keys = ("g2_zero", "g2_zero_err")
    values: ClassVar[Mapping[str, Any]] = {"heralded": None, "heralded_zero": None}
    estimate = staticmethod(heralded_g2_zero)

    @classmethod
    def channels_of(cls, own: Mapping[str, Any]) -> tuple[Any, Any, Any]:
        """``herald`` (a channel name) and ``pair`` (two)."""
        pair = own.get("pair")
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise AnalysisError("[analysis.heralded] pair: give two channel names")
        return (own.get("herald"), *pair)

    @classmethod
    def describe(cls, result: TripleResult) -> str:
        """``"herald H; A×B"``."""
        return f"herald {result.channels[0]}; {'×'.join(result.channels[1:])}"
