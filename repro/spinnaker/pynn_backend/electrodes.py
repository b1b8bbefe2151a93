"""PyNN current sources of the emulator backend, with sPyNNaker 7.4.1's defaults.

sPyNNaker's own classes replace PyNN's defaults: every ``start``/``stop`` defaults to 0 ms
(a DCSource without ``stop`` never switches on) and NoisyCurrentSource's ``dt`` to 1 ms.
Sources are captured when injected and handed to the engine at the first ``run()``.
"""

from __future__ import annotations

import numpy as np
from pyNN.parameters import ParameterSpace, Sequence
from pyNN.standardmodels import build_translations, electrodes

from repro.spinnaker.pynn_backend.simulator import state

#: sPyNNaker 7.4.1 constructor defaults (``spynnaker/pyNN/models/current_sources``).
SPYNNAKER_DEFAULTS = {
    "DCSource": {"amplitude": 0.0, "start": 0.0, "stop": 0.0},
    "ACSource": {"start": 0.0, "stop": 0.0, "amplitude": 0.0, "offset": 0.0,
                 "frequency": 0.0, "phase": 0.0},
    "StepCurrentSource": {"times": Sequence([]), "amplitudes": Sequence([])},
    "NoisyCurrentSource": {"mean": 0.0, "stdev": 0.0, "start": 0.0, "stop": 0.0, "dt": 1.0},
}


class _EmulatedCurrentSource:
    """Capture of the parameters and the cells a source is injected into."""

    def inject_into(self, cells) -> None:
        """Inject into a Population, PopulationView, Assembly or list of IDs."""
        state.require_unbuilt("injecting a current source")
        ids = np.asarray([int(i) for i in getattr(cells, "all_cells", cells)], dtype=np.int64)
        state.current_sources.append((self, ids))

    def set_native_parameters(self, parameters: ParameterSpace) -> None:
        """Change parameters before the network is built."""
        state.require_unbuilt("changing a current source")
        self.parameter_space.update(**parameters)

    def get_native_parameters(self) -> ParameterSpace:
        """The parameters (native names are PyNN's)."""
        return self.native_parameters

    def parameter_values(self) -> dict:
        """Evaluated parameters: floats, and arrays for ``times``/``amplitudes``."""
        space = self.native_parameters
        space.shape = (1,)
        values = {}
        for name, value in space.items():
            evaluated = value.evaluate(simplify=True)
            if isinstance(evaluated, np.ndarray):
                evaluated = evaluated.flat[0]
            if isinstance(evaluated, Sequence):
                evaluated = np.asarray(evaluated.value, dtype=float)
            values[name] = evaluated if isinstance(evaluated, np.ndarray) else float(evaluated)
        return values


def _source_class(base: type) -> type:
    name = base.__name__
    defaults = SPYNNAKER_DEFAULTS[name]
    return type(name, (_EmulatedCurrentSource, base), {
        "__doc__": base.__doc__,
        "default_parameters": defaults,
        "translations": build_translations(*[(n, n) for n in defaults]),
    })


DCSource = _source_class(electrodes.DCSource)
ACSource = _source_class(electrodes.ACSource)
StepCurrentSource = _source_class(electrodes.StepCurrentSource)
NoisyCurrentSource = _source_class(electrodes.NoisyCurrentSource)
