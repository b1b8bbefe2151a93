"""A population of IF_curr_exp / IF_cond_exp neurons: state, constants and recording.

The engine calls :meth:`NeuronGroup.receive` with the ring-buffer cells of the tick, then
:meth:`NeuronGroup.step`, which records, updates the membranes, tests the threshold and
decays the synaptic state, in the order of the C code.
"""

from __future__ import annotations

import numpy as np

from repro.spinnaker import fixedpoint as fp
from repro.spinnaker import lif, synapses
from repro.spinnaker.netspec import NeuronPopulation
from repro.spinnaker.timing import Timing

_GLOBAL_WEIGHT_SCALE = {False: 1, True: 1024}


def weight_scale(model: str) -> int:
    """Global weight scale g of a cell type (1024 for conductance input, else 1)."""
    return _GLOBAL_WEIGHT_SCALE[model == "IF_cond_exp"]


class NeuronGroup:
    """State, constants and recording of one neuron population.

    Parameters
    ----------
    spec : NeuronPopulation
        Cell type, parameters and initial values.
    timing : Timing
        The simulation time step.
    shifts : numpy.ndarray
        Ring-buffer left shift per synapse type.

    Raises
    ------
    ValueError
        On parameters SpiNNaker cannot represent.
    """

    def __init__(self, spec: NeuronPopulation, timing: Timing, shifts: np.ndarray) -> None:
        self.spec = spec
        self.size = spec.size
        self.shifts = shifts
        self.column_shifts = shifts[:, None]
        self.constants = lif.lif_constants(spec.params, timing.ms, spec.conductance_based)
        syn = [synapses.synapse_constants(spec.params[name], timing.ms)
               for name in ("tau_syn_E", "tau_syn_I")]
        self.decay = np.stack([s.decay for s in syn])
        self.init = np.stack([s.init for s in syn])
        self.v = fp.encode_values(spec.v_init, fp.S1615_SHIFT)
        self.refract = np.zeros(spec.size, dtype=np.int64)
        self.value = np.zeros((2, spec.size), dtype=np.int64)
        self.recorded: set[str] = set()
        self.samples: dict[str, list[np.ndarray]] = {}

    def record(self, variables: set[str]) -> None:
        """Start sampling ``variables`` (v, gsyn_exc, gsyn_inh)."""
        for name in variables:
            self.recorded.add(name)
            self.samples.setdefault(name, [])

    def receive(self, cells: np.ndarray) -> None:
        """Ring-buffer cells of this tick, (synapse types, neurons) uint16 values."""
        self.value = fp.wrap32(self.value + synapses.transfer(cells, self.column_shifts,
                                                              self.init))

    def step(self, tick: int) -> np.ndarray:
        """Record, update and decay one tick; return the indices of neurons that spiked."""
        if self.recorded:
            self._sample()
        if self.spec.conductance_based:
            exc, inh = lif.conductance_input(self.constants, self.v, self.value[0],
                                             self.value[1])
        else:
            exc, inh = self.value[0], self.value[1]
        spiked = lif.membrane_step(self.constants, self.v, self.refract, exc, inh)
        self.value = fp.decay_s1615(self.value, self.decay)
        return np.flatnonzero(spiked)

    def _sample(self) -> None:
        if "v" in self.recorded:
            self.samples["v"].append(self.v.copy())
        shift = lif.CONDUCTANCE_SHIFT if self.spec.conductance_based else 0
        for receptor, name in enumerate(("gsyn_exc", "gsyn_inh")):
            if name in self.recorded:
                self.samples[name].append(self.value[receptor] >> shift)

    def provenance(self) -> dict:
        """Model facts for the run's provenance (JSON-ready)."""
        return {"refractory_steps": sorted({int(s) for s in self.constants.refract_steps})}
