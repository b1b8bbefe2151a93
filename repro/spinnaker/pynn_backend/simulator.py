"""Global state of the emulator backend: time step, seed, the objects a script created, the engine.

The network is captured while the script builds it; the engine is built from it at the
first ``run()`` and dropped again by ``reset()``. Changing the network between runs
(without a reset) is refused, because the emulator, like SpiNNaker, has already mapped it.
"""

from __future__ import annotations

from typing import Any

from pyNN import common

from repro.spinnaker import EMULATOR_NAME
from repro.spinnaker.engine import Engine
from repro.spinnaker.timing import Timing

name = EMULATOR_NAME


class ID(int, common.IDMixin):
    """A cell identifier (global integer id with a back reference to its population)."""

    def __init__(self, n: int) -> None:
        int.__init__(n)
        common.IDMixin.__init__(self)


class State(common.control.BaseState):
    """Simulation state: what ``setup()`` fixed, what the script created, and the engine."""

    def __init__(self) -> None:
        super().__init__()
        self.mpi_rank = 0
        self.num_processes = 1
        self.timing = Timing.from_ms(1.0)
        self.min_delay: float | str = "auto"
        self.max_delay: float | str = "auto"
        self.seed = 0
        self.seed_from_entropy = False
        self.threads = 1
        self.options: dict[str, Any] = {}
        self.populations: list[Any] = []
        self.projections: list[Any] = []
        self.current_sources: list[Any] = []
        self.engine: Engine | None = None
        self.tick = 0
        self.segment_counter = -1
        self.id_counter = 0
        self.clear()

    @property
    def dt(self) -> float:
        """Time step in ms (after rounding to whole microseconds)."""
        return self.timing.ms

    @property
    def t(self) -> float:
        """Current time in ms."""
        return self.tick * self.timing.ms

    def require_unbuilt(self, action: str) -> None:
        """Refuse to change the network once the engine has been built from it.

        Raises
        ------
        RuntimeError
            If ``run()`` has been called since the last ``setup()`` or ``reset()``.
        """
        if self.engine is not None:
            raise RuntimeError(f"{action} after run() is not supported by the SpiNNaker "
                               "emulator (the network is already mapped); call reset() first")

    def run(self, simtime: float) -> None:
        """Advance by ``simtime`` ms."""
        self.run_until(self.t + simtime)

    def run_until(self, tstop: float) -> None:
        """Advance to ``tstop`` ms (rounded to whole time steps), building the engine first."""
        if self.engine is None:
            from repro.spinnaker.pynn_backend.network import build_engine

            self.engine = build_engine(self)
        n_ticks = int(round((tstop - self.t) / self.timing.ms))
        if n_ticks > 0:
            self.engine.run(n_ticks)
            self.tick = self.engine.tick
        self.running = True

    def clear(self) -> None:
        """Forget the network (``setup()``)."""
        self.recorders = set()
        self.populations = []
        self.projections = []
        self.current_sources = []
        #: Merged synapse dynamics by post-synaptic Population (``dynamics_merge.Merged``).
        self.synapse_dynamics: dict[Any, Any] = {}
        #: ``set_number_of_neurons_per_core`` by cell class (sPyNNaker clears it at setup).
        self.neurons_per_core: dict[type, int | None] = {}
        self.id_counter = 0
        self.segment_counter = -1
        self.reset()

    def reset(self) -> None:
        """Back to t = 0 with the initial state; the engine is rebuilt at the next run."""
        self.engine = None
        self.tick = 0
        self.running = False
        self.t_start = 0
        self.segment_counter += 1


state = State()
