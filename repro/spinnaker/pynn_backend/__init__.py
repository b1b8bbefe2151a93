"""PyNN backend that runs a network with SpiNNaker's (sPyNNaker 7.4.1) fixed-point numerics.

An emulation in numpy: nothing runs on SpiNNaker hardware. Use it like any PyNN backend::

    import repro.spinnaker.pynn_backend as sim
    sim.setup(timestep=1.0, rng_seed=1)

Supported: IF_curr_exp, IF_cond_exp, IF_curr_alpha, IF_curr_delta, Izhikevich (and
sPyNNaker's IZK_curr_exp / IZK_cond_exp, IF_curr_dual_exp with receptor "excitatory2",
IF_curr_exp_ca2_adaptive, IF_cond_exp_stoc, IF_curr_exp_sEMD), SpikeSourcePoisson,
SpikeSourceArray, DCSource,
ACSource, StepCurrentSource, NoisyCurrentSource, StaticSynapse, STDPMechanism (SpikePairRule
with AdditiveWeightDependence or MultiplicativeWeightDependence, sPyNNaker's
PfisterSpikeTriplet with WeightDependenceAdditiveTriplet, sPyNNaker's Vogels2011Rule as
TimingDependenceVogels2011 with AdditiveWeightDependence, sPyNNaker's RecurrentRule as
TimingDependenceRecurrent with MultiplicativeWeightDependence; learned weights via
``Projection.get("weight")``), sPyNNaker's Neuromodulation (receptor "reward" or
"punishment": dopamine-modulated pair or Vogels 2011 STDP into that population),
AllToAll/OneToOne/FixedProbability/FixedNumberPre/FromList connectors,
DistanceDependentProbabilityConnector (drawn on the host as sPyNNaker does), Population,
PopulationView, Assembly, recording of spikes, v, gsyn_exc and gsyn_inh, sPyNNaker's
``set_number_of_neurons_per_core`` (the slicing of per-core random streams).
Everything else raises :class:`UnsupportedFeatureError` naming it. ``repro_simulator_info()``
and ``repro_hardware_provenance()`` are read by repro's harness.
"""

from __future__ import annotations

import platform
from typing import Any

import numpy as np
import pyNN
from pyNN import errors, random, space  # noqa: F401 - part of the PyNN backend API
from pyNN.connectors import (  # noqa: F401
    AllToAllConnector,
    FixedNumberPreConnector,
    FixedProbabilityConnector,
    FromListConnector,
    OneToOneConnector,
)
from pyNN.random import GSLRNG, NumpyRNG, RandomDistribution  # noqa: F401
from pyNN.space import Space  # noqa: F401

from repro.spinnaker import EMULATED_SPYNNAKER_VERSION, EMULATOR_NAME
from repro.spinnaker.pynn_backend import simulator
from repro.spinnaker.pynn_backend import standardmodels as _models
from repro.spinnaker.pynn_backend.control import (  # noqa: F401
    end,
    get_current_time,
    get_max_delay,
    get_min_delay,
    get_time_step,
    initialize,
    num_processes,
    rank,
    reset,
    run,
    run_for,
    run_until,
    set_number_of_neurons_per_core,
    setup,
)
from repro.spinnaker.pynn_backend.distance_connector import (  # noqa: F401
    DistanceDependentProbabilityConnector,
)
from repro.spinnaker.pynn_backend.electrodes import (  # noqa: F401
    ACSource,
    DCSource,
    NoisyCurrentSource,
    StepCurrentSource,
)
from repro.spinnaker.pynn_backend.network import slicing_changes_draws
from repro.spinnaker.pynn_backend.populations import Assembly, Population, PopulationView  # noqa: F401
from repro.spinnaker.pynn_backend.procedural_api import connect, create, record  # noqa: F401
from repro.spinnaker.pynn_backend.projections import Projection  # noqa: F401
from repro.spinnaker.pynn_backend.recording import population_index
from repro.spinnaker.pynn_backend.standardmodels import (  # noqa: F401
    SUPPORTED_CELL_TYPES,
    UNSUPPORTED,
    AdditiveWeightDependence,
    IF_cond_exp,
    IF_cond_exp_stoc,
    IF_curr_alpha,
    IF_curr_delta,
    IF_curr_dual_exp,
    IF_curr_exp,
    IF_curr_exp_ca2_adaptive,
    IF_curr_exp_sEMD,
    Izhikevich,
    IZK_cond_exp,
    IZK_curr_exp,
    MultiplicativeWeightDependence,
    Neuromodulation,
    PfisterSpikeTriplet,
    SpikePairRule,
    SpikeSourceArray,
    SpikeSourcePoisson,
    StaticSynapse,
    STDPMechanism,
    TimingDependenceRecurrent,
    TimingDependenceVogels2011,
    UnsupportedFeatureError,
    WeightDependenceAdditiveTriplet,
)

globals().update({name: getattr(_models, name) for name in UNSUPPORTED})
#: sPyNNaker's hardware-only namespace: every use is refused naming it and the script line.
external_devices = _models.HardwareOnly("external_devices")

#: Format tag of the provenance document.
PROVENANCE_FORMAT = "repro.spinnaker-emulator-provenance/1"
#: What an ideal emulator cannot show: real-time effects of the hardware.
NOT_MODELLED = (
    "dropped or late packets, input-buffer overflows and timer overruns (the emulator never "
    "falls behind real time)",
    "the chip's own random streams (connectivity, weights, delays and initial values are "
    "PyNN's host draws; Poisson trains come from numpy, with the 7.4.1 algorithms)",
)


def list_standard_models() -> list[str]:
    """Names of the cell types this backend implements."""
    return list(SUPPORTED_CELL_TYPES)


def repro_simulator_info() -> dict[str, Any]:
    """Facts about this emulator for the run's environment manifest."""
    state = simulator.state
    return {
        "name": EMULATOR_NAME,
        "version": EMULATED_SPYNNAKER_VERSION,
        "emulation": True,
        "emulates": f"sPyNNaker {EMULATED_SPYNNAKER_VERSION}",
        "emulated_simulator": "sPyNNaker",
        "emulated_version": EMULATED_SPYNNAKER_VERSION,
        "description": ("numpy emulation of SpiNNaker fixed-point numerics as sPyNNaker "
                        f"{EMULATED_SPYNNAKER_VERSION} computes them; not run on SpiNNaker "
                        "hardware"),
        "pynn_backend": __name__,
        "pynn_version": pyNN.__version__,
        "numpy_version": np.__version__,
        "python": platform.python_version(),
        "timestep_ms": state.dt,
        "timestep_us": state.timing.timestep_us,
        "rng_seed": state.seed,
        "rng_seed_from_entropy": state.seed_from_entropy,
        "threads_requested": state.threads,
        "options": dict(state.options),
    }


def repro_slicing_changes_draws(population) -> bool:
    """Whether the neurons-per-core setting changed a population's random draws.

    Known once ``run()`` has built the network (False before, and for a population of an
    earlier simulation, ended with ``end()``, which draws nothing in this one): see
    :func:`repro.spinnaker.pynn_backend.network.slicing_changes_draws`.
    """
    engine = simulator.state.engine
    if engine is None or not any(p is population for p in simulator.state.populations):
        return False
    return slicing_changes_draws(engine.network, population_index(population))


def repro_hardware_provenance() -> dict[str, Any]:
    """The emulated hardware counters: ring-buffer saturation, weights lost, shifts, notes."""
    state = simulator.state
    engine = state.engine
    document: dict[str, Any] = {
        "format": PROVENANCE_FORMAT,
        "emulation": True,
        "emulated": f"sPyNNaker {EMULATED_SPYNNAKER_VERSION}",
        "timestep_ms": state.dt,
        "ticks": state.tick,
        "not_modelled": list(NOT_MODELLED),
    }
    if engine is None:
        document.update(populations=[], projections=[], notes=["run() was not called"])
        return document
    document.update(engine.provenance())
    document["notes"] = list(engine.network.notes)
    return document
