"""The Izhikevich membrane of sPyNNaker 7.4.1 (``neuron_model_izh_impl.h``).

One RK2 midpoint step per tick in S16.15 with truncating multiplies (``*`` on accums is
floor(a b / 2**15), left to right as written), the "0.04" coefficient replaced by
0.040008544921875 (1311 / 2**15), and after a spike one step of 1.85 h (the
``SIMPLE_TQ_OFFSET`` threshold correction). The threshold is fixed at 30 mV. sPyNNaker
adds I (nA in PyNN terms) to dv/dt in mV/ms without the factor 1000 NEST's
``izhikevich`` applies to I_e in pA.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from repro.spinnaker import fixedpoint as fp

#: PyNN parameter names the model reads.
IZHIKEVICH_PARAMETERS = ("a", "b", "c", "d", "i_offset")
#: ``MAGIC_MULTIPLIER``: REAL_CONST(0.040008544921875), exactly 1311 / 2**15.
MAGIC_MULTIPLIER = 1311
#: ``SIMPLE_TQ_OFFSET`` = REAL_CONST(1.85); GCC rounds the literal down: 60620 / 2**15.
SIMPLE_TQ_OFFSET = 60620
#: ``_IZK_THRESHOLD`` (mV) of sPyNNaker's Izhikevich builds.
THRESHOLD_MV = 30.0
_140 = 140 << fp.S1615_SHIFT
_5 = 5 << fp.S1615_SHIFT


def midpoint_step(v: np.ndarray, u: np.ndarray, a: np.ndarray, b: np.ndarray,
                  h: np.ndarray, current: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``rk2_kernel_midpoint`` on raw S16.15 values; returns the new (V, U)."""
    w = fp.wrap32
    mul = fp.mulk
    pre_alpha = w(_140 + current - u)
    alpha = w(pre_alpha + mul(w(_5 + mul(MAGIC_MULTIPLIER, v)), v))
    eta = w(v + (mul(h, alpha) >> 1))
    beta = mul(mul(h, w(mul(b, v) - u)), a) >> 1
    v_new = w(v + mul(h, w(pre_alpha - beta + mul(w(_5 + mul(MAGIC_MULTIPLIER, eta)), eta))))
    u_new = w(u + mul(mul(a, h), w(-u - beta + mul(b, eta))))
    return v_new, u_new


class IzhikevichModel:
    """State and update of a population of Izhikevich neurons.

    Parameters
    ----------
    params : Mapping
        PyNN parameters per neuron (a, b, c, d, i_offset).
    v_init, u_init : numpy.ndarray
        Initial v (mV) and u (mV/ms).
    timestep_ms : float
        Simulation time step; h = dt as S16.15.
    """

    def __init__(self, params: Mapping[str, np.ndarray], v_init: np.ndarray,
                 u_init: np.ndarray, timestep_ms: float) -> None:
        raw = {name: fp.encode_values(params[name], fp.S1615_SHIFT)
               for name in IZHIKEVICH_PARAMETERS}
        self.a, self.b, self.c, self.d = raw["a"], raw["b"], raw["c"], raw["d"]
        self.i_offset = raw["i_offset"]
        self.v = fp.encode_values(v_init, fp.S1615_SHIFT)
        self.u = fp.encode_values(u_init, fp.S1615_SHIFT)
        self.reset_h = np.full(self.v.size, fp.s1615(timestep_ms), dtype=np.int64)
        self.this_h = self.reset_h.copy()  # next_h is written as the time step
        self.threshold = fp.s1615(THRESHOLD_MV)

    def step(self, exc: np.ndarray, inh: np.ndarray, offset: np.ndarray) -> np.ndarray:
        """Advance every neuron one step in place; return the boolean spike mask."""
        current = fp.wrap32(exc - inh + self.i_offset + offset)
        self.v, self.u = midpoint_step(self.v, self.u, self.a, self.b, self.this_h, current)
        self.this_h = self.reset_h.copy()
        spiked = self.v >= self.threshold
        if spiked.any():
            self.v[spiked] = self.c[spiked]
            self.u[spiked] = fp.wrap32(self.u[spiked] + self.d[spiked])
            self.this_h[spiked] = fp.mulk(self.reset_h[spiked], SIMPLE_TQ_OFFSET)
        return spiked

    def provenance(self) -> dict:
        """Nothing model-specific to report beyond the threshold."""
        return {"threshold_mv": THRESHOLD_MV}
