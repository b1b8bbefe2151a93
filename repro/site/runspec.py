"""The run spec: the JSON document that tells the harness at an execution site what to run.

Shipped in every run bundle; standard library only.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RUN_SPEC_FORMAT = "repro.run-spec/1"

#: PyNN backend modules the harness knows by short name.
BACKEND_MODULES = {
    "nest": "pyNN.nest",
    "spinnaker_emulator": "repro.spinnaker.pynn_backend",
}


@dataclass
class RunSpec:
    """Everything the harness needs, and nothing about how the run was dispatched.

    Attributes
    ----------
    experiment : str
        Experiment name (for logs and records).
    mode : str
        ``"build"``: the script exposes ``build(sim, params, seed)`` returning the populations
        to record; the harness runs for ``duration_ms``. ``"script"``: a classic PyNN script
        that sets up, runs and ends by itself; the harness swaps its backend and harvests the
        populations it recorded.
    script : str
        Path of the network script, relative to the bundle directory.
    backend : str
        Short backend name (key of ``BACKEND_MODULES``).
    seed : int
        Connectivity seed: handed to ``build(sim, params, seed)``, it decides connections,
        weights, delays and initial values. Also the simulator's seed unless ``noise_seed``.
    noise_seed : int or None
        Seed of the simulator's own streams (Poisson drive, noisy currents), given to
        ``setup(rng_seed=...)``; None means ``seed`` (one seed decides everything).
    frozen_export : bool
        Export the input spike trains and connectivity to ``frozen_input.npz`` (build mode;
        see :mod:`repro.site.frozen`).
    frozen_input : str or None
        Bundle-relative path of a frozen-input file to replay instead of Poisson sources.
    params : dict
        Model parameters passed to ``build``.
    duration_ms : float
        Biological time to simulate (``build`` mode).
    timestep_ms : float
        Simulation resolution.
    threads : int
        Thread count (fixed and recorded: spike counts depend on it).
    record : list of str
        Population labels to record (``build`` mode; empty means all returned).
    target : str
        Target name (recorded in the manifest).
    site : str
        Site name (recorded; the execution side may override it from its environment).
    model_hash : str
        The canonical model hash computed by the submitter.
    nestml_modules : list of dict
        Pre-built NESTML modules to install: ``{"name": ..., "path": ...}`` (bundle-relative).
    backend_options : dict
        Backend-specific options (for example the emulator's sPyNNaker version).
    script_args : list of str
        Command-line arguments of a classic script (``sys.argv[1:]``; ``script`` mode).
    """

    experiment: str
    mode: str
    script: str
    backend: str
    seed: int
    params: dict[str, Any] = field(default_factory=dict)
    duration_ms: float = 1000.0
    timestep_ms: float = 0.1
    threads: int = 1
    record: list[str] = field(default_factory=list)
    target: str = "local"
    site: str = "local"
    model_hash: str = ""
    nestml_modules: list[dict[str, str]] = field(default_factory=list)
    backend_options: dict[str, Any] = field(default_factory=dict)
    script_args: list[str] = field(default_factory=list)
    noise_seed: int | None = None
    frozen_export: bool = False
    frozen_input: str | None = None
    format: str = RUN_SPEC_FORMAT

    def to_json(self) -> str:
        """Serialise with sorted keys."""
        return json.dumps(asdict(self), sort_keys=True, indent=1)

    def write(self, path: str | Path) -> None:
        """Write the spec as JSON to ``path``."""
        Path(path).write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def read(cls, path: str | Path) -> RunSpec:
        """Read a spec written by :meth:`write`.

        Raises
        ------
        ValueError
            If the format tag is not ``repro.run-spec/1`` or fields are missing.
        """
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if data.get("format") != RUN_SPEC_FORMAT:
            raise ValueError(f"{path}: not a {RUN_SPEC_FORMAT} document")
        return cls(**data)

    @property
    def simulator_seed(self) -> int:
        """The seed given to ``setup(rng_seed=...)``: ``noise_seed``, else ``seed``."""
        return self.seed if self.noise_seed is None else self.noise_seed

    @property
    def backend_module(self) -> str:
        """Importable module name of the PyNN backend."""
        try:
            return BACKEND_MODULES[self.backend]
        except KeyError:
            known = ", ".join(sorted(BACKEND_MODULES))
            raise ValueError(f"unknown backend {self.backend!r} (known: {known})") from None
