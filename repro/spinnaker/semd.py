"""The sEMD gate of IF_curr_exp_sEMD (``synapse_types_semd_impl.h``).

Three exponential synapses (excitatory, excitatory2, inhibitory). Each tick, before the
membrane update, ``synapse_types_get_excitatory_input`` updates two state variables and
gives the only excitatory current the neuron sees, as the 7.4.1 binary
``IF_curr_exp_sEMD.aplx`` does it (docs/spinnaker-numerics-models.md §16):

    if exc2 < 0.001k (32 raw):                         multiplicator = 0
    elif multiplicator == 0 and exc2_old == 0:        multiplicator = exc
    exc2_old = exc2
    excitatory current = mulk(mulk(exc2, scaling_factor), multiplicator)

(The source writes ``exc2 * multiplicator * scaling_factor``; GCC reassociates
non-saturating fixed-point products, and the binary multiplies by scaling_factor first.)
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from repro.spinnaker import fixedpoint as fp

#: ``0.001k`` as GCC encodes it (32.768 rounded down).
EXC2_ON = 32


class SemdGate:
    """State and update of the sEMD multiplicative gate, per neuron.

    Parameters
    ----------
    params : Mapping
        ``scaling_factor`` per neuron.
    initial : Mapping
        Initial ``multiplicator`` and ``exc2_old`` per neuron (default 0).
    """

    def __init__(self, params: Mapping[str, np.ndarray],
                 initial: Mapping[str, np.ndarray]) -> None:
        self.scaling_factor = fp.encode_values(params["scaling_factor"], fp.S1615_SHIFT)
        size = self.scaling_factor.size
        self.multiplicator, self.exc2_old = (
            fp.encode_values(np.broadcast_to(initial.get(name, 0.0), (size,)), fp.S1615_SHIFT)
            for name in ("multiplicator", "exc2_old"))

    def excitatory(self, values: np.ndarray) -> np.ndarray:
        """(exc, exc2, inh) synaptic values -> (excitatory current, inh); updates the state."""
        exc, exc2, inh = values
        off = exc2 < EXC2_ON
        start = ~off & (self.multiplicator == 0) & (self.exc2_old == 0)
        self.multiplicator = np.where(off, 0, np.where(start, exc, self.multiplicator))
        self.exc2_old = exc2.copy()
        current = fp.mulk(fp.mulk(exc2, self.scaling_factor), self.multiplicator)
        return np.stack([current, inh])
