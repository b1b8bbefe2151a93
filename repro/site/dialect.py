"""Serve an unmodified classic PyNN script the run's backend, in the dialect it was written in.

A script written for sPyNNaker (``import pyNN.spiNNaker as p``) runs on NEST, and a script
written for NEST (``import pyNN.nest as sim``) runs on the SpiNNaker emulator: every module
name in :data:`BACKEND_NAMES` imports one shim module that delegates to the backend. The shim

* translates sPyNNaker extensions that have a meaning on the backend (per-population
  ``seed=``, ``sim.name()``, ``extra_models`` entries with the same equations, state
  variables given as cell parameters, a ``max_delay`` large enough for the script's delays);
* accepts extensions with no meaning (``set_number_of_neurons_per_core`` on NEST, hardware
  ``setup()`` options, ``additional_parameters`` the backend does not know) with one note;
  the emulator slices populations into cores as sPyNNaker does, which changes numbers
  only where a population draws from per-core on-chip random streams (noted so);
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

import sys
import types
import zlib
from typing import Any

import numpy as np

from repro.site.dialect_cells import CellDialect
from repro.site.dialect_connections import ConnectionDialect, all_but_me_connector
from repro.site.dialect_inputs import InputDialect
from repro.site.dialect_nest_models import NestModelDialect
from repro.site.dialect_nestml_cells import NestmlCellDialect, nest_has
from repro.site.dialect_nestml_synapses import NestmlSynapseDialect
from repro.site.dialect_neuromodulation import NeuromodulationDialect
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


def derive_seed(run_seed: int, key: str) -> int:
    """A 32-bit seed derived from the run's seed and ``key`` (stable across processes)."""
    sequence = np.random.SeedSequence([int(run_seed) & 0xFFFFFFFF, zlib.crc32(key.encode())])
    return int(sequence.generate_state(1)[0])


class ScriptDialect(CellDialect, ConnectionDialect, InputDialect, NestModelDialect,
                    NestmlCellDialect, NestmlSynapseDialect, NeuromodulationDialect):
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
    on_grid : frozenset of str, optional
        Populations (``file:line#n`` of their creation) to build on NEST's on-grid model,
        learnt from a previous attempt (see :class:`OnGridNeeded`).
    """

    def __init__(self, backend: types.ModuleType, run_seed: int, threads: int,
                 backend_options: dict[str, Any], book: NoteBook,
                 max_delay_ms: float | None = None,
                 on_grid: frozenset[str] = frozenset()) -> None:
        self.backend = backend
        self.run_seed = int(run_seed)
        self.threads = threads
        self.backend_options = dict(backend_options)
        self.book = book
        self.max_delay_ms = max_delay_ms
        self.on_grid = on_grid
        self.on_nest = backend.__name__ == "pyNN.nest"
        self.on_emulator = backend.__name__.startswith("repro.spinnaker")
        #: Native sPyNNaker speaks the dialect itself: nothing is translated there.
        self.native = not (self.on_nest or self.on_emulator)
        self.recorded: list[Any] = []
        self.collected: dict[int, list[list[np.ndarray]]] = {}
        #: Populations of simulations already ended (their data was harvested at end()).
        self.closed: set[int] = set()
        self.t_stop = 0.0
        self.ended = False
        self.rng_counts: dict[str, int] = {}
        self.delays_fixed = False
        self.gsyn_classes: dict[type, type] = {}
        self.populations_made: list[Any] = []
        #: ``set_number_of_neurons_per_core`` calls (cell class, value, script line) on the
        #: emulator.
        self.per_core_calls: list[tuple[type, Any, str]] = []
        self.projections_made: list[Any] = []
        self.population_counts: dict[str, int] = {}
        self._init_inputs()
        self._init_nest_models()
        self._init_nestml_cells()
        self._init_nestml_synapses()
        self._init_neuromodulation()
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
        if not self.native:  # sPyNNaker's spike/signal format helpers
            from repro.site import spynnaker_neo_convertor

            utilities = types.ModuleType("spynnaker.pyNN.utilities")
            utilities.neo_convertor = spynnaker_neo_convertor
            sys.modules[utilities.__name__] = utilities
            sys.modules[f"{utilities.__name__}.neo_convertor"] = spynnaker_neo_convertor
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

    def derive(self, key: str) -> int:
        """A seed derived from the run's seed and ``key``."""
        return derive_seed(self.run_seed, key)

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
            if hasattr(backend, "STDPMechanism") and not self._speaks_spynnaker():
                shim.STDPMechanism = self._stdp_mechanism_class()  # notes PyNN's meanings
            return shim
        shim.name = self._name
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
        if hasattr(backend, "STDPMechanism"):
            shim.STDPMechanism = self._stdp_mechanism_class()
        shim.extra_models = self._extra_models(shim)
        shim.__getattr__ = self._missing
        return shim

    def _missing(self, name: str) -> Any:
        """A name of pyNN.spiNNaker the backend lacks: refuse it by name."""
        extension = SPYNNAKER_ONLY.get(name)
        if extension is not None:
            raise self.book.refuse(f"sim.{name}", HARDWARE_TARGETS, extension.why_not,
                                   attribute=True)
        import pyNN.connectors
        import pyNN.random
        import pyNN.standardmodels

        if any(hasattr(module, name) for module in (
                pyNN.connectors, pyNN.random, pyNN.standardmodels.cells,
                pyNN.standardmodels.synapses, pyNN.standardmodels.electrodes)):
            raise self.book.refuse(f"sim.{name}", "local (NEST)",
                                   f"part of PyNN, but {self.backend.__name__} does not "
                                   "provide it", attribute=True)
        raise AttributeError(f"{self.backend.__name__} has no attribute {name!r} (the "
                             "script uses it; neither PyNN nor sPyNNaker defines it)")

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
        if self.on_nest and extension.nest:
            return self._nest_extension(extension)
        if self.on_nest and extension.name == "Neuromodulation":
            return self._neuromodulation_factory()
        if self.on_nest and extension.nestml and extension.kind == "plasticity":
            return self._nestml_rule(extension)
        if self.on_nest and extension.nestml:
            if not nest_has(extension.class_on("nest")):
                raise self.book.refuse(
                    f"extra_models.{extension.name}", HARDWARE_TARGETS,
                    f"its NESTML model {extension.nestml} is not installed (repro builds it "
                    "when the pre-run scan finds the name in the script)")
            return self._nestml_factory(extension.nestml, f"extra_models.{extension.name}")
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
        self.ended = False  # a new simulation after end()
        self.post_constants = []  # NEST numbers its neurons anew
        kwargs["threads"] = self.threads
        kwargs["rng_seed"] = self.run_seed
        kwargs.update(self.backend_options)
        if not self.native:
            known = NEST_SETUP_OPTIONS if self.on_nest else EMULATOR_SETUP_OPTIONS
            for name in sorted(set(kwargs) - known - set(self.backend_options)):
                value = kwargs.pop(name)
                self.book.add(f"setup({name}={value!r})", "ignored",
                              f"no meaning on {self.backend.__name__}", numerical_effect=False)
        min_delay = self._min_delay_for_nest(timestep, min_delay)
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

    def _min_delay_for_nest(self, timestep: Any, min_delay: Any) -> Any:
        """sPyNNaker builds delays down to one time step whatever ``min_delay`` says; NEST
        refuses delays below its min_delay, so an sPyNNaker script's gets the time step."""
        if not self.on_nest or timestep is None or isinstance(min_delay, str) or \
                min_delay is None or float(min_delay) <= float(timestep) + 1e-12:
            return min_delay
        if not self._speaks_spynnaker():
            return min_delay
        self.book.add(f"setup(min_delay={min_delay!r})", "adapted",
                      "sPyNNaker builds every delay of at least one time step whatever "
                      f"min_delay says; NEST's min_delay set to the time step ({timestep} ms) "
                      "so such delays can be built", numerical_effect=False)
        return timestep

    def _run(self, duration: float, *args: Any, **kwargs: Any) -> Any:
        if not self.recorded and not self.native:
            self._record_everything()
        if self.input_twins:
            self._wire_input_twins()
        result = self.backend.run(duration, *args, **kwargs)
        self.t_stop = float(self.backend.get_current_time())
        self._note_core_slicing()
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
        self.closed.update(id(pop) for pop in self.recorded)
        self.ended = True
        return self.backend.end(*args, **kwargs)

    def _name(self) -> str:
        name = "NEST" if self.on_nest else "SpiNNaker emulator (sPyNNaker 7.4.1 numerics)"
        self.book.add("sim.name()", "translated", f"returns {name!r}", numerical_effect=False)
        return name

    def _neurons_per_core(self, neuron_type: Any = None, max_permitted: Any = None,
                          *_args: Any, **_kwargs: Any) -> None:
        if not self.on_emulator:
            self.book.add("set_number_of_neurons_per_core()", "ignored",
                          f"partitioning onto cores has no meaning on {self.backend.__name__}",
                          numerical_effect=False)
            return
        base = getattr(neuron_type, "_repro_base", neuron_type)
        self.backend.set_number_of_neurons_per_core(base, max_permitted)
        self.per_core_calls.append((base, max_permitted, script_line(self.book.script)))

    def _note_core_slicing(self) -> None:
        """Note each ``set_number_of_neurons_per_core`` once the network is built.

        The emulator slices populations as sPyNNaker does; that changes numbers only where
        a population draws from per-core on-chip random streams (the backend knows which).
        """
        for cls, value, line in self.per_core_calls:
            name = getattr(cls, "__name__", str(cls))
            made = [pop for pop in self.populations_made if type(pop.celltype) is cls]
            changed = [pop.label for pop in made if self.backend.repro_slicing_changes_draws(pop)]
            if changed:
                self.book.add("set_number_of_neurons_per_core()", "translated",
                              f"{name} population(s) {', '.join(changed)} are sliced into cores "
                              f"of at most {value} neurons (capped at 256) as sPyNNaker slices "
                              "them; each core draws from its own on-chip random stream, so "
                              "the slicing decides which neuron gets which draw",
                              numerical_effect=True, line=line)
            else:
                self.book.add("set_number_of_neurons_per_core()", "ignored",
                              f"the emulator's numbers for {name} do not depend on how "
                              "populations are sliced into cores (no per-core random stream "
                              "with a slicing other than the default)",
                              numerical_effect=False, line=line)
        self.per_core_calls = []

    # ----------------------------------------------------------------- recording
    def harvest(self) -> None:
        """Collect the spikes of every recorded population (all segments so far).

        Nothing is cleared, so the script still reads its own data afterwards.
        """
        for pop in self.recorded:
            if "spikes" not in pop.celltype.recordable or id(pop) in self.closed:
                continue  # a script may setup() again after end(): keep the first harvest
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


