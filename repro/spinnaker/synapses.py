"""Exponential synapses, weight integers and delay steps as sPyNNaker 7.4.1 produces them.

Two generation paths exist on SpiNNaker and round differently:

* host path (``FromListConnector`` and other lists): W = rint(|w| * 2**(15-L) * g),
  d = rint(delay / dt);
* on-machine path (the synapse expander, used for generatable connectors with constant or
  supported random parameters): the weight is first an S16.15, then
  W = round_half_up(|w_raw| * g / 2**L), and d = trunc(mulk(delay, 1/dt)) >= 1.

Both paths then keep only the low 16 bits of W (:func:`weight_field`): a weight above the
planned maximum wraps around instead of clipping.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from repro.spinnaker import fixedpoint as fp

#: Largest value a uint16 ring-buffer cell or weight can hold.
WEIGHT_MAX = 0xFFFF


@dataclass(frozen=True)
class SynapseConstants:
    """Per-neuron U0.32 ``decay`` and ``init`` of one exponential synapse type."""

    decay: np.ndarray
    init: np.ndarray


def _decay_init(tau_raw: int, ts_raw: int) -> tuple[int, int]:
    if tau_raw <= 0:
        raise ValueError("synaptic time constants must be positive (after S16.15 encoding)")
    decay = fp.expulr(-fp.kdivk(ts_raw, tau_raw))
    init = fp.decay_s1615_to_u032(fp.kdivk(tau_raw, ts_raw), fp.U032_MAX - decay)
    return decay, init


def synapse_constants(tau_syn_ms: np.ndarray, timestep_ms: float) -> SynapseConstants:
    """decay = expulr(-kdivk(dt, tau)), init = (tau/dt) * (1.0ulr - decay), per neuron.

    Parameters
    ----------
    tau_syn_ms : numpy.ndarray
        Per-neuron synaptic time constant (ms).
    timestep_ms : float
        Simulation time step (ms).
    """
    ts = fp.s1615(timestep_ms)
    tau_raw = fp.encode_values(tau_syn_ms, fp.S1615_SHIFT)
    unique, inverse = np.unique(tau_raw, return_inverse=True)
    pairs = np.array([_decay_init(int(tau), ts) for tau in unique], dtype=np.int64)
    return SynapseConstants(decay=pairs[inverse, 0].reshape(tau_raw.shape),
                            init=pairs[inverse, 1].reshape(tau_raw.shape))


def weight_field(integers: np.ndarray) -> np.ndarray:
    """The 16-bit weight field of a synaptic word: the low 16 bits (no clipping)."""
    return np.asarray(integers, dtype=np.int64) & WEIGHT_MAX


def host_weight_integers(weights: np.ndarray, scale: float) -> np.ndarray:
    """Host path: ``rint(|w| * scale)`` (round half even), before :func:`weight_field`."""
    return np.rint(np.abs(np.asarray(weights, dtype=float)) * scale).astype(np.int64)


def machine_weight_integers(weights_raw: np.ndarray, shift: int,
                            global_scale: int) -> np.ndarray:
    """On-machine path: |w| as S16.15 times the U32.32 scale, rounded half up (before
    :func:`weight_field`).

    Parameters
    ----------
    weights_raw : numpy.ndarray
        Weights already encoded as S16.15 raw integers.
    shift : int
        Ring-buffer left shift L of the target synapse type.
    global_scale : int
        1 for current input, 1024 for conductance input.
    """
    magnitude = np.abs(np.asarray(weights_raw, dtype=np.int64)) * global_scale
    if shift == 0:
        return magnitude
    return (magnitude + (1 << (shift - 1))) >> shift


def host_delay_steps(delays_ms: np.ndarray, steps_per_ms: float) -> np.ndarray:
    """Host path: ``rint(delay * steps_per_ms)`` (round half even)."""
    return np.rint(np.asarray(delays_ms, dtype=float) * steps_per_ms).astype(np.int64)


def machine_delay_steps(delays_raw: np.ndarray, steps_per_ms: float) -> np.ndarray:
    """On-machine path: trunc(mulk(delay, steps_per_ms)); negatives become 1; at least 1.

    Parameters
    ----------
    delays_raw : numpy.ndarray
        Delays already encoded as S16.15 raw integers (ms).
    steps_per_ms : float
        Time steps per ms (1000 / dt in us), encoded as an S16.15 too.
    """
    steps = fp.mulk(np.asarray(delays_raw, dtype=np.int64), fp.s1615(steps_per_ms))
    steps = np.where(steps < 0, fp.S1615_ONE, steps)
    return np.maximum(steps >> fp.S1615_SHIFT, 1)
