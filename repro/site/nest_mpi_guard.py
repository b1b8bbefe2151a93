"""Keep NEST runs on several MPI processes correct: switch off NEST's spike compression.

NEST 3.10 with MPI mis-routes spikes when connections are created after the connection
infrastructure has been built once (``nest.GetConnections()`` builds it, and PyNN's NEST
backend calls it after the first ``Connect`` of every projection, and again in
``Projection.__len__``/``get``/``set``): with ``use_compressed_spikes`` (NEST's default) a spike
is then delivered along another source's connections. Two MPI processes x one thread then
give other spikes than one process x two threads, against NEST's promise that results depend
only on the number of virtual processes. Threads in one process are not affected, nor is MPI
with ``use_compressed_spikes = False`` (the smallest reproduction, 20 parrot neurons, is in
``tests/hpc/data/nest_mpi_compressed_spikes.py``).

:func:`install` wraps the backend's ``setup`` so that every kernel it creates runs without
spike compression when it spans more than one MPI process. Compression only changes how spikes
travel between processes, not which spikes arrive, so results stay those of one process.
"""

from __future__ import annotations

import types
from typing import Any


def spans_processes() -> bool:
    """True when the live NEST kernel runs on more than one MPI process."""
    import nest

    return int(nest.GetKernelStatus("num_processes")) > 1


def disable_compression() -> bool:
    """Switch off spike compression on a multi-process kernel; True when it was switched off.

    Must run before the first connection is created (right after ``ResetKernel``).
    """
    if not spans_processes():
        return False
    import nest

    nest.SetKernelStatus({"use_compressed_spikes": False})
    return True


def install(sim: types.ModuleType) -> bool:
    """Make ``sim.setup`` (``pyNN.nest``) switch off compression on multi-process kernels.

    Returns True when installed; other backends are left alone. Installing twice is harmless.
    """
    if sim.__name__ != "pyNN.nest":
        return False
    backend_setup = sim.setup
    if getattr(backend_setup, "repro_mpi_guard", False):
        return True

    def setup(*args: Any, **kwargs: Any) -> Any:
        outcome = backend_setup(*args, **kwargs)
        disable_compression()
        return outcome

    setup.repro_mpi_guard = True  # type: ignore[attr-defined]
    setup.__doc__ = backend_setup.__doc__
    sim.setup = setup
    return True
