"""Population, PopulationView and Assembly of the emulator backend.

Parameters and initial values are evaluated when they are set, in the order a script sets
them, so random draws consume a script's ``NumpyRNG`` exactly as the NEST backend does:
the same seed gives the emulator the same initial values, connections, weights and delays
as NEST, and only the numerics differ.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pyNN import common, errors
from pyNN.parameters import ParameterSpace, simplify

from repro.spinnaker.pynn_backend import simulator, standardmodels
from repro.spinnaker.pynn_backend.recording import Recorder, population_index
from repro.spinnaker.pynn_backend.standardmodels import (
    SUPPORTED_CELL_TYPES,
    UnsupportedFeatureError,
)

#: sPyNNaker ``additional_parameters`` the emulator honours on neuron populations.
ADDITIONAL_PARAMETERS = ("spikes_per_second", "ring_buffer_sigma",
                         "max_expected_summed_weight", "neurons_per_core")
#: SpikeSourcePoisson's ``max_rate`` only sizes SDRAM and max spikes per tick in 7.4.1; its
#: ring-buffer-shift branch is never taken for Poisson sources (numerics errata 10).
POISSON_ADDITIONAL_PARAMETERS = ("max_rate",)
#: Parameters sPyNNaker lets a script change between runs without a reset.
POISSON_RUNTIME_PARAMETERS = frozenset({"rate", "start", "duration"})
ARRAY_RUNTIME_PARAMETERS = frozenset({"spike_times"})


class Assembly(common.Assembly):
    """A group of populations (projections from or to it are split per population)."""

    _simulator = simulator


def _per_core(value) -> int | None:
    """A neurons-per-core setting as one number (tuples: their product), or None."""
    return None if value is None else int(np.prod([int(m) for m in np.atleast_1d(value)]))


def _evaluate(value) -> np.ndarray:
    """Evaluate a LazyArray now (random draws happen at this point)."""
    return np.asarray(value.evaluate(simplify=False))


class PopulationView(common.PopulationView):
    """A subset of a population; reads and writes go to the parent's arrays."""

    _assembly_class = Assembly
    _simulator = simulator

    def _get_parameters(self, *names):
        cells = self.index_in_grandparent(np.arange(self.size))
        values = self.grandparent._parameters
        return ParameterSpace({name: simplify(np.asarray(values[name])[cells]) for name in names},
                              shape=(self.size,))

    def _set_parameters(self, parameter_space):
        simulator.state.require_unbuilt("setting parameters")
        parent = self.grandparent
        cells = self.index_in_grandparent(np.arange(self.size))
        parameter_space.shape = (self.size,)
        for name, value in parameter_space.items():
            parent._parameters[name][cells] = value.evaluate(simplify=False)

    def initialize(self, **initial_values):
        """Set initial values of the cells in the view (``v`` is the one the emulator uses)."""
        parent = self.grandparent
        cells = self.index_in_grandparent(np.arange(self.size))
        for variable, value in initial_values.items():
            values = _evaluate(common.populations.LazyArray(value, shape=(self.size,),
                                                            dtype=float))
            parent._set_initial_values(variable, cells, values)

    def _get_view(self, selector, label=None):
        return PopulationView(self, selector, label)


class Population(common.Population):
    """A population of one of the supported cell types.

    Parameters
    ----------
    additional_parameters : dict, optional
        sPyNNaker's per-population extras: ``spikes_per_second``, ``ring_buffer_sigma``,
        ``max_expected_summed_weight``, ``neurons_per_core`` (neuron populations; without
        it the cell type's ``set_number_of_neurons_per_core`` at creation applies) and
        ``seed`` (accepted, the emulator seeds every source from ``setup(rng_seed=...)``).
    """

    __doc__ = common.Population.__doc__
    _simulator = simulator
    _recorder_class = Recorder
    _assembly_class = Assembly

    def __init__(self, size, cellclass, cellparams=None, structure=None, initial_values=None,
                 label=None, additional_parameters: dict[str, Any] | None = None):
        simulator.state.require_unbuilt("creating a Population")
        celltype = cellclass if isinstance(cellclass, type) else type(cellclass)
        if celltype not in {getattr(standardmodels, name) for name in SUPPORTED_CELL_TYPES}:
            raise UnsupportedFeatureError(
                f"cell type {celltype.__name__} is not supported by the SpiNNaker emulator "
                f"(supported: {', '.join(SUPPORTED_CELL_TYPES)})")
        extras = dict(additional_parameters or {})
        allowed = set(ADDITIONAL_PARAMETERS) | {"seed"}
        if celltype is standardmodels.SpikeSourcePoisson:
            allowed |= set(POISSON_ADDITIONAL_PARAMETERS)
        unknown = sorted(set(extras) - allowed)
        if unknown:
            raise UnsupportedFeatureError(
                f"additional_parameters {unknown} are not supported by the "
                f"SpiNNaker emulator (supported: "
                f"{', '.join(ADDITIONAL_PARAMETERS)}, seed)")
        self.additional_parameters = extras
        #: The script's ceiling on neurons per core (None: sPyNNaker's default).
        self.neurons_per_core = _per_core(extras.get(
            "neurons_per_core", simulator.state.neurons_per_core.get(celltype)))
        self._initial_arrays: dict[str, np.ndarray] = {}
        #: Whether the script gave positions (a structure, or ``positions = ...``): sPyNNaker
        #: 7.4.1 has none otherwise (PyNN's default Line is PyNN's, not sPyNNaker's).
        self.positions_given = structure is not None
        super().__init__(size, cellclass, cellparams, structure, initial_values or {}, label)

    def _set_positions(self, pos_array):
        super()._set_positions(pos_array)
        self.positions_given = True

    positions = property(common.Population._get_positions, _set_positions,
                         doc=common.Population.positions.__doc__)

    def _create_cells(self):
        state = simulator.state
        ids = np.arange(state.id_counter, state.id_counter + self.size)
        self.all_cells = np.array([simulator.ID(i) for i in ids], dtype=simulator.ID)
        self._mask_local = np.ones(self.size, dtype=bool)
        parameter_space = self.celltype.native_parameters
        parameter_space.shape = (self.size,)
        parameter_space.evaluate(mask=self._mask_local, simplify=False)
        self._parameters = parameter_space.as_dict()
        for cell in self.all_cells:
            cell.parent = self
        state.id_counter += self.size
        state.populations.append(self)

    def _set_initial_values(self, variable: str, cells: np.ndarray, values: np.ndarray) -> None:
        simulator.state.require_unbuilt("initialize()")
        current = self._initial_arrays.setdefault(
            variable, np.zeros(self.size, dtype=float))
        current[cells] = values

    def _set_initial_value_array(self, variable, initial_values):
        self._set_initial_values(variable, np.arange(self.size), _evaluate(initial_values))

    def initial_array(self, variable: str) -> np.ndarray:
        """Evaluated initial values of ``variable`` for every cell."""
        return self._initial_arrays[variable]

    def _get_view(self, selector, label=None):
        return PopulationView(self, selector, label)

    def _get_parameters(self, *names):
        return ParameterSpace({name: simplify(self._parameters[name]) for name in names},
                              shape=(self.size,))

    def _set_parameters(self, parameter_space):
        state = simulator.state
        poisson = isinstance(self.celltype, standardmodels.SpikeSourcePoisson)
        runtime = (POISSON_RUNTIME_PARAMETERS if poisson else ARRAY_RUNTIME_PARAMETERS
                   if isinstance(self.celltype, standardmodels.SpikeSourceArray) else set())
        between_runs = state.engine is not None and set(parameter_space.keys()) <= runtime
        if not between_runs:
            state.require_unbuilt("setting parameters")
        parameter_space.evaluate(simplify=False, mask=self._mask_local)
        for name, value in parameter_space.items():
            if name not in self._parameters:
                raise errors.NonExistentParameterError(name, self.celltype)
            self._parameters[name] = value
        if between_runs and poisson:
            values = {name: np.broadcast_to(np.asarray(self._parameters[name], dtype=float),
                                            (self.size,)).copy()
                      for name in sorted(POISSON_RUNTIME_PARAMETERS)}
            state.engine.set_poisson_parameters(population_index(self), **values)
        elif between_runs:
            times = np.broadcast_to(self.parameter_array("spike_times"), (self.size,))
            state.engine.set_array_spike_times(
                population_index(self),
                [np.asarray(getattr(t, "value", t), dtype=float) for t in times])

    def parameter_array(self, name: str) -> np.ndarray:
        """Per-cell values of a native parameter (Sequences for spike times)."""
        return np.asarray(self._parameters[name])
