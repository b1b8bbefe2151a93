"""Input types of sPyNNaker 7.4.1: how synaptic values become currents.

``input_type_get_input_value`` gives what is recorded as gsyn_exc / gsyn_inh (before the
update), ``convert_*_input_to_current`` gives the currents the neuron model sums as
``exc - inh``. All values are raw S16.15 int64 arrays of shape (2, n).
"""

from __future__ import annotations

import numpy as np

from repro.spinnaker import fixedpoint as fp

#: The conductance input stores g * 1024 so that small conductances survive in S16.15.
CONDUCTANCE_SHIFT = 10
#: Global weight scale per input type (``get_global_weight_scale``).
WEIGHT_SCALE = {"current": 1, "conductance": 1024, "delta": 1}


class CurrentInput:
    """``input_type_current.h``: the synaptic value is the current (nA)."""

    kind = "current"

    def recorded(self, values: np.ndarray) -> np.ndarray:
        """Values recorded as gsyn (nA)."""
        return values

    def currents(self, values: np.ndarray, v: np.ndarray) -> np.ndarray:
        """(exc, inh) currents."""
        return values


class ConductanceInput:
    """``input_type_conductance.h``: g = value >> 10 (uS), I_E = g_E (E_E - V),
    I_I' = (-g_I)(E_I - V), with V at the start of the step.

    Parameters
    ----------
    e_rev_e, e_rev_i : numpy.ndarray
        Raw S16.15 reversal potentials (mV) per neuron.
    """

    kind = "conductance"

    def __init__(self, e_rev_e: np.ndarray, e_rev_i: np.ndarray) -> None:
        self.e_rev_e = e_rev_e
        self.e_rev_i = e_rev_i

    def recorded(self, values: np.ndarray) -> np.ndarray:
        """Conductances (uS, 2**-15 resolution)."""
        return values >> CONDUCTANCE_SHIFT

    def currents(self, values: np.ndarray, v: np.ndarray) -> np.ndarray:
        """(exc, inh) with the negation before the multiply, as the C code does."""
        g = values >> CONDUCTANCE_SHIFT
        return np.stack([fp.mulk(g[0], fp.wrap32(self.e_rev_e - v)),
                         fp.mulk(-g[1], fp.wrap32(self.e_rev_i - v))])


class DeltaInput:
    """``input_type_delta.h``: current = value * scale, scale = kdivk(1.0, ts) = 1/dt.

    A weight w (nA in the ring buffer) therefore acts as w/dt for one step, which moves V
    by about w R (1 - exp(-dt/tau_m)) / dt ~ w / C_m.
    """

    kind = "delta"

    def __init__(self, ts_raw: int) -> None:
        self.scale = int(fp.kdivk(fp.S1615_ONE, ts_raw))

    def recorded(self, values: np.ndarray) -> np.ndarray:
        """The summed input of this step (``value * ONE``)."""
        return values

    def currents(self, values: np.ndarray, v: np.ndarray) -> np.ndarray:
        """(exc, inh) = value * (1/dt)."""
        return fp.mulk(values, self.scale)
