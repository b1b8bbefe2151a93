"""Serve an unmodified classic PyNN script the run's backend, in the dialect it was written in.

A script written for sPyNNaker (``import pyNN.spiNNaker as p``) runs on NEST, and a script
written for NEST (``import pyNN.nest as sim``) runs on the SpiNNaker emulator: every module
name in :data:`BACKEND_NAMES` imports one shim module that delegates to the backend. The shim

* translates sPyNNaker extensions that have a meaning on the backend (per-population
  ``seed=``, ``sim.name()``, ``extra_models`` entries with the same equations, state
  variables given as cell parameters, a ``max_delay`` large enough for the script's delays);
* accepts extensions with no meaning (``set_number_of_neurons_per_core``, hardware
  ``setup()`` options, ``additional_parameters`` the backend does not know) with one note;
* applies adaptations that change numerics explicitly (refractory period clamped to one
  step, spike times moved off 0 ms, delays rounded to the time step) and notes them;
* refuses what the backend cannot run with a :class:`~repro.site.portability.FeatureRefused`
  naming the feature, the script line and the targets that can run it;
* seeds every random stream the script leaves unseeded from the run's seed, and says so when
  the script pins its own seeds;
* records every population on which the script asked for spikes.

Every note is a :class:`~repro.site.portability.PortabilityNote`. Site-side: standard
library, numpy and pyNN only.
"""

from __future__ import annotations

import copy
import inspect
import sys
import types
import zlib
from typing import Any

import numpy as np

from repro.site.portability import NoteBook, script_line
from repro.site.spikefile import PopulationSpikes
from repro.site.spynnaker_catalogue import (
    EXTRA_MODELS,
    HARDWARE_TARGETS,
    SPYNNAKER_ONLY,
    Extension,
    check_translation,
)

#: Module names a classic script may import its simulator under; all are served the shim.
BACKEND_NAMES = ("pyNN.spiNNaker", "spynnaker8", "spynnaker.pyNN", "pyNN.nest", "pyNN.neuron",
                 "pyNN.brian2")
#: ``setup()`` keywords pyNN.nest understands besides timestep/min_delay/max_delay.
NEST_SETUP_OPTIONS = frozenset({"threads", "rng_seed", "grng_seed", "rng_seeds",
                                "rng_seeds_seed", "rng_type", "spike_precision", "verbosity",
                                "recording_precision", "t_flush"})
#: ``setup()`` keywords the emulator understands (its sPyNNaker configuration values).
EMULATOR_SETUP_OPTIONS = frozenset({"threads", "rng_seed", "error_on_non_spynnaker_pynn"})
#: ``Projection()`` keywords of sPyNNaker that have no meaning elsewhere.
PROJECTION_EXTRAS = ("download_synapses", "partition_id")


class MaxDelayTooSmall(RuntimeError):  # noqa: N818 - a signal to restart, not a failure
    """NEST's max_delay is fixed once connections exist; the script must start again."""

    def __init__(self, needed_ms: float) -> None:
        self.needed_ms = needed_ms
        super().__init__(f"the script needs max_delay >= {needed_ms} ms")


def derive_seed(run_seed: int, key: str) -> int:
    """A 32-bit seed derived from the run's seed and ``key`` (stable across processes)."""
    sequence = np.random.SeedSequence([int(run_seed) & 0xFFFFFFFF, zlib.crc32(key.encode())])
    return int(sequence.generate_state(1)[0])


def _constant(value: Any) -> float | None:
    """The value of a homogeneous, non-random LazyArray (or plain number), else None."""
    base = getattr(value, "base_value", value)
    if getattr(value, "operations", None):
        return None
    if isinstance(base, int | float | np.integer | np.floating):
        return float(base)
    return None


def _names(model: Any) -> set[str]:
    """Parameter names of a model instance (its ParameterSpace cannot be iterated)."""
    space = getattr(model, "parameter_space", None)
    return set(space.keys()) if space is not None else set()


def _may_be_positive(value: Any) -> bool:
    """False only when a weight specification is known to draw no positive value."""
    high = _upper_bound(value)
    return high is None or high > 0


def _upper_bound(value: Any) -> float | None:
    """Largest value a delay specification can take, where it can be known in advance."""
    constant = _constant(value)
    if constant is not None:
        return constant
    base = getattr(value, "base_value", value)
    if hasattr(base, "parameters") and hasattr(base, "name"):  # a RandomDistribution
        high = base.parameters.get("high")
        return float(high) if high is not None and np.isfinite(high) else None
    if isinstance(base, np.ndarray) and base.size:
        return float(np.nanmax(base))
    return None


class ScriptDialect:
    """The shim module for one run of one classic script.

    Parameters
    ----------
    backend : module
        The PyNN backend of the run (``pyNN.nest``, the emulator, pyNN.spiNNaker).
    run_seed : int
        The run's seed.
    threads : int
        Thread count of the run.
    backend_options : dict
        Target options for the backend's ``setup()``.
    book : NoteBook
        Where portability notes go.
    max_delay_ms : float, optional
        NEST's max_delay, learnt from a previous attempt (see :class:`MaxDelayTooSmall`).
    """

    def __init__(self, backend: types.ModuleType, run_seed: int, threads: int,
                 backend_options: dict[str, Any], book: NoteBook,
                 max_delay_ms: float | None = None) -> None:
        self.backend = backend
        self.run_seed = int(run_seed)
        self.threads = threads
        self.backend_options = dict(backend_options)
        self.book = book
        self.max_delay_ms = max_delay_ms
        self.on_nest = backend.__name__ == "pyNN.nest"
        self.on_emulator = backend.__name__.startswith("repro.spinnaker")
        #: Native sPyNNaker speaks the dialect itself: nothing is translated there.
        self.native = not (self.on_nest or self.on_emulator)
        self.recorded: list[Any] = []
        self.collected: dict[int, list[list[np.ndarray]]] = {}
        self.t_stop = 0.0
        self.ended = False
        self.rng_counts: dict[str, int] = {}
        self.delays_fixed = False
        self.gsyn_classes: dict[type, type] = {}
        self.populations_made: list[Any] = []
        self.shim = self._make_shim()

    # ----------------------------------------------------------------- installation
    def install(self) -> None:
        """Make every classic backend name import the shim; seed unseeded random streams."""
        import pyNN

        for name in BACKEND_NAMES:
            sys.modules[name] = self.shim
            head, _, tail = name.rpartition(".")
            if head == "pyNN":
                setattr(pyNN, tail, self.shim)
        self._seed_random_streams()

    def _seed_random_streams(self) -> None:
        """Unseeded NumpyRNGs (PyNN's default) draw from the run's seed, not OS entropy.

        Connectors without ``rng`` use PyNN's fixed seed 151985012 on every run; here they
        too draw from the run's seed, as sPyNNaker's on-chip generation varies run to run.
        """
        import pyNN.connectors
        import pyNN.random
        import pyNN.space

        original = getattr(pyNN.random.NumpyRNG, "_repro_original", pyNN.random.NumpyRNG)
        dialect = self

        class NumpyRNG(original):  # type: ignore[misc, valid-type]
            _repro_original = original

            def __init__(self, seed: int | None = None, parallel_safe: bool = True) -> None:
                if seed is None:
                    seed = dialect.stream_seed("NumpyRNG()")
                elif script_line(dialect.book.script):
                    dialect.book.add(f"NumpyRNG(seed={seed})", "pinned",
                                     "the script fixes this seed: draws from it are the "
                                     "same for every run seed", numerical_effect=False)
                super().__init__(seed, parallel_safe)

        def get_rng(rng: Any) -> Any:
            if isinstance(rng, pyNN.random.AbstractRNG):
                return rng
            if rng is None:
                dialect.book.add("connector without rng", "adapted",
                                 "PyNN would draw from its fixed seed 151985012 on every run; "
                                 "drawn from the run's seed instead, so connectivity varies "
                                 "with the seed as on SpiNNaker", numerical_effect=False)
                return original(seed=dialect.stream_seed("connector"))
            raise TypeError("rng must be either None, or a subclass of pyNN.random.AbstractRNG")

        for module in (pyNN.random, pyNN.space, pyNN.connectors, self.backend,
                       sys.modules.get("pyNN.utility")):
            if module is not None and getattr(module, "NumpyRNG", None) is original:
                module.NumpyRNG = NumpyRNG
        self.shim.NumpyRNG = NumpyRNG
        pyNN.connectors._get_rng = get_rng
        self.numpy_rng = NumpyRNG

    def stream_seed(self, what: str) -> int:
        """Seed of the next unseeded stream created at the current script line."""
        where = script_line(self.book.script) or "internal"
        key = f"{what}@{where}"
        count = self.rng_counts.get(key, 0)
        self.rng_counts[key] = count + 1
        return derive_seed(self.run_seed, f"{key}#{count}")

    # ----------------------------------------------------------------- the shim
    def _make_shim(self) -> types.ModuleType:
        backend = self.backend
        shim = types.ModuleType(backend.__name__ + "[repro]")
        shim.__dict__.update({k: v for k, v in vars(backend).items() if not k.startswith("__")})
        shim.setup = self._setup
        shim.run = shim.run_for = self._run
        shim.reset = self._reset
        shim.end = self._end
        if self.native:
            shim.Population = self._population_class()
            return shim
        shim.name = self._name
        if not callable(getattr(backend, "set_number_of_neurons_per_core", None)):
            shim.set_number_of_neurons_per_core = self._neurons_per_core
        for name, value in vars(backend).items():
            if isinstance(value, type) and isinstance(
                    vars(value).get("default_initial_values", getattr(
                        value, "default_initial_values", None)), dict) and isinstance(
                    getattr(value, "default_parameters", None), dict) and \
                    not name.startswith("_"):
                setattr(shim, name, self._cell_class(value))
        shim.Population = self._population_class()
        shim.Projection = self._projection_class()
        shim.OneToOneConnector = self._one_to_one_class()
        shim.extra_models = self._extra_models(shim)
        shim.__getattr__ = self._missing
        return shim

    def _missing(self, name: str) -> Any:
        """A name of pyNN.spiNNaker the backend lacks: refuse it by name."""
        extension = SPYNNAKER_ONLY.get(name)
        if extension is None:
            raise AttributeError(f"{self.backend.__name__} has no attribute {name!r} (the "
                                 "script uses it; it is not part of PyNN)")
        raise self.book.refuse(f"sim.{name}", HARDWARE_TARGETS, extension.why_not)

    def _extra_models(self, shim: types.ModuleType) -> types.ModuleType:
        """``sim.extra_models``: translations by equations, refusals by name."""
        dialect = self
        extra = types.ModuleType(shim.__name__ + ".extra_models")

        def lookup(name: str) -> Any:
            extension = EXTRA_MODELS.get(name)
            if extension is None:
                raise AttributeError(f"sPyNNaker 7.4.1 has no extra_models.{name}")
            return dialect._translate(shim, extension)

        extra.__getattr__ = lookup
        return extra

    def _translate(self, shim: types.ModuleType, extension: Extension) -> Any:
        if extension.name == "AllButMeConnector":
            self.book.add("extra_models.AllButMeConnector", "translated",
                          "built as a list of (i, j) pairs within each group, i != j",
                          numerical_effect=False)
            return all_but_me_connector(shim)
        backend = "spinnaker_emulator" if self.on_emulator else "nest"
        wanted = extension.class_on(backend)
        target = getattr(shim, wanted, None) if wanted else None
        stand_ins = getattr(sys.modules.get(getattr(target, "__module__", "")), "UNSUPPORTED", {})
        if target is None or wanted in stand_ins:
            reason = extension.why_not or f"{self.backend.__name__} has no {wanted}"
            raise self.book.refuse(f"extra_models.{extension.name}", HARDWARE_TARGETS, reason)
        names = set(getattr(target, "default_parameters", {})) | set(
            getattr(target, "default_initial_values", {})) | {"isyn_exc", "isyn_inh"}
        missing = check_translation(extension, names)
        if missing:
            raise self.book.refuse(f"extra_models.{extension.name}", HARDWARE_TARGETS,
                                   f"{wanted} lacks parameters {missing}")
        self.book.add(f"extra_models.{extension.name}", "translated",
                      f"{wanted}: the same equations ({extension.equations})",
                      numerical_effect=False)
        return target

    # ----------------------------------------------------------------- control
    def _setup(self, timestep: Any = None, min_delay: Any = "auto", max_delay: Any = None,
               **kwargs: Any) -> Any:
        kwargs["threads"] = self.threads
        kwargs["rng_seed"] = self.run_seed
        kwargs.update(self.backend_options)
        if not self.native:
            known = NEST_SETUP_OPTIONS if self.on_nest else EMULATOR_SETUP_OPTIONS
            for name in sorted(set(kwargs) - known - set(self.backend_options)):
                value = kwargs.pop(name)
                self.book.add(f"setup({name}={value!r})", "ignored",
                              f"no meaning on {self.backend.__name__}", numerical_effect=False)
        args: dict[str, Any] = {"min_delay": min_delay}
        if timestep is not None:
            args["timestep"] = timestep
        self.delays_fixed = min_delay != "auto"
        if self.on_nest:
            wanted = self.max_delay_ms or (float(max_delay) if max_delay not in (None, "auto")
                                           else None)
            if wanted is not None and min_delay != "auto":
                args["max_delay"] = wanted
            if self.max_delay_ms:
                self.book.add("max_delay", "adapted",
                              f"NEST fixes max_delay before the first connection; set to "
                              f"{self.max_delay_ms:g} ms, the largest delay the script uses "
                              "(sPyNNaker has no global max_delay)", numerical_effect=False)
        elif max_delay not in (None, "auto"):
            args["max_delay"] = max_delay
        return self.backend.setup(**args, **kwargs)

    def _run(self, duration: float, *args: Any, **kwargs: Any) -> Any:
        if not self.recorded and not self.native:
            self._record_everything()
        result = self.backend.run(duration, *args, **kwargs)
        self.t_stop = float(self.backend.get_current_time())
        return result

    def _record_everything(self) -> None:
        """A script that records nothing still yields spikes: those of its neurons."""
        neurons = [pop for pop in self.populations_made
                   if "spikes" in pop.celltype.recordable and "v" in pop.celltype.recordable]
        chosen = neurons or [pop for pop in self.populations_made
                             if "spikes" in pop.celltype.recordable]
        for pop in chosen:
            pop.record("spikes")
        if chosen:
            self.book.add("no recording", "adapted", "the script records nothing; the spikes "
                          f"of its {len(chosen)} neuron population(s) are recorded for "
                          "comparison", numerical_effect=False, line="")

    def _reset(self, *args: Any, **kwargs: Any) -> Any:
        return self.backend.reset(*args, **kwargs)

    def _end(self, *args: Any, **kwargs: Any) -> Any:
        self.harvest()
        self.ended = True
        return self.backend.end(*args, **kwargs)

    def _name(self) -> str:
        name = "NEST" if self.on_nest else "SpiNNaker emulator (sPyNNaker 7.4.1 numerics)"
        self.book.add("sim.name()", "translated", f"returns {name!r}", numerical_effect=False)
        return name

    def _neurons_per_core(self, *_args: Any, **_kwargs: Any) -> None:
        self.book.add("set_number_of_neurons_per_core()", "ignored",
                      f"partitioning onto cores has no meaning on {self.backend.__name__}",
                      numerical_effect=False)

    # ----------------------------------------------------------------- models
    def _cell_class(self, base: type) -> type:
        """``base`` accepting state variables as parameters, as sPyNNaker's models do."""
        dialect = self
        state_names = set(base.default_initial_values) - set(base.default_parameters)

        def __new__(cls: type, *args: Any, **parameters: Any) -> Any:  # noqa: N807
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

        return type(base.__name__, (base,), {"__new__": __new__, "__doc__": base.__doc__,
                                             "__module__": base.__module__})

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
        if not self.on_nest or "tau_refrac" not in _names(cell):
            return
        dt = float(self.backend.get_time_step())
        value = _constant(cell.parameter_space["tau_refrac"])
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
        if not self.on_nest or "spike_times" not in _names(cell):
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
                if isinstance(cellclass, type) and not dialect.native:
                    cellclass = cellclass(**(cellparams or {}))
                    cellparams = None
                if not dialect.native:
                    dialect._spike_times_off_zero(cellclass)
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
                    if missing and "v" in wanted:
                        dialect.book.add(
                            f"record('all') of {self.celltype.__class__.__name__}", "adapted",
                            f"recorded {', '.join(wanted)}; this cell on "
                            f"{dialect.backend.__name__} cannot record {', '.join(missing)} "
                            "(sPyNNaker's 'all' includes them)", numerical_effect=False)
                gsyn = {"gsyn_exc", "gsyn_inh"} & set(wanted)
                if dialect.on_nest and gsyn and not set(self.celltype.recordable) >= gsyn:
                    raise dialect.book.refuse(
                        f"record({sorted(gsyn)[0]!r}) of {self.celltype.__class__.__name__}",
                        "local with target option spike_precision = \"on_grid\"; "
                        f"spinnaker_emulator; {HARDWARE_TARGETS}",
                        "NEST's off-grid model of this cell has no synaptic-current recordable")
                if dialect.on_nest and gsyn and \
                        not getattr(self.celltype, "conductance_based", True):
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

        Population.__name__ = Population.__qualname__ = "Population"
        return Population

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
            rng_seed = derive_seed(self.run_seed, f"population-seed={seed}")
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

    # ----------------------------------------------------------------- connections
    def _projection_class(self) -> type:
        dialect = self
        base = self.backend.Projection

        class Projection(base):  # type: ignore[misc, valid-type]
            def __init__(self, presynaptic: Any, postsynaptic: Any, connector: Any,
                         synapse_type: Any = None, *args: Any, **kwargs: Any) -> None:
                for name in PROJECTION_EXTRAS:
                    if name in kwargs:
                        value = kwargs.pop(name)
                        dialect.book.add(f"Projection({name}={value!r})", "ignored",
                                         "sPyNNaker-specific", numerical_effect=False)
                receptor = kwargs.get("receptor_type", args[1] if len(args) > 1 else None)
                if not dialect.native:
                    synapse_type = synapse_type or dialect.backend.StaticSynapse()
                    dialect._weight_signs(synapse_type, connector, postsynaptic, receptor)
                if dialect.on_nest:
                    dialect._prepare_delays(synapse_type, connector)
                super().__init__(presynaptic, postsynaptic, connector, synapse_type,
                                 *args, **kwargs)

        Projection.__name__ = Projection.__qualname__ = "Projection"
        return Projection

    def _weight_signs(self, synapse_type: Any, connector: Any, post: Any,
                      receptor: Any) -> None:
        """sPyNNaker takes inhibitory weights as magnitudes; PyNN wants them negative.

        For current-based cells PyNN requires negative inhibitory weights (conductances
        stay positive); sPyNNaker accepts either sign and uses the magnitude.
        """
        celltype = getattr(post, "celltype", None)
        if receptor != "inhibitory" or celltype is None or getattr(
                celltype, "conductance_based", True):
            return
        space = getattr(synapse_type, "parameter_space", None)
        flipped = False
        if space is not None and "weight" in _names(synapse_type):
            weight = space["weight"]
            constant = _constant(weight)
            if constant is not None and constant > 0:
                space.update(weight=-constant)
                flipped = True
            elif constant is None and hasattr(weight, "apply") and not getattr(
                    weight, "_repro_signed", False) and _may_be_positive(weight):
                weight.apply(lambda w: -np.abs(np.asarray(w)))
                weight._repro_signed = True
                flipped = True
        conn_list = getattr(connector, "conn_list", None)
        columns = list(getattr(connector, "column_names", None) or ["weight", "delay"])
        if conn_list is not None and np.size(conn_list) and "weight" in columns:
            array = np.asarray(conn_list, dtype=float)
            column = 2 + columns.index("weight")
            if array.ndim == 2 and array.shape[1] > column and (array[:, column] > 0).any():
                array[:, column] = -np.abs(array[:, column])
                connector.conn_list = array
                flipped = True
        if flipped:
            self.book.add("positive inhibitory weights", "translated",
                          "sPyNNaker uses the magnitude of inhibitory weights; PyNN's "
                          "current-based cells need them negative, so they were negated",
                          numerical_effect=False)

    def _prepare_delays(self, synapse_type: Any, connector: Any) -> None:
        """Round delays to the time step explicitly, and make max_delay large enough."""
        dt = float(self.backend.get_time_step())
        space = getattr(synapse_type, "parameter_space", None)
        if space is None or "delay" not in _names(synapse_type):
            return
        delay = space["delay"]
        highest = _upper_bound(delay)
        constant = _constant(delay)
        if constant is not None:
            rounded = max(float(np.rint(constant / dt)), 1.0) * dt
            if abs(rounded - constant) > 1e-9:
                space.update(delay=rounded)
                self.book.add(f"delay={constant:g} ms", "adapted",
                              f"rounded to the time step: {rounded:g} ms (sPyNNaker rounds "
                              "to whole steps the same way)", numerical_effect=False)
        elif not getattr(delay, "_repro_rounded", False) and hasattr(delay, "apply"):
            delay.apply(lambda d: np.maximum(np.rint(np.asarray(d) / dt), 1.0) * dt)
            delay._repro_rounded = True
            self.book.add("delays drawn from a distribution", "adapted",
                          f"each drawn delay rounded to whole steps of {dt:g} ms (at least one "
                          "step), as sPyNNaker does on the host", numerical_effect=False)
        conn_list = getattr(connector, "conn_list", None)
        if conn_list is not None and np.size(conn_list):
            columns = list(getattr(connector, "column_names", None) or ["weight", "delay"])
            if "delay" in columns:
                column = 2 + columns.index("delay")
                array = np.asarray(conn_list, dtype=float)
                if array.ndim == 2 and array.shape[1] > column:
                    rounded = np.maximum(np.rint(array[:, column] / dt), 1.0) * dt
                    if not np.allclose(rounded, array[:, column]):
                        array[:, column] = rounded
                        connector.conn_list = array
                        self.book.add("FromListConnector delays", "adapted",
                                      f"rounded to whole steps of {dt:g} ms",
                                      numerical_effect=False)
                    highest = max(highest or 0.0, float(rounded.max()))
        if highest is not None:
            self._ensure_max_delay(highest)

    def _ensure_max_delay(self, needed_ms: float) -> None:
        """With min_delay="auto" NEST grows max_delay by itself; otherwise it must be set."""
        current = float(self.backend.get_max_delay())
        if not self.delays_fixed or needed_ms <= current + 1e-9:
            return
        import nest

        try:
            nest.SetKernelStatus({"min_delay": float(self.backend.get_min_delay()),
                                  "max_delay": float(needed_ms)})
        except Exception as exc:  # noqa: BLE001 - NEST: "Connections already exist"
            raise MaxDelayTooSmall(needed_ms) from exc
        self.book.add("max_delay", "adapted",
                      f"NEST fixes max_delay before the first connection; set to "
                      f"{needed_ms:g} ms, the largest delay the script uses (sPyNNaker has "
                      "no global max_delay)", numerical_effect=False)

    def _one_to_one_class(self) -> type:
        """OneToOneConnector without PyNN 0.13's numpy 2 failure on one-neuron populations."""
        from pyNN import connectors

        dialect = self

        class OneToOneConnector(connectors.OneToOneConnector):
            def connect(self, projection: Any) -> Any:
                if projection.pre.size == 1 and projection.post.size == 1:
                    dialect.book.add("OneToOneConnector between one-neuron populations",
                                     "adapted", "connected as AllToAllConnector (the same "
                                     "single connection): PyNN 0.13 with numpy 2 fails "
                                     "there", numerical_effect=False)
                    return connectors.AllToAllConnector(
                        safe=self.safe, callback=self.callback).connect(projection)
                return super().connect(projection)

        return OneToOneConnector

    # ----------------------------------------------------------------- recording
    def harvest(self) -> None:
        """Collect the spikes of every recorded population (all segments so far).

        Nothing is cleared, so the script still reads its own data afterwards.
        """
        for pop in self.recorded:
            if "spikes" not in pop.celltype.recordable:
                continue
            block = pop.get_data("spikes")
            trains: list[np.ndarray] | None = None
            for segment in block.segments:
                current = [np.asarray(st.rescale("ms").magnitude) for st in segment.spiketrains]
                if not current:
                    continue
                trains = current if trains is None else [
                    np.concatenate([a, b]) for a, b in zip(trains, current, strict=True)]
            if trains is not None:
                self.collected[id(pop)] = [trains]

    def populations(self) -> list[PopulationSpikes]:
        """Everything harvested, one entry per recorded population."""
        out = []
        used: set[str] = set()
        for index, pop in enumerate(self.recorded):
            chunks = self.collected.get(id(pop), [])
            trains = [np.concatenate(parts) if parts else np.zeros(0)
                      for parts in zip(*chunks, strict=True)] if chunks else [
                np.zeros(0) for _ in range(pop.size)]
            name = pop.label or f"population{index}"
            while name in used:
                name = f"{name}_{index}"
            used.add(name)
            out.append(PopulationSpikes.from_trains(
                name, trains, celltype=pop.celltype.__class__.__name__, t_start=0.0,
                t_stop=self.t_stop))
        return out


def all_but_me_connector(shim: types.ModuleType) -> type:
    """sPyNNaker's ``AllButMeConnector`` as a PyNN connector any backend can use."""
    from pyNN import connectors

    class AllButMeConnector(connectors.Connector):
        """All pairs (i, j), i != j, within groups of ``n_neurons_per_group``."""

        def __init__(self, n_neurons_per_group: int | None = None, weights: Any = None,
                     safe: bool = True, verbose: bool = False, callback: Any = None) -> None:
            super().__init__(safe=safe, callback=callback)
            self.n_neurons_per_group = n_neurons_per_group
            self.weights = None if weights is None else np.asarray(weights, dtype=float)

        def connect(self, projection: Any) -> None:
            size = min(projection.pre.size, projection.post.size)
            group = self.n_neurons_per_group or size
            pairs = [(start + i, start + j) for start in range(0, size - group + 1, group)
                     for i in range(group) for j in range(group) if i != j]
            if self.weights is not None:
                reps = len(pairs) // max(len(self.weights), 1)
                weights = np.tile(self.weights, reps)
                rows = [(i, j, w) for (i, j), w in zip(pairs, weights, strict=True)]
                inner = shim.FromListConnector(rows, column_names=["weight"], safe=self.safe)
            else:
                inner = shim.FromListConnector(pairs, safe=self.safe)
            inner.connect(projection)

    return AllButMeConnector
