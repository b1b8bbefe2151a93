"""Synapse shaping of sPyNNaker 7.4.1: exponential, alpha and delta synaptic state.

Each class holds the state of both receptors (row 0 excitatory, row 1 inhibitory) for a
whole population as raw S16.15 int64 arrays and offers the three calls
``neuron_impl_standard.h`` makes: :meth:`add` (ring-buffer input at the start of the tick,
``synapse_types_add_neuron_input``), :meth:`values` (``synapse_types_get_*_input``) and
:meth:`shape` (``synapse_types_shape_input``, after the neuron update). The ring-buffer
input reaches :meth:`add` as ``W << L`` read as an S16.15 (``synapse_row_convert_weight_to_input``).
"""

from __future__ import annotations

import numpy as np

from repro.spinnaker import fixedpoint as fp

ONE = fp.S1615_ONE


class ExponentialShaping:
    """``synapse_types_exponential_impl.h``: value += decay_s1615(input, init); value decays.

    Parameters
    ----------
    decay, init : numpy.ndarray
        (2, n) U0.32 raw constants (see :func:`repro.spinnaker.synapses.synapse_constants`).
    """

    def __init__(self, decay: np.ndarray, init: np.ndarray) -> None:
        self.decay = decay
        self.init = init
        self.value = np.zeros(decay.shape, dtype=np.int64)

    def add(self, inputs: np.ndarray) -> None:
        """Ring-buffer input (2, n) raw S16.15, zero where the cell was empty."""
        self.value = fp.wrap32(self.value + fp.decay_s1615(inputs, self.init))

    def values(self) -> np.ndarray:
        """Synaptic values handed to the input type."""
        return self.value

    def shape(self) -> None:
        """Decay after the neuron update."""
        self.value = fp.decay_s1615(self.value, self.decay)


def alpha_dt_over_tau_squared(tau_raw: int, ts_raw: int) -> int:
    """``decay_t init = kdivk(ts, tau * tau)`` stored into an ``input_t``.

    ``tau * tau`` is a truncating S16.15 multiply (wraps at tau >= 256 ms); the quotient
    passes through ``unsigned long fract`` (U0.32) on its way into the S16.15 field, which
    keeps only its fractional bits: ts/tau**2 >= 1 (e.g. tau_syn <= 1 ms at dt = 1 ms)
    leaves only the fraction (4.0 becomes 0). The 7.4.1 binary does exactly this
    (``lsl #17`` then ``lsr #17``).
    """
    tau_sq = int(fp.mulk(int(tau_raw), int(tau_raw)))
    divisor = tau_sq % (1 << 64)  # (uint64_t) of the signed word, as udiv64 sees it
    quotient = ((int(ts_raw) << fp.S1615_SHIFT) // divisor) if divisor else 0
    return int(fp.wrap32(quotient)) & (ONE - 1)


class AlphaShaping:
    """``synapse_types_alpha_impl.h``: a linear buffer times an exponential buffer.

    On input (only where input > 0): ``q = input``; ``exp = decay_s1615(exp, decay) + 1``;
    ``lin = (lin + input * dt/tau**2) * (1 - 1/exp)``. Output ``lin * exp``. Shaping:
    ``lin += q * dt/tau**2`` (q is never cleared) and ``exp = decay_s1615(exp, decay)``.
    The response to one input q is q (t/tau**2) exp(-t/tau) sampled on the grid: its
    integral is q, its peak q/(e tau) -- not PyNN's q (t/tau) exp(1 - t/tau).

    Parameters
    ----------
    tau_raw : numpy.ndarray
        (2, n) S16.15 synaptic time constants.
    ts_raw : int
        S16.15 time step.
    """

    def __init__(self, tau_raw: np.ndarray, ts_raw: int) -> None:
        self.decay = fp.per_unique(lambda tau: fp.expulr(-fp.kdivk(ts_raw, tau)), tau_raw)
        self.dt_tau_sq = fp.per_unique(lambda tau: alpha_dt_over_tau_squared(tau, ts_raw),
                                       tau_raw)
        self.lin = np.zeros(tau_raw.shape, dtype=np.int64)
        self.exp = np.zeros(tau_raw.shape, dtype=np.int64)
        self.q = np.zeros(tau_raw.shape, dtype=np.int64)

    def add(self, inputs: np.ndarray) -> None:
        """Ring-buffer input (2, n) raw S16.15; cells with input <= 0 are skipped."""
        hit = inputs > 0
        if not hit.any():
            return
        q = inputs[hit]
        exp = fp.wrap32(fp.decay_s1615(self.exp[hit], self.decay[hit]) + ONE)
        reciprocal = fp.wrap32((ONE << fp.S1615_SHIFT) // exp)
        lin = fp.mulk(fp.wrap32(self.lin[hit] + fp.mulk(q, self.dt_tau_sq[hit])),
                      fp.wrap32(ONE - reciprocal))
        self.q[hit] = q
        self.exp[hit] = exp
        self.lin[hit] = lin

    def values(self) -> np.ndarray:
        """``lin * exp`` per receptor."""
        return fp.mulk(self.lin, self.exp)

    def shape(self) -> None:
        """Grow the linear term by q dt/tau**2 and decay the exponential term."""
        self.lin = fp.wrap32(self.lin + fp.mulk(self.q, self.dt_tau_sq))
        self.exp = fp.decay_s1615(self.exp, self.decay)


class DeltaShaping:
    """``synapse_types_delta_impl.h``: input accumulates for one step, then is cleared."""

    def __init__(self, n_neurons: int) -> None:
        self.value = np.zeros((2, n_neurons), dtype=np.int64)

    def add(self, inputs: np.ndarray) -> None:
        """Ring-buffer input (2, n) raw S16.15."""
        self.value = fp.wrap32(self.value + inputs)

    def values(self) -> np.ndarray:
        """This step's summed input."""
        return self.value

    def shape(self) -> None:
        """Clear the buffers after the neuron update."""
        self.value = np.zeros_like(self.value)
