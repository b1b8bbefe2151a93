"""The stochastic threshold of IF_cond_exp_stoc (``threshold_type_maass_stochastic.h``).

As the sPyNNaker 7.4.1 binary ``IF_cond_exp_stoc.aplx`` computes it (docs/spinnaker-
numerics-models.md §15): every tick every neuron, refractory or not, draws one number from
spinn_common's ``mars_kiss64_simp`` (file-static state with fixed seeds, one stream per
core, consumed neuron by neuron in index order), and fires when

    result >= ((draw & 0xFFFF) >> 1),

    exponent = mulk(V - v_thresh, du_th_inv)
    result   = 0x6666 (0.8k)                                   if exponent >= 5.0k
             = mulk(1.0k - expk(mulk(mulk(tau_th_inv, ts_div_10), expk(exponent))), 0.8k)
               with bit 31 cleared                             otherwise.

``ts_div_10 = kdivk(dt, 10k)`` is positive in 7.4.1, so ``expk(...) >= 1.0k`` and the
result is 0 or negative; bit 31 cleared, a negative result becomes >= 2**30: the neuron
fires surely once the hazard term reaches one raw unit, and with probability 2**-15
(draws 0 and 1) otherwise. The emulator reproduces this, the shipped behaviour.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from repro.spinnaker import fixedpoint as fp
from repro.spinnaker.cores import MAX_NEURONS_PER_CORE, core_slices
from repro.spinnaker.rng import MarsKiss64

#: ``mars_kiss64_simp``'s initial (x, y, z, c): file statics in the 7.4.1 binary's .data
#: (the same generator as ``mars_kiss64_seed``, with this state and no validation).
KISS64_SIMP_SEED = (123456789, 987654321, 43219876, 6543217)
#: ``PROB_SATURATION`` 0.8k as an S16.15 (0.8 * 2**15 rounded down).
PROB_SATURATION = 0x6666
#: ``exponent < 5.0k`` is the test for the computed branch.
EXPONENT_LIMIT = 5 * fp.S1615_ONE


class MaassStochasticThreshold:
    """Per-neuron constants and per-core generators of the stochastic threshold.

    Parameters
    ----------
    params : Mapping
        ``du_th`` (mV), ``tau_th`` (ms) and ``v_thresh`` (mV) per neuron.
    timestep_ms : float
        Simulation time step (one neuron sub-step per tick).
    neurons_per_core : int
        Size of the population's slices (:mod:`repro.spinnaker.cores`): each core runs its
        own copy of the generator from :data:`KISS64_SIMP_SEED`.

    Raises
    ------
    ValueError
        If du_th or tau_th are not positive after S16.15 encoding.
    """

    def __init__(self, params: Mapping[str, np.ndarray], timestep_ms: float,
                 neurons_per_core: int = MAX_NEURONS_PER_CORE) -> None:
        du = fp.encode_values(params["du_th"], fp.S1615_SHIFT)
        tau = fp.encode_values(params["tau_th"], fp.S1615_SHIFT)
        for name, raw in (("du_th", du), ("tau_th", tau)):
            if np.any(raw <= 0):
                raise ValueError(f"{name} must be positive (after S16.15 encoding)")
        self.v_thresh = fp.encode_values(params["v_thresh"], fp.S1615_SHIFT)
        #: ``kdivk(ONE, du_th)``, ``kdivk(ONE, tau_th)`` (truncated 64-bit divisions).
        self.du_th_inv = fp.kdivk(np.int64(fp.S1615_ONE), du)
        tau_th_inv = fp.kdivk(np.int64(fp.S1615_ONE), tau)
        ts_div_10 = fp.kdivk(fp.s1615(timestep_ms), 10 * fp.S1615_ONE)
        #: The compiler's (tau_th_inv * ts_div_10), multiplied into expk(exponent) after.
        self.rate = fp.mulk(tau_th_inv, np.int64(ts_div_10))
        size = self.v_thresh.size
        self.cores = [(start, stop, MarsKiss64(KISS64_SIMP_SEED))
                      for start, stop in core_slices(size, neurons_per_core)]

    def draws(self) -> np.ndarray:
        """One draw per neuron for this tick, each core's stream in neuron order."""
        return np.fromiter((rng.next() for start, stop, rng in self.cores
                            for _ in range(stop - start)), dtype=np.int64,
                           count=self.v_thresh.size)

    def result(self, v: np.ndarray) -> np.ndarray:
        """The firing bound (S16.15, compared with the 15-bit draw) for membrane ``v``."""
        exponent = fp.mulk(fp.wrap32(v - self.v_thresh), self.du_th_inv)
        result = np.zeros(v.size, dtype=np.int64)
        live = (exponent < EXPONENT_LIMIT) & (exponent >= fp.EXP_INPUT_MIN)
        if live.any():
            hazard = fp.mulk(self.rate[live], fp.per_unique(fp.expk, exponent[live]))
            growth = fp.per_unique(fp.expk, hazard)
            result[live] = fp.mulk(fp.S1615_ONE - growth, PROB_SATURATION) & 0x7FFFFFFF
        result[exponent >= EXPONENT_LIMIT] = PROB_SATURATION
        return result

    def above(self, v: np.ndarray) -> np.ndarray:
        """``threshold_type_is_above_threshold`` for every neuron (consumes one draw each)."""
        random15 = (self.draws() & 0xFFFF) >> 1
        return self.result(v) >= random15
