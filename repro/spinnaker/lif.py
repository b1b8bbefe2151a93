"""The LIF membrane of sPyNNaker 7.4.1's IF_* models (``neuron_model_lif_impl.h``).

Truncating multiplies (the shipped binaries), the refractory counter in whole steps, and
the 32-bit wraps of R = kdivk(tau_m, cm) and of the refractory count for extreme
parameters (errata 9), reproduced and reported. All state is raw S16.15 in int64 arrays,
wrapped to 32 bits where the chip wraps.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from repro.spinnaker import fixedpoint as fp
from repro.spinnaker.cores import MAX_NEURONS_PER_CORE
from repro.spinnaker.maass import MaassStochasticThreshold

#: PyNN parameter names the LIF membrane reads (units: mV, ms, nF, nA).
MEMBRANE_PARAMETERS = ("v_rest", "cm", "tau_m", "i_offset", "v_reset", "tau_refrac",
                       "v_thresh")


@dataclass(frozen=True)
class LifConstants:
    """Per-neuron raw constants, computed on chip from the host-encoded parameters.

    Attributes
    ----------
    v_rest, v_reset, v_thresh, i_offset : numpy.ndarray
        S16.15 raw values (mV, nA).
    r_membrane : numpy.ndarray
        R = kdivk(tau_m, cm) in MOhm, S16.15, truncated; wraps negative at 65,536 MOhm.
    exp_tc : numpy.ndarray
        expk(-kdivk(dt, tau_m)), S16.15: only 15 fractional bits.
    refract_steps : numpy.ndarray
        ``lif_ceil_accum(kdivk(tau_refrac, dt))``, whole time steps (negative if wrapped).
    notes : tuple of str
        What wrapped, for the run's provenance.
    """

    v_rest: np.ndarray
    v_reset: np.ndarray
    v_thresh: np.ndarray
    i_offset: np.ndarray
    r_membrane: np.ndarray
    exp_tc: np.ndarray
    refract_steps: np.ndarray
    notes: tuple[str, ...] = ()


def lif_constants(params: Mapping[str, np.ndarray], timestep_ms: float) -> LifConstants:
    """Encode PyNN parameters and derive the on-chip constants.

    Parameters
    ----------
    params : Mapping
        PyNN names (``tau_m``, ``cm``, ...) to per-neuron float arrays.
    timestep_ms : float
        Simulation time step; it reaches the chip as an S16.15 (0.1 -> 0.100006...).

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
    notes = []
    if np.any(fp.kdivk_wraps(raw["tau_m"], raw["cm"])):
        notes.append("tau_m/cm >= 65536 MOhm: R = kdivk(tau_m, cm) wraps to a negative "
                     "resistance on SpiNNaker (reproduced)")
    if np.any(fp.kdivk_wraps(raw["tau_refrac"], np.int64(ts))):
        notes.append("tau_refrac/dt >= 65536 steps: the refractory count wraps negative on "
                     "SpiNNaker, so those neurons have no refractory period (reproduced)")
    for note in notes:
        warnings.warn(note, RuntimeWarning, stacklevel=2)
    return LifConstants(
        v_rest=raw["v_rest"], v_reset=raw["v_reset"], v_thresh=raw["v_thresh"],
        i_offset=raw["i_offset"],
        r_membrane=fp.kdivk(raw["tau_m"], raw["cm"]),
        exp_tc=fp.per_unique(lambda tau: fp.expk(-fp.kdivk(ts, tau)), raw["tau_m"]),
        refract_steps=fp.ceil_s1615(fp.kdivk(raw["tau_refrac"], ts)).astype(np.int64),
        notes=tuple(notes))


class Ca2Adaptation:
    """The calcium-activated adaptation current of IF_curr_exp_ca2_adaptive.

    ``exp_tau_ca2 = expk(-kdivk(dt, tau_ca2))`` (S16.15); every tick, refractory or not,
    ``i_ca2 = i_ca2 * exp_tau_ca2`` (truncating accum multiply) is the neuron's
    ``external_bias``, which the LIF update *subtracts*; a spike adds ``i_alpha``.

    Parameters
    ----------
    params : Mapping
        ``tau_ca2`` (ms), ``i_alpha`` (nA) and the initial ``i_ca2`` (nA) per neuron.
    timestep_ms : float
        Simulation time step.
    """

    def __init__(self, params: Mapping[str, np.ndarray], timestep_ms: float) -> None:
        tau = fp.encode_values(params["tau_ca2"], fp.S1615_SHIFT)
        if np.any(tau <= 0):
            raise ValueError("tau_ca2 must be positive (after S16.15 encoding)")
        ts = fp.s1615(timestep_ms)
        self.exp_tau = fp.per_unique(lambda t: fp.expk(-fp.kdivk(ts, t)), tau)
        self.i_alpha = fp.encode_values(params["i_alpha"], fp.S1615_SHIFT)
        self.i_ca2 = fp.encode_values(params["i_ca2"], fp.S1615_SHIFT)

    def decay(self) -> np.ndarray:
        """Decay the current by one step and return it (raw S16.15, nA)."""
        self.i_ca2 = fp.mulk(self.i_ca2, self.exp_tau)
        return self.i_ca2

    def spiked(self, mask: np.ndarray) -> None:
        """Calcium influx of the neurons that spiked."""
        self.i_ca2[mask] = fp.wrap32(self.i_ca2[mask] + self.i_alpha[mask])


class LifModel:
    """State and update of a population of LIF membranes.

    Parameters
    ----------
    params : Mapping
        PyNN parameters per neuron.
    v_init : numpy.ndarray
        Initial V (mV).
    timestep_ms : float
        Simulation time step.
    """

    def __init__(self, params: Mapping[str, np.ndarray], v_init: np.ndarray,
                 timestep_ms: float, neurons_per_core: int = MAX_NEURONS_PER_CORE) -> None:
        self.constants = lif_constants(params, timestep_ms)
        self.v = fp.encode_values(v_init, fp.S1615_SHIFT)
        self.refract = np.zeros(self.v.size, dtype=np.int64)
        #: ``additional_input_ca2_adaptive_impl.h`` (IF_curr_exp_ca2_adaptive), else None.
        self.ca2 = Ca2Adaptation(params, timestep_ms) if "tau_ca2" in params else None
        #: ``threshold_type_maass_stochastic.h`` (IF_cond_exp_stoc), else the static one.
        self.stochastic = (MaassStochasticThreshold(params, timestep_ms, neurons_per_core)
                           if "du_th" in params else None)

    def step(self, exc: np.ndarray, inh: np.ndarray, offset: np.ndarray) -> np.ndarray:
        """Advance every neuron one step in place; return the boolean spike mask.

        Non-refractory neurons integrate I = exc - inh + I_offset + I_source held constant
        over the step: alpha = mulk(I, R) + V_rest, V = alpha - mulk(exp_TC, alpha - V).
        Refractory neurons only count their timer down. The threshold test (static, or
        the stochastic one of IF_cond_exp_stoc, which draws for every neuron) runs for all.
        """
        c = self.constants
        active = self.refract <= 0
        if self.ca2 is not None:  # external_bias, subtracted (checked in the 7.4.1 binary)
            offset = fp.wrap32(offset - self.ca2.decay())
        current = fp.wrap32(exc - inh + c.i_offset + offset)
        alpha = fp.wrap32(fp.mulk(current, c.r_membrane) + c.v_rest)
        v_new = fp.wrap32(alpha - fp.mulk(c.exp_tc, fp.wrap32(alpha - self.v)))
        np.copyto(self.v, v_new, where=active)
        self.refract -= ~active
        spiked = (self.v >= c.v_thresh if self.stochastic is None
                  else self.stochastic.above(self.v))
        if spiked.any():
            self.v[spiked] = c.v_reset[spiked]
            self.refract[spiked] = c.refract_steps[spiked]
            if self.ca2 is not None:
                self.ca2.spiked(spiked)
        return spiked

    def provenance(self) -> dict:
        """Refractory steps used (JSON-ready)."""
        return {"refractory_steps": sorted({int(s) for s in self.constants.refract_steps})}
