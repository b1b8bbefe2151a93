"""PyNN recorder over the engine's spike and signal buffers.

Spikes carry the SpiNNaker stamp t * dt (t = tick of the threshold crossing or of the
source's emission); V and gsyn samples are the values before each tick's update, labelled
t * dt, as sPyNNaker records them.
"""

from __future__ import annotations

import numpy as np
from pyNN import recording

from repro.spinnaker.pynn_backend import simulator


def population_index(population) -> int:
    """Position of a Population in the simulator's list (the engine's population index)."""
    for index, candidate in enumerate(simulator.state.populations):
        if candidate is population:
            return index
    raise KeyError(f"population {population.label!r} is not part of this simulation")


class Recorder(recording.Recorder):
    """Serves ``get_data`` from the engine; every neuron's spikes are kept anyway."""

    _simulator = simulator

    def _engine_index(self) -> int:
        return population_index(self.population)

    def _record(self, variable, new_ids, sampling_interval=None) -> None:
        if sampling_interval is not None and sampling_interval != simulator.state.dt:
            raise ValueError("the SpiNNaker emulator samples once per time step; "
                             f"sampling_interval={sampling_interval} is not supported")
        engine = simulator.state.engine
        if variable.name != "spikes" and engine is not None:
            engine.record_signals(self._engine_index(), {variable.name})

    def signal_variables(self) -> set[str]:
        """Names of the analogue variables this recorder asked for."""
        return {v.name for v in self.recorded if v.name != "spikes"}

    def _get_spiketimes(self, ids, clear=False):
        engine = simulator.state.engine
        ids = np.asarray([int(i) for i in ids], dtype=np.int64)
        if engine is None:
            return ids[:0], np.zeros(0)
        index, times = engine.spike_data(self._engine_index())
        first = int(self.population.first_id)
        cell_ids = index + first
        keep = np.isin(cell_ids, ids)
        return cell_ids[keep], times[keep]

    def _get_all_signals(self, variable, ids, clear=False):
        engine = simulator.state.engine
        columns = np.asarray([int(i) for i in ids], dtype=np.int64) - int(self.population.first_id)
        if engine is None:
            return np.zeros((0, columns.size)), None
        return engine.signal_data(self._engine_index(), variable.name)[:, columns], None

    def _local_count(self, variable, filter_ids=None):
        ids = self.filter_recorded(variable, filter_ids)
        engine = simulator.state.engine
        counts = np.zeros(self.population.size, dtype=np.int64)
        if engine is not None:
            index, _ = engine.spike_data(self._engine_index())
            counts = np.bincount(index, minlength=self.population.size)
        first = int(self.population.first_id)
        return {int(i): int(counts[int(i) - first]) for i in ids}

    def _clear_simulator(self) -> None:
        engine = simulator.state.engine
        if engine is not None:
            population = self._engine_index()
            engine.spike_data(population, clear=True)
            if population in engine.groups:
                for name in self.signal_variables():
                    engine.signal_data(population, name, clear=True)

    def _reset(self) -> None:
        """Nothing to do: the engine's buffers go with the engine."""
