"""The dialect's cell side: cell types, populations, their parameters and random draws.

Part of :class:`repro.site.dialect.ScriptDialect` (a mixin): state variables given as cell
parameters, refractory periods and source spike times NEST cannot represent, recording names
sPyNNaker uses, per-population seeds and sPyNNaker's ``additional_parameters``.
Site-side: standard library, numpy and pyNN only.
"""

from __future__ import annotations

import copy
import inspect
import sys
import types
from typing import Any

import numpy as np

from repro.site.dialect_connections import constant_value, parameter_names
from repro.site.dialect_inputs import OnGridNeeded, nest_model_of, on_grid_class
from repro.site.dialect_nestml_cells import nest_has
from repro.site.portability import NoteBook, script_line
from repro.site.spynnaker_catalogue import HARDWARE_TARGETS, NESTML_STANDARD, NESTML_SUFFIX


class CellDialect:
    """Adaptations of cell types and populations (see the module docstring)."""

    backend: types.ModuleType
    book: NoteBook
    run_seed: int
    on_nest: bool
    on_emulator: bool
    native: bool
    recorded: list[Any]
    populations_made: list[Any]
    gsyn_classes: dict[type, type]
    numpy_rng: Any
    on_grid: frozenset[str]
    population_counts: dict[str, int]
    _nestml_factory: Any  # NestmlCellDialect: (model, feature) -> cell factory
    _paired_post_cell: Any  # NestmlCellDialect: cell type -> (NESTML neuron, synapse) or None

    def derive(self, key: str) -> int:  # provided by ScriptDialect
        raise NotImplementedError

    def _cell_class(self, base: type) -> type:
        """``base`` accepting state variables as parameters, as sPyNNaker's models do."""
        dialect = self
        state_names = set(base.default_initial_values) - set(base.default_parameters)

        def __new__(cls: type, *args: Any, **parameters: Any) -> Any:  # noqa: N807
            paired = dialect._paired_post_cell(base.__name__) if dialect.on_nest else None
            if paired and not args:
                neuron, synapse = paired
                return dialect._nestml_factory(neuron, base.__name__, synapse)(**parameters)
            nestml = NESTML_STANDARD.get(base.__name__, "") if dialect.on_nest else ""
            if nestml and not args and nest_has(nestml + NESTML_SUFFIX):
                return dialect._nestml_factory(nestml, base.__name__)(**parameters)
            state = {k: parameters.pop(k) for k in list(parameters) if k in state_names}
            extra = {k: parameters.pop(k) for k in list(parameters)
                     if k not in base.default_parameters and k in ("isyn_exc", "isyn_inh")}
            if extra:
                dialect.book.add(f"{base.__name__}({', '.join(sorted(extra))}=...)", "ignored",
                                 f"{base.__name__} on {dialect.backend.__name__} has no such "
                                 "state variable", numerical_effect=any(extra.values()))
            if dialect.on_nest and base.__name__ == "Izhikevich":
                dialect._izhikevich_synapses(parameters)
            cell = base(*args, **parameters)
            if dialect.on_nest:
                dialect._membrane_variable_name(cell)
                dialect._synaptic_current_as_gsyn(cell)
            if state:
                dialect.book.add(f"{base.__name__}({', '.join(sorted(state))}=...)",
                                 "translated", "initial values given as cell parameters "
                                 "(sPyNNaker's spelling) are applied as initial values",
                                 numerical_effect=False)
                cell._repro_initial_values = state
            dialect._clamp_refractory(cell)
            return cell

        class Kind(type(base)):  # type: ignore[misc]
            """Instances of ``base`` count as instances of the wrapper (isinstance)."""

            def __instancecheck__(cls, instance: Any) -> bool:
                return isinstance(instance, base)

        return Kind(base.__name__, (base,), {"__new__": __new__, "__doc__": base.__doc__,
                                             "__module__": base.__module__,
                                             "_repro_base": base})

    def _izhikevich_synapses(self, parameters: dict[str, Any]) -> None:
        """sPyNNaker's Izhikevich has exponential current synapses; NEST's has delta ones."""
        dropped = {k: parameters.pop(k) for k in ("tau_syn_E", "tau_syn_I") if k in parameters}
        self.book.add("Izhikevich" + (f"({', '.join(sorted(dropped))}=...)" if dropped else ""),
                      "adapted", "NEST's izhikevich has delta synapses (a spike of weight w "
                      "jumps v by w mV); sPyNNaker's Izhikevich filters input through "
                      "exponential current synapses (tau_syn_E/I, weights in nA)"
                      + ("; the time constants are dropped" if dropped else ""),
                      numerical_effect=True)

    def _membrane_variable_name(self, cell: Any) -> None:
        """PyNN 0.13's pyNN.nest IF_curr_delta records ``v`` under a name NEST lacks."""
        kind = type(cell)
        if "v" not in getattr(kind, "recordable", ()) or getattr(kind, "variable_map", None):
            return
        fixed = self.gsyn_classes.get(kind)
        if fixed is None:
            fixed = type(kind.__name__, (kind,), {
                "__module__": kind.__module__, "variable_map": {"v": "V_m"},
                "scale_factors": {"v": 1}})
            self.gsyn_classes[kind] = fixed
        cell.__class__ = fixed

    def _synaptic_current_as_gsyn(self, cell: Any) -> None:
        """Current-based cells record ``gsyn_exc/inh`` as sPyNNaker does: the synaptic current."""
        kind = type(cell)
        variables = getattr(kind, "variable_map", {})
        if getattr(kind, "conductance_based", True) or "isyn_exc" not in variables:
            return
        import nest

        precision = getattr(self.backend.simulator.state, "spike_precision", "off_grid")
        model = kind.nest_name.get(precision) if isinstance(kind.nest_name, dict) else \
            kind.nest_name
        if variables["isyn_exc"] not in nest.GetDefaults(model, "recordables"):
            return
        extended = self.gsyn_classes.get(kind)
        if extended is None:
            extended = type(kind.__name__, (kind,), {
                "__module__": kind.__module__,
                "recordable": [*kind.recordable, "gsyn_exc", "gsyn_inh"],
                "variable_map": {**variables, "gsyn_exc": variables["isyn_exc"],
                                 "gsyn_inh": variables["isyn_inh"]},
                "scale_factors": {**kind.scale_factors,
                                  "gsyn_exc": kind.scale_factors["isyn_exc"],
                                  "gsyn_inh": kind.scale_factors["isyn_inh"]},
                "units": {**kind.units, "gsyn_exc": "nA", "gsyn_inh": "nA"}})
            self.gsyn_classes[kind] = extended
        cell.__class__ = extended

    def _clamp_refractory(self, cell: Any) -> None:
        """NEST needs tau_refrac >= one step; sPyNNaker counts ceil(tau_refrac / dt) steps."""
        if not self.on_nest or "tau_refrac" not in parameter_names(cell):
            return
        dt = float(self.backend.get_time_step())
        value = constant_value(cell.parameter_space["tau_refrac"])
        if value is None or value >= dt - 1e-12:
            return
        cell.parameter_space.update(tau_refrac=dt)
        steps_on_spinnaker = int(np.ceil(value / dt - 1e-9))
        self.book.add(f"tau_refrac={value:g} ms", "adapted",
                      f"NEST requires at least one time step; set to {dt:g} ms "
                      f"(sPyNNaker counts {steps_on_spinnaker} refractory step(s))",
                      numerical_effect=steps_on_spinnaker != 1)

    def _spike_times_off_zero(self, cell: Any) -> None:
        """Move source spikes pyNN.nest cannot emit to the earliest time it can.

        pyNN.nest sends a source's spikes through parrot neurons one ``min_delay`` early,
        and NEST cannot emit at or before 0 ms: a spike at or before ``min_delay`` (a spike
        at 0 ms, which sPyNNaker sends in the first tick) moves to ``min_delay`` + one step.
        """
        if not self.on_nest or "spike_times" not in parameter_names(cell):
            return
        dt = float(self.backend.get_time_step())
        earliest = float(self.backend.get_min_delay()) + dt
        value = cell.parameter_space["spike_times"]
        base = getattr(value, "base_value", value)
        sequences = base if isinstance(base, list | tuple | np.ndarray) and len(base) and \
            hasattr(base[0], "value") else [base]
        moved: list[float] = []
        for sequence in sequences:
            times = getattr(sequence, "value", None)
            if times is not None and np.size(times) and np.min(times) < earliest - 1e-9:
                times = np.asarray(times, dtype=float)
                moved.extend(times[times < earliest - 1e-9].tolist())
                sequence.value = np.where(times < earliest - 1e-9, earliest, times)
        if moved:
            first = ", ".join(f"{t:g}" for t in sorted(set(moved))[:3])
            self.book.add("spike_times before min_delay + one step", "adapted",
                          f"spikes at {first} ms moved to {earliest:g} ms: pyNN.nest emits "
                          "source spikes one min_delay early and NEST cannot emit at or "
                          "before 0 ms (sPyNNaker sends them in their own tick)",
                          numerical_effect=True)

    def _population_class(self) -> type:
        dialect = self
        base = self.backend.Population
        honoured = self._additional_parameters_honoured()

        class Population(base):  # type: ignore[misc, valid-type]
            def __init__(self, size: Any, cellclass: Any, cellparams: Any = None,
                         structure: Any = None, initial_values: Any = None, label: Any = None,
                         additional_parameters: Any = None, **kwargs: Any) -> None:
                extras = {**(additional_parameters or {}), **kwargs}
                if (isinstance(cellclass, type) or getattr(cellclass, "_repro_factory", False)) \
                        and not dialect.native:
                    cellclass = cellclass(**(cellparams or {}))
                    cellparams = None
                self._repro_key = dialect._population_key()
                if not dialect.native:
                    dialect._spike_times_off_zero(cellclass)
                    dialect._on_grid_if_needed(cellclass, self._repro_key)
                initial = {**getattr(cellclass, "_repro_initial_values", {}),
                           **(initial_values or {})}
                self._repro_rng = None
                self._repro_celltype = type(cellclass)
                passed = dialect._population_extras(extras, label, honoured, self)
                if dialect.native:
                    passed = extras
                args = (size, cellclass, cellparams, structure, initial, label)
                if passed:
                    super().__init__(*args, additional_parameters=passed)
                else:
                    super().__init__(*args)
                dialect.populations_made.append(self)

            def initialize(self, **values: Any) -> Any:
                return super().initialize(**dialect._own_draws(self, values))

            def set(self, **parameters: Any) -> Any:
                return super().set(**dialect._own_draws(self, parameters))

            def record(self, variables: Any, *args: Any, **kwargs: Any) -> Any:
                wanted = [variables] if isinstance(variables, str) else list(variables or [])
                if "all" in wanted and not dialect.native:
                    variables = wanted = list(self.celltype.recordable)
                    missing = sorted({"v", "gsyn_exc", "gsyn_inh"} - set(wanted))
                    gsyn = {"gsyn_exc", "gsyn_inh"} & set(missing)
                    if dialect.on_nest and gsyn and dialect._gsyn_possible(self):
                        dialect._gsyn_elsewhere(self, wanted, gsyn, kwargs)
                        missing = sorted(set(missing) - gsyn)
                    if missing and "v" in wanted:
                        dialect.book.add(
                            f"record('all') of {self.celltype.__class__.__name__}", "adapted",
                            f"recorded {', '.join(wanted)}; this cell on "
                            f"{dialect.backend.__name__} cannot record {', '.join(missing)} "
                            "(sPyNNaker's 'all' includes them)", numerical_effect=False)
                gsyn = {"gsyn_exc", "gsyn_inh"} & set(wanted)
                if dialect.on_nest and gsyn and not set(self.celltype.recordable) >= gsyn:
                    variables = wanted = dialect._gsyn_elsewhere(self, wanted, gsyn, kwargs)
                if dialect.on_nest and gsyn and set(self.celltype.recordable) >= gsyn and \
                        not getattr(self.celltype, "conductance_based", True) and \
                        not getattr(self.celltype, "spynnaker_units", False):
                    dialect.book.add("record('gsyn_exc'/'gsyn_inh') of a current-based cell",
                                     "translated", "sPyNNaker records the synaptic current "
                                     "under these names; recorded from NEST's I_syn_ex/in (nA)",
                                     numerical_effect=False)
                if wanted and "spikes" not in wanted and "all" not in wanted and \
                        "spikes" in self.celltype.recordable:
                    dialect.book.add("record() without spikes", "adapted",
                                     "spikes recorded as well: they are what repro compares",
                                     numerical_effect=False)
                    result = super().record(variables, *args, **kwargs)
                    super().record("spikes")
                else:
                    result = super().record(variables, *args, **kwargs)
                if wanted and self not in dialect.recorded:
                    dialect.recorded.append(self)
                return result

            def get_data(self, variables: Any = "all", gather: bool = True,
                         clear: bool = False, **kwargs: Any) -> Any:
                if dialect.native:
                    return super().get_data(variables, gather, clear, **kwargs)
                block = super().get_data(dialect._variables_to_fetch(self, variables), gather,
                                         clear, **kwargs)
                block = dialect._with_summed_input(self, block, variables)
                return dialect._with_delta_input(self, block, variables, clear)

        if not hasattr(base, "spinnaker_get_data") and not dialect.native:
            Population.spinnaker_get_data = spinnaker_get_data
        Population.__name__ = Population.__qualname__ = "Population"
        return Population

    def _population_key(self) -> str:
        """``file:line#n``: the n-th population made at the current script line."""
        where = script_line(self.book.script) or "internal"
        count = self.population_counts.get(where, 0)
        self.population_counts[where] = count + 1
        return f"{where}#{count}"

    def _on_grid_if_needed(self, cell: Any, key: str) -> None:
        """Build a population on NEST's on-grid model when a previous attempt needed it."""
        if not self.on_nest or key not in self.on_grid:
            return
        kind = type(cell)
        off_grid = nest_model_of(kind, "off_grid")
        cell.__class__ = on_grid_class(kind)
        self._synaptic_current_as_gsyn(cell)
        self.book.add(f"record('gsyn_exc'/'gsyn_inh') of {kind.__name__} (on the grid)",
                      "adapted", f"NEST's off-grid {off_grid} has no synaptic-current "
                      f"recordable; this population runs on the on-grid "
                      f"{nest_model_of(kind, 'on_grid')}, whose spikes fall on the time grid "
                      "(as on SpiNNaker) instead of at NEST's precise off-grid times",
                      numerical_effect=True, line=key.rpartition("#")[0])

    def _gsyn_possible(self, population: Any) -> bool:
        """True when NEST can record this population's synaptic input another way."""
        import nest

        celltype = population.celltype
        if self._delta_input_possible(celltype) or getattr(celltype, "_repro_summed", None):
            return True
        variables = getattr(celltype, "variable_map", {})
        on_grid = nest_model_of(celltype, "on_grid")
        return bool(on_grid) and not getattr(celltype, "conductance_based", True) and \
            variables.get("isyn_exc") in nest.GetDefaults(on_grid, "recordables") and \
            population._repro_key not in self.on_grid

    def _gsyn_elsewhere(self, population: Any, wanted: list[str], gsyn: set[str],
                        kwargs: dict[str, Any]) -> list[str]:
        """``gsyn`` a population's NEST model cannot record: twins, on-grid model or refusal.

        Returns the variables the population's own model records.
        """
        celltype = population.celltype
        name = type(celltype).__name__
        if self._delta_input_possible(celltype):
            self._want_delta_input(population, kwargs.get("sampling_interval"))
            return [v for v in wanted if v not in gsyn]
        if getattr(celltype, "_repro_summed", None):
            parts = self._want_summed_input(population, gsyn)
            return [v for v in wanted if v not in gsyn] + parts
        if self._gsyn_possible(population):
            raise OnGridNeeded(population._repro_key, f"record({sorted(gsyn)[0]!r}) of {name}")
        raise self.book.refuse(
            f"record({sorted(gsyn)[0]!r}) of {name}", f"spinnaker_emulator; {HARDWARE_TARGETS}",
            f"NEST's model of this cell ({nest_model_of(celltype, 'on_grid') or name}) has no "
            "synaptic-input recordable" + (
                "; sPyNNaker's Izhikevich records its exponential synaptic current, NEST's "
                "izhikevich has delta synapses" if name == "Izhikevich" else ""))

    def _additional_parameters_honoured(self) -> frozenset[str]:
        """Extras the backend's Population takes (the emulator lists them in its module)."""
        if "additional_parameters" not in inspect.signature(
                self.backend.Population.__init__).parameters:
            return frozenset()
        module = sys.modules.get(self.backend.Population.__module__)
        return frozenset(getattr(module, "ADDITIONAL_PARAMETERS", ())) | {"seed"}

    def _poisson_extras(self) -> frozenset[str]:
        module = sys.modules.get(self.backend.Population.__module__)
        return frozenset(getattr(module, "POISSON_ADDITIONAL_PARAMETERS", ()))

    def _population_extras(self, extras: dict[str, Any], label: Any, honoured: frozenset[str],
                           population: Any) -> dict[str, Any]:
        """Split sPyNNaker's per-population extras into passed, translated and ignored."""
        celltype = getattr(population, "_repro_celltype", None)
        if honoured and getattr(celltype, "__name__", "") == "SpikeSourcePoisson":
            honoured = honoured | self._poisson_extras()
        passed = {k: v for k, v in extras.items() if k in honoured}
        seed = extras.get("seed")
        if seed is not None and self.on_nest:
            rng_seed = self.derive(f"population-seed={seed}")
            population._repro_rng = self.numpy_rng._repro_original(seed=rng_seed)
            self.book.add(f"Population(seed={seed})", "translated",
                          "this population's parameter and initial-value draws use a stream "
                          f"of their own, seeded from the run's seed and {seed} (so they "
                          "still vary with the run's seed); NEST's spike-generation draws "
                          "come from its kernel RNG seeded with the run's seed",
                          numerical_effect=False)
        elif seed is not None and self.on_emulator:
            self.book.add(f"Population(seed={seed})", "translated",
                          "the emulator seeds each population's stream from the run's seed "
                          "(it still varies with the run's seed)", numerical_effect=False)
        for name in sorted(set(extras) - set(passed) - {"seed"}):
            self.book.add(f"additional_parameters {name}={extras[name]!r}", "ignored",
                          f"sPyNNaker-specific; no meaning on {self.backend.__name__}",
                          numerical_effect=False)
        return passed

    def _own_draws(self, population: Any, values: dict[str, Any]) -> dict[str, Any]:
        """Rebind unseeded distributions to the population's own stream (``seed=``)."""
        rng = getattr(population, "_repro_rng", None)
        if rng is None:
            return values
        out = {}
        for name, value in values.items():
            if hasattr(value, "rng") and hasattr(value, "next"):
                value = copy.copy(value)
                value.rng = rng
            out[name] = value
        return out


def spinnaker_get_data(population: Any, variable: str, as_matrix: bool = False,
                       view_indexes: Any = None) -> np.ndarray:
    """sPyNNaker's non-standard numpy accessor of recorded data, for backends that lack it.

    Parameters
    ----------
    population : Population
        A recorded population.
    variable : str
        "spikes" or a recorded signal ("v", "gsyn_exc", "gsyn_inh").
    as_matrix : bool
        Signals only: a (samples x neurons) matrix instead of rows.
    view_indexes : sequence of int, optional
        Neurons to return (default: all).

    Returns
    -------
    numpy.ndarray
        Spikes: rows (neuron index, time in ms), by neuron, then time. Signals: rows
        (neuron index, time in ms, value), by neuron, then time.
    """
    segment = population.get_data(variable).segments[-1]
    wanted = range(population.size) if view_indexes is None else list(view_indexes)
    if variable == "spikes":
        trains = {int(t.annotations.get("source_index", i)): t
                  for i, t in enumerate(segment.spiketrains)}
        rows = [np.column_stack([np.full(len(trains[i]), float(i)),
                                 np.asarray(trains[i].rescale("ms").magnitude, float)])
                for i in wanted if i in trains]
        return np.concatenate(rows) if rows else np.zeros((0, 2))
    signal = segment.filter(name=variable)[0]
    values = np.asarray(signal.magnitude, dtype=float)[:, list(wanted)]
    if as_matrix:
        return values
    times = np.asarray(signal.times.rescale("ms").magnitude, dtype=float)
    return np.concatenate([np.column_stack([np.full(times.size, float(i)), times,
                                            values[:, k]]) for k, i in enumerate(wanted)])
