"""The ``spinnaker_emulator`` target: local runs with SpiNNaker's fixed-point numerics.

Runs the harness in a local process, like :class:`~repro.targets.local.LocalTarget`, with
the backend ``repro.spinnaker.pynn_backend`` (a numpy emulation of sPyNNaker 7.4.1; nothing
runs on SpiNNaker hardware). Default time step 1 ms, as on SpiNNaker.
"""

from __future__ import annotations

import os
import subprocess
from typing import ClassVar

from repro.errors import TargetError
from repro.spinnaker import EMULATED_SPYNNAKER_VERSION
from repro.targets.local import LocalTarget
from repro.targets.options import Option, Options

DEFAULT_TIMESTEP_MS = 1.0


class SpinnakerEmulatorTarget(LocalTarget):
    """Local harness processes on the SpiNNaker emulator backend.

    Options: see ``declared`` (and docs/targets.md). ``threads`` is accepted and
    recorded; the emulator uses one core.
    """

    kind: ClassVar[str] = "spinnaker_emulator"
    backend: ClassVar[str] = "spinnaker_emulator"
    summary: ClassVar[str] = ("Local runs with a numpy emulation of sPyNNaker 7.4.1 "
                              "fixed-point numerics (nothing runs on SpiNNaker).")
    declared: ClassVar[Options] = LocalTarget.declared.with_(
        Option("error_on_non_spynnaker_pynn", bool, False, "Refuse PyNN usages sPyNNaker "
               "7.4.1 refuses under its default configuration (else accept and note them).",
               backend_setup=True),
        Option("spike_precision", str, "off_grid", "Accepted as for `local` and recorded; "
               "not handed to the emulator, whose spikes lie on the time grid."),
        timestep=DEFAULT_TIMESTEP_MS)

    def check(self, experiment: object = None) -> str:
        """Confirm the harness interpreter can load the emulator backend.

        Raises
        ------
        TargetError
            If the backend cannot be imported there (numpy or pyNN missing).
        """
        from repro.site import package_root

        env = {**os.environ, "PYTHONPATH": str(package_root().parent)}
        probe = ("import repro.spinnaker.pynn_backend as sim, pyNN, numpy; "
                 "print(pyNN.__version__, numpy.__version__)")
        completed = subprocess.run([self.python, "-c", probe], capture_output=True, text=True,
                                   env=env, check=False)
        if completed.returncode != 0:
            raise TargetError(f"target {self.name!r}: {self.python} cannot load the SpiNNaker "
                              f"emulator backend: {completed.stderr.strip()[-300:]}")
        pynn_version, numpy_version = completed.stdout.split()
        return (f"emulation of sPyNNaker {EMULATED_SPYNNAKER_VERSION} fixed-point numerics "
                f"(numpy {numpy_version}, PyNN {pynn_version}), timestep {self.timestep} ms")
