"""A population of neurons as ``neuron_impl_standard.h`` composes it, vectorised.

A neuron model (LIF or Izhikevich), a synapse shaping (exponential, alpha, delta), an
input type (current, conductance, delta), a static threshold inside the model, and the
population's current sources. The engine calls :meth:`NeuronGroup.receive` with the
ring-buffer cells of the tick, then :meth:`NeuronGroup.step`, which records, updates,
tests the threshold and shapes the synaptic input in the order of the C code:

1. synaptic values -> input type -> record V, gsyn_exc, gsyn_inh (first sub-step);
2. convert to currents with V at the start of the step, add the current sources;
3. neuron update and threshold test (spike stamped with this tick);
4. synapse shaping (decay).
"""

from __future__ import annotations

import numpy as np

from repro.spinnaker import fixedpoint as fp
from repro.spinnaker import inputs, shaping, synapses
from repro.spinnaker.cores import core_slices
from repro.spinnaker.current_sources import CurrentSources
from repro.spinnaker.izhikevich import IzhikevichModel
from repro.spinnaker.lif import LifModel
from repro.spinnaker.netspec import NeuronPopulation
from repro.spinnaker.semd import SemdGate
from repro.spinnaker.timing import Timing

#: Cell type -> (neuron model, synapse shaping, input type), as sPyNNaker builds them.
MODELS = {
    "IF_curr_exp": ("lif", "exponential", "current"),
    "IF_cond_exp": ("lif", "exponential", "conductance"),
    "IF_curr_alpha": ("lif", "alpha", "current"),
    "IF_curr_delta": ("lif", "delta", "delta"),
    "Izhikevich": ("izhikevich", "exponential", "current"),
    "IZK_curr_exp": ("izhikevich", "exponential", "current"),
    "IZK_cond_exp": ("izhikevich", "exponential", "conductance"),
    "IF_curr_dual_exp": ("lif", "exponential", "current"),
    "IF_curr_exp_ca2_adaptive": ("lif", "exponential", "current"),
    "IF_cond_exp_stoc": ("lif", "exponential", "conductance"),
    "IF_curr_exp_sEMD": ("lif", "exponential", "current"),
}
#: Cell types whose neurons draw from a per-core generator (not fusable with neighbours).
PER_CORE_RANDOM = ("IF_cond_exp_stoc",)
RECORDABLE = ("v", "gsyn_exc", "gsyn_inh")
#: Synapse types of a cell type (ring-buffer rows, in sPyNNaker's order), with the
#: time-constant parameter of each; all others have excitatory and inhibitory only.
#: ``synapse_types_dual_excitatory_exponential_impl.h``: EXCITATORY_ONE, EXCITATORY_TWO,
#: INHIBITORY, whose two excitatory values are summed (recorded as gsyn_exc, and into
#: the membrane) by ``neuron_impl_standard.h``.
#: ``synapse_types_semd_impl.h`` has the same three, combined by :class:`SemdGate`.
_DUAL = (("excitatory", "tau_syn_E"), ("excitatory2", "tau_syn_E2"), ("inhibitory", "tau_syn_I"))
RECEPTORS = {"IF_curr_dual_exp": _DUAL, "IF_curr_exp_sEMD": _DUAL}
STANDARD_RECEPTORS = (("excitatory", "tau_syn_E"), ("inhibitory", "tau_syn_I"))


def receptors(model: str) -> tuple[str, ...]:
    """Names of the synapse types of a cell type, in ring-buffer order."""
    return tuple(name for name, _ in RECEPTORS.get(model, STANDARD_RECEPTORS))


def weight_scale(model: str) -> int:
    """Global weight scale g of a cell type (1024 for conductance input, else 1)."""
    return inputs.WEIGHT_SCALE[MODELS[model][2]]


def _receptor_pair(params: dict[str, np.ndarray]) -> np.ndarray:
    return np.stack([params["tau_syn_E"], params["tau_syn_I"]])


def _sum_excitatory(values: np.ndarray) -> np.ndarray:
    """(exc1, exc2, inh) -> (exc1 + exc2, inh): ``total_exc`` of ``neuron_impl_standard.h``."""
    return np.stack([fp.wrap32(values[0] + values[1]), values[2]])


class NeuronGroup:
    """State, constants and recording of one neuron population.

    Parameters
    ----------
    spec : NeuronPopulation
        Cell type, parameters, initial values and current sources.
    timing : Timing
        The simulation time step.
    shifts : numpy.ndarray
        Ring-buffer left shift per synapse type.
    rng : numpy.random.Generator
        Draws of noisy current sources.

    Raises
    ------
    ValueError
        On parameters SpiNNaker cannot represent.
    """

    def __init__(self, spec: NeuronPopulation, timing: Timing, shifts: np.ndarray,
                 rng: np.random.Generator) -> None:
        if spec.model not in MODELS:
            raise ValueError(f"no emulation of cell type {spec.model}")
        kind, shape, input_kind = MODELS[spec.model]
        self.spec = spec
        self.size = spec.size
        self.shifts = shifts
        self.column_shifts = shifts[:, None]
        taus = [tau for _, tau in RECEPTORS.get(spec.model, STANDARD_RECEPTORS)]
        #: Ring-buffer rows (synapse types) of this cell type.
        self.n_types = len(taus)
        params = spec.params
        ts = fp.s1615(timing.ms)
        if kind == "lif":
            self.model = LifModel(params, spec.v_init, timing.ms, spec.neurons_per_core)
        else:
            self.model = IzhikevichModel(params, spec.v_init, spec.initial["u"], timing.ms)
        #: (exc1, exc2, inh) -> (exc, inh) for the three-receptor cell types.
        self.combine = (SemdGate(params, spec.initial).excitatory
                        if spec.model == "IF_curr_exp_sEMD" else _sum_excitatory)
        self.notes = list(getattr(getattr(self.model, "constants", None), "notes", ()))
        n_cores = len(core_slices(spec.size, spec.neurons_per_core))
        if spec.model in PER_CORE_RANDOM and n_cores > 1:
            self.notes.append(
                f"{spec.label}: {spec.model} with {spec.size} neurons on {n_cores} cores of "
                f"at most {spec.neurons_per_core} neurons, as sPyNNaker slices it: each core "
                "draws from its own mars_kiss64_simp stream from the fixed seeds, so which "
                "neuron gets which draw depends on this slicing")
        if shape == "exponential":
            syn = [synapses.synapse_constants(params[name], timing.ms)
                   for name in taus]
            self.synapses = shaping.ExponentialShaping(np.stack([s.decay for s in syn]),
                                                       np.stack([s.init for s in syn]))
        elif shape == "alpha":
            tau = fp.encode_values(_receptor_pair(params), fp.S1615_SHIFT)
            if np.any(tau <= 0):
                raise ValueError("synaptic time constants must be positive")
            self.synapses = shaping.AlphaShaping(tau, ts)
            if np.any(self.synapses.dt_tau_sq == 0):
                self.notes.append(
                    f"{spec.label}: IF_curr_alpha with dt/tau_syn**2 a whole number (e.g. "
                    "tau_syn <= 1 ms at dt = 1 ms) keeps only the fraction on SpiNNaker: "
                    "the synaptic input of those receptors is lost (reproduced)")
        else:
            self.synapses = shaping.DeltaShaping(spec.size)
        if input_kind == "conductance":
            self.input = inputs.ConductanceInput(
                fp.encode_values(params["e_rev_E"], fp.S1615_SHIFT),
                fp.encode_values(params["e_rev_I"], fp.S1615_SHIFT))
        elif input_kind == "delta":
            self.input = inputs.DeltaInput(ts)
        else:
            self.input = inputs.CurrentInput()
        self.sources = (CurrentSources(spec.current_sources, spec.size, timing, rng)
                        if spec.current_sources else None)
        self.recorded: set[str] = set()
        self.samples: dict[str, list[np.ndarray]] = {}

    def record(self, variables: set[str]) -> None:
        """Start sampling ``variables`` (see :data:`RECORDABLE`)."""
        for name in variables:
            self.recorded.add(name)
            self.samples.setdefault(name, [])

    def receive(self, cells: np.ndarray) -> None:
        """Ring-buffer cells of this tick, (synapse types, neurons) uint16 values."""
        if cells.any():
            self.synapses.add(fp.wrap32(cells << self.column_shifts))

    def step(self, tick: int) -> np.ndarray:
        """Record, update and shape one tick; return the indices of neurons that spiked."""
        values = self.synapses.values()
        if self.n_types == 3:
            values = self.combine(values)
        seen = self.input.recorded(values)
        if self.recorded:
            if "v" in self.recorded:
                self.samples["v"].append(self.model.v.copy())
            for receptor, name in enumerate(("gsyn_exc", "gsyn_inh")):
                if name in self.recorded:
                    self.samples[name].append(seen[receptor].copy())
        currents = self.input.currents(values, self.model.v)
        offset = self.sources.offset(tick) if self.sources is not None else 0
        spiked = self.model.step(currents[0], currents[1], offset)
        self.synapses.shape()
        return np.flatnonzero(spiked)

    def provenance(self) -> dict:
        """Model facts for the run's provenance (JSON-ready)."""
        return self.model.provenance()
