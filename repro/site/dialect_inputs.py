"""The dialect's synaptic-input recordings that NEST's cell models lack.

Part of :class:`repro.site.dialect.ScriptDialect` (a mixin).

* **Delta synapses** (``IF_curr_delta``): sPyNNaker records ``gsyn_exc`` / ``gsyn_inh`` as
  the input buffer of ``synapse_types_delta_impl.h``: the summed weight of the spikes that
  arrive in each time step on that receptor (the buffer is emptied every step). NEST's
  ``iaf_psc_delta`` has no such recordable. A population that asks for it gets two hidden
  twins (excitatory, inhibitory): on-grid ``iaf_psc_delta`` cells with a vanishing membrane
  time constant (the membrane forgets the previous step exactly: exp(-h/tau) is 0.0 in
  double precision), rest and reset at 0 mV and no reachable threshold, receiving copies of
  every NEST connection into the population (same sources, weights, delays). A twin's V_m at
  a step is the sum of the weights delivered in that step. The twins have no outgoing
  connections, so the network is unchanged.
* **Exponential current synapses off the grid** (``IF_curr_exp`` with pyNN.nest's default
  ``spike_precision = "off_grid"``): NEST's ``iaf_psc_exp_ps`` has no synaptic-current
  recordable, its on-grid ``iaf_psc_exp`` has. A population that asks for ``gsyn`` is built
  on the on-grid model; since that is known only at ``record()``, after the population
  exists, the script starts again (:class:`OnGridNeeded`).

Site-side: standard library, numpy and pyNN only (nest inside functions).
"""

from __future__ import annotations

import types
from typing import Any

import numpy as np

from repro.site.portability import NoteBook

#: Membrane time constant of an input twin: exp(-0.001 / 1e-6) == 0.0 in double precision.
TWIN_TAU_M_MS = 1e-6


class OnGridNeeded(RuntimeError):  # noqa: N818 - a signal to restart, not a failure
    """A population must be built on NEST's on-grid model; the script must start again."""

    def __init__(self, key: str, feature: str) -> None:
        self.key = key
        self.feature = feature
        super().__init__(f"{feature} needs NEST's on-grid model for the population made at "
                         f"{key}")


def nest_model_of(celltype: Any, precision: str) -> str:
    """NEST model name pyNN.nest builds ``celltype`` with at ``precision``."""
    name = getattr(celltype, "nest_name", "")
    return name.get(precision, "") if isinstance(name, dict) else str(name)


def on_grid_class(kind: type) -> type:
    """``kind`` built on its on-grid NEST model at either spike precision."""
    model = nest_model_of(kind, "on_grid")
    return type(kind.__name__, (kind,), {"__module__": kind.__module__,
                                         "nest_name": {"on_grid": model, "off_grid": model}})


class InputDialect:
    """Synaptic-input recordings (see the module docstring)."""

    backend: types.ModuleType
    book: NoteBook
    projections_made: list[Any]
    summed_inputs: dict[int, dict[str, list[str]]]

    def _init_inputs(self) -> None:
        #: id(population) -> [population, exc twin, inh twin, ids of mirrored projections]
        self.input_twins: dict[int, list[Any]] = {}
        self.twin_sampling: dict[int, Any] = {}

    # ----------------------------------------------------------------- delta synapses
    def _delta_input_possible(self, celltype: Any) -> bool:
        """True when ``celltype`` runs on NEST's iaf_psc_delta (on or off the grid)."""
        return nest_model_of(celltype, "on_grid") == "iaf_psc_delta"

    def _want_delta_input(self, population: Any, sampling_interval: Any) -> None:
        """Record ``gsyn_exc``/``gsyn_inh`` of a delta-synapse population through twins."""
        if id(population) in self.input_twins:
            return
        self.input_twins[id(population)] = [population, None, None, set()]
        self.twin_sampling[id(population)] = sampling_interval
        self.book.add(f"record('gsyn_exc'/'gsyn_inh') of {type(population.celltype).__name__}",
                      "translated", "NEST's iaf_psc_delta has no synaptic-input recordable; "
                      "recorded as sPyNNaker's delta synapse does (the summed weight arriving "
                      "in each step, inhibitory as a magnitude) from two hidden twin cells "
                      "that receive copies of every connection into the population and have "
                      "no outputs", numerical_effect=False)

    def _wire_input_twins(self) -> None:
        """Create missing twins and mirror projections made since the last run."""
        for entry in self.input_twins.values():
            population = entry[0]
            if entry[1] is None:
                entry[1], entry[2] = (self._twin(population, id(population))
                                      for _ in range(2))
            for projection in self.projections_made:
                if projection.post is population and id(projection) not in entry[3]:
                    self._mirror(projection, entry)
                    entry[3].add(id(projection))

    def _twin(self, population: Any, key: int) -> Any:
        raw = self.backend.IF_curr_delta
        kind = type("InputTwin", (raw,), {
            "__module__": raw.__module__,
            "nest_name": {"on_grid": "iaf_psc_delta", "off_grid": "iaf_psc_delta"},
            "variable_map": {"v": "V_m"}, "scale_factors": {"v": 1}})
        dt = float(self.backend.get_time_step())
        twin = self.backend.Population(
            population.size, kind(tau_m=TWIN_TAU_M_MS, v_rest=0.0, v_reset=0.0,
                                  v_thresh=1e12, tau_refrac=dt, i_offset=0.0),
            initial_values={"v": 0.0})
        sampling = self.twin_sampling.get(key)
        if sampling is None:
            twin.record("v")
        else:
            twin.record("v", sampling_interval=sampling)
        return twin

    def _mirror(self, projection: Any, entry: list[Any]) -> None:
        """Copy the NEST connections of ``projection`` onto the twin of its receptor."""
        import nest

        if getattr(projection.synapse_type, "timing_dependence", None) is not None:
            raise self.book.refuse(
                "record('gsyn_exc'/'gsyn_inh') of IF_curr_delta with plastic input",
                "spinnaker_emulator", "the input twins copy weights once; plastic weights "
                "change during the run")
        connections = projection.nest_connections
        if not len(connections):
            return
        got = {k: np.atleast_1d(v) for k, v in
               connections.get(["source", "target", "weight", "delay"]).items()}
        inhibitory = projection.receptor_type == "inhibitory"
        twin = entry[2] if inhibitory else entry[1]
        index = projection.post.id_to_index(np.asarray(got["target"], dtype=int))
        targets = np.asarray(twin.all_cells, dtype=int)[index]
        weights = np.asarray(got["weight"], dtype=float)
        nest.Connect(np.asarray(got["source"], dtype=int), targets, "one_to_one",
                     {"synapse_model": "static_synapse",
                      "weight": -weights if inhibitory else weights,
                      "delay": np.asarray(got["delay"], dtype=float)})

    def _variables_to_fetch(self, population: Any, variables: Any) -> Any:
        """What the backend's ``get_data`` must fetch for ``variables``.

        ``gsyn`` recorded another way is fetched as its parts (summed inputs) or not at all
        (input twins).
        """
        wanted = [variables] if isinstance(variables, str) else list(variables or [])
        if "all" in wanted:
            return variables
        summed = self.summed_inputs.get(id(population), {})
        twins = id(population) in self.input_twins
        fetched: list[str] = []
        for name in wanted:
            if name in summed:
                fetched.extend(p for p in summed[name] if p not in fetched)
            elif not (twins and name in ("gsyn_exc", "gsyn_inh")) and name not in fetched:
                fetched.append(name)
        return fetched

    def _with_delta_input(self, population: Any, block: Any, variables: Any,
                          clear: bool) -> Any:
        """Add the twins' signals to ``block`` as ``gsyn_exc`` and ``gsyn_inh``."""
        entry = self.input_twins.get(id(population))
        wanted = [variables] if isinstance(variables, str) else list(variables or [])
        if entry is None or entry[1] is None:
            return block
        for name, twin in (("gsyn_exc", entry[1]), ("gsyn_inh", entry[2])):
            if name not in wanted and "all" not in wanted:
                continue
            twin_block = twin.get_data("v", clear=clear)
            for segment, twin_segment in zip(block.segments, twin_block.segments,
                                             strict=False):
                for signal in twin_segment.filter(name="v"):
                    signal.name = name
                    segment.analogsignals.append(signal)
        return block
