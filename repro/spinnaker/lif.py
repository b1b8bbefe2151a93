"""The LIF membrane of IF_curr_exp / IF_cond_exp as sPyNNaker 7.4.1 computes it.

``neuron_model_lif_impl.h`` with truncating multiplies (the shipped binaries), the
current-input and conductance-input types, and the refractory counter in whole steps.
All state is raw S16.15 held in int64 arrays, wrapped to 32 bits where the chip wraps.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from repro.spinnaker import fixedpoint as fp

#: PyNN parameter names the LIF membrane reads (units: mV, ms, nF, nA).
MEMBRANE_PARAMETERS = ("v_rest", "cm", "tau_m", "i_offset", "v_reset", "tau_refrac",
                       "v_thresh")
#: Extra parameters of the conductance input type (mV).
CONDUCTANCE_PARAMETERS = ("e_rev_E", "e_rev_I")
#: The conductance input stores g * 1024 so that small conductances survive in S16.15.
CONDUCTANCE_SHIFT = 10


@dataclass(frozen=True)
class LifConstants:
    """Per-neuron raw constants, computed on chip from the host-encoded parameters.

    Attributes
    ----------
    v_rest, v_reset, v_thresh, i_offset : numpy.ndarray
        S16.15 raw values (mV, nA).
    r_membrane : numpy.ndarray
        R = kdivk(tau_m, cm) in MOhm, S16.15, truncated.
    exp_tc : numpy.ndarray
        expk(-kdivk(dt, tau_m)), S16.15: only 15 fractional bits.
    refract_steps : numpy.ndarray
        ceil(kdivk(tau_refrac, dt)), whole time steps.
    e_rev_e, e_rev_i : numpy.ndarray or None
        Reversal potentials (S16.15) for conductance input, else None.
    """

    v_rest: np.ndarray
    v_reset: np.ndarray
    v_thresh: np.ndarray
    i_offset: np.ndarray
    r_membrane: np.ndarray
    exp_tc: np.ndarray
    refract_steps: np.ndarray
    e_rev_e: np.ndarray | None = None
    e_rev_i: np.ndarray | None = None

    @property
    def conductance_based(self) -> bool:
        """True for the conductance input type (IF_cond_exp)."""
        return self.e_rev_e is not None


def lif_constants(params: Mapping[str, np.ndarray], timestep_ms: float,
                  conductance_based: bool) -> LifConstants:
    """Encode PyNN parameters and derive the on-chip constants.

    Parameters
    ----------
    params : Mapping
        PyNN names (``tau_m``, ``cm``, ...) to per-neuron float arrays.
    timestep_ms : float
        Simulation time step; it reaches the chip as an S16.15 (0.1 -> 0.100006...).
    conductance_based : bool
        Whether the population uses the conductance input type.

    Raises
    ------
    ValueError
        If tau_m, cm or the time step are not positive, or tau_refrac is negative.
    """
    raw = {name: fp.encode_values(params[name], fp.S1615_SHIFT) for name in MEMBRANE_PARAMETERS}
    ts = fp.s1615(timestep_ms)
    for name in ("tau_m", "cm"):
        if np.any(raw[name] <= 0):
            raise ValueError(f"{name} must be positive (after S16.15 encoding)")
    if np.any(raw["tau_refrac"] < 0):
        raise ValueError("tau_refrac must not be negative")
    extra: dict[str, np.ndarray] = {}
    if conductance_based:
        extra = {"e_rev_e": fp.encode_values(params["e_rev_E"], fp.S1615_SHIFT),
                 "e_rev_i": fp.encode_values(params["e_rev_I"], fp.S1615_SHIFT)}
    return LifConstants(
        v_rest=raw["v_rest"], v_reset=raw["v_reset"], v_thresh=raw["v_thresh"],
        i_offset=raw["i_offset"],
        r_membrane=fp.kdivk(raw["tau_m"], raw["cm"]),
        exp_tc=fp.per_unique(lambda tau: fp.expk(-fp.kdivk(ts, tau)), raw["tau_m"]),
        refract_steps=fp.ceil_s1615(fp.kdivk(raw["tau_refrac"], ts)).astype(np.int64),
        **extra)


def conductance_input(constants: LifConstants, v: np.ndarray, value_e: np.ndarray,
                      value_i: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Currents of the conductance input type from the synaptic state (V at step start).

    g = value >> 10 (floor, 2**-15 uS resolution); exc = mulk(g_E, E_E - V) and
    inh = mulk(-g_I, E_I - V), the negation before the multiply.

    Returns
    -------
    tuple of numpy.ndarray
        ``(exc_sum, inh_sum)`` raw S16.15 nA; the membrane uses exc_sum - inh_sum.
    """
    g_e = value_e >> CONDUCTANCE_SHIFT
    g_i = value_i >> CONDUCTANCE_SHIFT
    exc = fp.mulk(g_e, fp.wrap32(constants.e_rev_e - v))
    inh = fp.mulk(-g_i, fp.wrap32(constants.e_rev_i - v))
    return exc, inh


def membrane_step(constants: LifConstants, v: np.ndarray, refract: np.ndarray,
                  exc_sum: np.ndarray, inh_sum: np.ndarray) -> np.ndarray:
    """Advance every neuron by one step in place; return the boolean spike mask.

    Non-refractory neurons integrate I = exc - inh + I_offset held constant over the
    step: alpha = mulk(I, R) + V_rest, V = alpha - mulk(exp_TC, alpha - V). Refractory
    neurons only count their timer down. The threshold test runs for every neuron.
    """
    active = refract <= 0
    current = fp.wrap32(exc_sum - inh_sum + constants.i_offset)
    alpha = fp.wrap32(fp.mulk(current, constants.r_membrane) + constants.v_rest)
    v_new = fp.wrap32(alpha - fp.mulk(constants.exp_tc, fp.wrap32(alpha - v)))
    np.copyto(v, v_new, where=active)
    refract -= ~active
    spiked = v >= constants.v_thresh
    if spiked.any():
        v[spiked] = constants.v_reset[spiked]
        refract[spiked] = constants.refract_steps[spiked]
    return spiked
