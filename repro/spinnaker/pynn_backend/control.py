"""setup/run/reset/end and the state queries of the emulator backend."""

from __future__ import annotations

import warnings

import numpy as np
from pyNN import common
from pyNN.recording import get_io

from repro.spinnaker.pynn_backend import simulator
from repro.spinnaker.timing import Timing

#: sPyNNaker ``setup()`` extras that only concern hardware; accepted and ignored.
HARDWARE_OPTIONS = ("time_scale_factor", "n_chips_required", "n_boards_required",
                    "database_socket_addresses")
#: Emulator options: sPyNNaker configuration values that change results.
EMULATOR_OPTIONS = ("error_on_non_spynnaker_pynn",)
DEFAULT_TIMESTEP = 1.0


def setup(timestep: float | str | None = DEFAULT_TIMESTEP, min_delay="auto", max_delay="auto",
          **extra_params) -> int:
    """Start a new simulation.

    Parameters
    ----------
    timestep : float, "auto" or None
        Time step in ms (rounded up to whole microseconds, as sPyNNaker does); "auto" or
        None mean 1.0 ms.
    min_delay, max_delay : float or "auto"
        PyNN delay bounds ("auto": one time step / unbounded).
    threads : int, optional
        Recorded only; the emulator runs in one process.
    rng_seed : int, optional
        Seed of the Poisson sources; without one a seed is drawn from OS entropy and
        reported by ``repro_simulator_info()``.
    error_on_non_spynnaker_pynn : bool, optional
        Refuse seeded RNGs as sPyNNaker 7.4.1's default configuration does (default False).

    Raises
    ------
    TypeError
        For keyword arguments the emulator does not know.
    """
    extra = dict(extra_params)
    threads = int(extra.pop("threads", 1))
    rng_seed = extra.pop("rng_seed", None)
    ignored = {name: extra.pop(name) for name in HARDWARE_OPTIONS if name in extra}
    options = {name: extra.pop(name) for name in EMULATOR_OPTIONS if name in extra}
    if extra:
        raise TypeError(f"setup() got options the SpiNNaker emulator does not know: "
                        f"{sorted(extra)}")
    if ignored:
        warnings.warn(f"setup options {sorted(ignored)} concern SpiNNaker hardware only; "
                      "ignored by the emulator", stacklevel=2)
    step = DEFAULT_TIMESTEP if timestep in (None, "auto") else float(timestep)
    common.setup(step, min_delay, max_delay=max_delay)
    state = simulator.state
    state.clear()
    state.timing = Timing.from_ms(step)
    state.min_delay = state.dt if min_delay == "auto" else float(min_delay)
    state.max_delay = float("inf") if max_delay == "auto" else float(max_delay)
    state.threads = threads
    state.options = options
    state.seed_from_entropy = rng_seed is None
    state.seed = (int(np.random.SeedSequence().entropy % (1 << 63)) if rng_seed is None
                  else int(rng_seed))
    return 0


def end(compatible_output: bool = True) -> None:
    """Write data requested with ``record(..., to_file=...)``; the state is kept."""
    state = simulator.state
    for population, variables, filename in state.write_on_end:
        population.write_data(get_io(filename), variables)
    state.write_on_end = []


def set_number_of_neurons_per_core(neuron_type: type, max_permitted) -> None:
    """sPyNNaker's ceiling on neurons per core of a cell type (populations made later).

    Stored per class, as ``spynnaker.pyNN.set_number_of_neurons_per_core`` stores it: a
    number (floats truncated), a tuple (its product: the emulator's populations are
    one-dimensional) or None (no ceiling of the script's own). A population of exactly
    that class made afterwards takes it; :mod:`repro.spinnaker.cores` caps it at 256. It
    decides the per-core random streams.

    Raises
    ------
    TypeError
        If ``neuron_type`` is a string (sPyNNaker wants the class).
    """
    if isinstance(neuron_type, str):
        raise TypeError("set_number_of_neurons_per_core expects the cell type as a class, "
                        f"not {neuron_type!r}")
    simulator.state.neurons_per_core[neuron_type] = max_permitted


run, run_until = common.build_run(simulator)
run_for = run
reset = common.build_reset(simulator)
initialize = common.initialize
get_current_time, get_time_step, get_min_delay, get_max_delay, num_processes, rank = \
    common.build_state_queries(simulator)
