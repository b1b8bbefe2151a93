"""Load the spikes of recorded runs: flat sorted arrays, xarray Datasets and neo objects.

A :class:`RunSpikes` holds one run's populations together with the facts that label it
(run id, target, seed, model hash, environment digest). Loading from run crates goes through
:func:`load_runs`; everything else here works on runs already in memory.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from repro.errors import IntegrityError, SelectionError
from repro.records.run_crate import read_metadata, sha256_file
from repro.site.files import (
    CONNECTIVITY,
    ENVIRONMENT,
    NO_SPIKES,
    PORTABILITY,
    PROVENANCE,
    RESULT,
    RUN_SPEC,
    SPIKES,
)
from repro.site.spikefile import PopulationSpikes, SpikeFileError, read_spikes, to_neo_block


@dataclass(frozen=True)
class RunSpikes:
    """One run's spikes and the labels it is compared under.

    Attributes
    ----------
    run_id : str
        Identifier of the run (its crate's run id).
    target : str
        Target name the run executed on.
    seed : int
        Seed of the run.
    populations : tuple of PopulationSpikes
        Recorded populations, in file order.
    model_hash, env_digest : str
        Canonical model hash and environment digest.
    crate : Path or None
        Run crate the spikes came from.
    facts : dict
        Further facts from the record (timestep, thread count, site, experiment, ...).
    """

    run_id: str
    target: str
    seed: int
    populations: tuple[PopulationSpikes, ...]
    model_hash: str = ""
    env_digest: str = ""
    crate: Path | None = None
    facts: dict[str, Any] = field(default_factory=dict)

    def population(self, name: str) -> PopulationSpikes:
        """The population called ``name``.

        Raises
        ------
        KeyError
            If the run recorded no such population.
        """
        for pop in self.populations:
            if pop.name == name:
                return pop
        raise KeyError(f"run {self.run_id} recorded no population {name!r}")

    @property
    def population_names(self) -> tuple[str, ...]:
        """Names of the recorded populations in file order."""
        return tuple(p.name for p in self.populations)


def flat_arrays(pop: PopulationSpikes) -> tuple[np.ndarray, np.ndarray]:
    """``(neuron_ids, times)`` of every spike, sorted by neuron, then time (CSR order)."""
    return pop.neuron_ids(), np.asarray(pop.times, dtype=np.float64)


def read_run_spikes(path: Path, **labels: Any) -> RunSpikes:
    """Read a spike file into a :class:`RunSpikes` carrying ``labels``.

    Raises
    ------
    IntegrityError
        If the spike file is missing or corrupt (the message names the file).
    """
    try:
        populations = tuple(read_spikes(path))
    except SpikeFileError as exc:
        raise IntegrityError(str(exc)) from exc
    return RunSpikes(populations=populations, **labels)


def load_crate(crate_dir: Path) -> RunSpikes:
    """Load a completed run crate, checking the spike file against its recorded sha256.

    Parameters
    ----------
    crate_dir : Path
        A run crate directory.

    Returns
    -------
    RunSpikes
        With ``facts``: experiment, site, threads, mpi_processes, timestep_ms, duration_ms,
        params, backend, spikes_sha256, the environment manifest as ``environment``, the
        hardware provenance counters (if any) as ``provenance`` and the portability notes
        (what the target did instead of what the script asked) as ``portability``,
        the simulator's ``noise_seed`` and the connectivity fingerprints
        (``repro.connectivity/1``, empty for crates recorded before they existed) as
        ``connectivity`` and, for a frozen-input
        replay, its ``frozen_replay`` summary (file sha256, sources, spikes).

    Raises
    ------
    IntegrityError
        If the crate, its run spec or its spike file is missing, unreadable or does not
        match the recorded checksum (the message names the file).
    SelectionError
        If the run did not complete, or recorded no spikes (a legitimate run with nothing
        to compare).
    """
    crate_dir = Path(crate_dir)
    graph = read_metadata(crate_dir)
    values = {e.get("name"): e.get("value") for e in graph.values()
              if e.get("@type") == "PropertyValue"}
    action = next((e for e in graph.values() if e.get("@type") == "CreateAction"), {})
    if not str(action.get("actionStatus", "")).endswith("CompletedActionStatus"):
        raise SelectionError(f"run {crate_dir.name} did not complete "
                             f"({action.get('error', 'no error recorded')}); it cannot be "
                             "compared", path=crate_dir)
    spec = _read_json_file(crate_dir / RUN_SPEC)
    spike_path = crate_dir / SPIKES
    recorded = (graph.get(SPIKES) or {}).get("sha256")
    if not spike_path.is_file():
        raise IntegrityError(f"{spike_path}: spike file missing")
    actual = sha256_file(spike_path)
    if recorded and actual != recorded:
        raise IntegrityError(f"{spike_path}: corrupt spike file (sha256 {actual[:12]}… differs "
                             f"from the recorded {recorded[:12]}…)")
    environment = _read_json_file(crate_dir / ENVIRONMENT)
    simulator = environment.get("simulator", {})
    facts = {
        "experiment": spec.get("experiment", ""),
        "site": environment.get("site") or spec.get("site", ""),
        "threads": int(simulator.get("threads", spec.get("threads", 1))),
        "mpi_processes": int(simulator.get("mpi_processes", 1)),
        "timestep_ms": float(_script_timestep(crate_dir) or spec.get("timestep_ms",
                                                                      float("nan"))),
        "duration_ms": float(spec.get("duration_ms", float("nan"))),
        "params": spec.get("params", {}),
        "backend": spec.get("backend", ""),
        "spikes_sha256": actual,
        "environment": environment,
        "provenance": (_read_json_file(crate_dir / PROVENANCE)
                       if (crate_dir / PROVENANCE).is_file() else {}),
        "portability": (_read_json_file(crate_dir / PORTABILITY).get("notes", [])
                        if (crate_dir / PORTABILITY).is_file() else []),
        "noise_seed": int(spec["noise_seed"] if spec.get("noise_seed") is not None
                          else spec.get("seed", -1)),
        "connectivity": (_read_json_file(crate_dir / CONNECTIVITY)
                         if (crate_dir / CONNECTIVITY).is_file() else {}),
        "frozen_replay": ((_read_json_file(crate_dir / RESULT).get("frozen_replay") or {})
                          if (crate_dir / RESULT).is_file() else {}),
    }
    run = read_run_spikes(
        spike_path, run_id=crate_dir.name, target=str(spec.get("target", "")),
        seed=int(spec.get("seed", -1)), model_hash=str(values.get("model_hash", "")),
        env_digest=str(values.get("environment_digest", "")), crate=crate_dir, facts=facts)
    if not run.populations:
        raise SelectionError(f"run {crate_dir.name} {NO_SPIKES}",
                             path=crate_dir)
    return run


def _script_timestep(crate_dir: Path) -> float | None:
    """The time step a classic script chose itself (recorded by the harness), if any."""
    result = _read_json_file(crate_dir / RESULT) if (crate_dir / RESULT).is_file() else {}
    value = result.get("timestep_ms")
    return float(value) if isinstance(value, int | float) else None


def load_runs(crate_dirs: Sequence[Path]) -> list[RunSpikes]:
    """Load several run crates (see :func:`load_crate`)."""
    return [load_crate(Path(d)) for d in crate_dirs]


def _read_json_file(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IntegrityError(f"{path}: missing from the run crate") from None
    except (OSError, ValueError) as exc:
        raise IntegrityError(f"{path}: unreadable ({exc})") from None
    if not isinstance(data, dict):
        raise IntegrityError(f"{path}: expected a JSON object")
    return data


def check_comparable(runs: Sequence[RunSpikes], what: str = "selected runs") -> None:
    """Validity gates before statistics: runs exist and share populations and duration.

    Raises
    ------
    SelectionError
        If ``runs`` is empty, or populations (names, sizes) or recording windows differ;
        the message names two runs that disagree.
    """
    if not runs:
        raise SelectionError(f"no runs in the {what}")
    first = runs[0]
    shape = [(p.name, p.size) for p in first.populations]
    window = [(p.t_start, p.t_stop) for p in first.populations]
    for run in runs[1:]:
        other = [(p.name, p.size) for p in run.populations]
        if other != shape:
            raise SelectionError(
                f"runs {first.run_id} and {run.run_id} record different populations "
                f"({_describe(shape)} vs {_describe(other)}); they cannot be compared")
        other_window = [(p.t_start, p.t_stop) for p in run.populations]
        if not np.allclose(other_window, window):
            raise SelectionError(
                f"runs {first.run_id} and {run.run_id} have different durations "
                f"({window[0][1] - window[0][0]:g} ms vs "
                f"{other_window[0][1] - other_window[0][0]:g} ms); they cannot be compared")


def _describe(shape: list[tuple[str, int]]) -> str:
    return ", ".join(f"{name}[{size}]" for name, size in shape) or "none"


def spikes_dataset(runs: Sequence[RunSpikes]) -> xr.Dataset:
    """All spikes of ``runs`` as one labelled Dataset.

    Dimensions: ``run`` (coordinates ``target``, ``seed``, ``model_hash``, ``env_digest``),
    ``population``, ``neuron`` and ``spike``. Variables: ``spike_count`` (run, population,
    neuron), and the flat sorted arrays ``neuron_id`` / ``time`` (run, population, spike),
    padded with -1 / NaN. Populations of different sizes are padded on ``neuron`` with -1.

    Raises
    ------
    SelectionError
        If the runs are not comparable (see :func:`check_comparable`).
    """
    check_comparable(runs)
    names = runs[0].population_names
    sizes = [p.size for p in runs[0].populations]
    n_neuron = max(sizes, default=0)
    n_spike = max((p.n_spikes for r in runs for p in r.populations), default=0)
    counts = np.full((len(runs), len(names), n_neuron), -1, dtype=np.int64)
    ids = np.full((len(runs), len(names), n_spike), -1, dtype=np.int64)
    times = np.full((len(runs), len(names), n_spike), np.nan)
    for r, run in enumerate(runs):
        for p, pop in enumerate(run.populations):
            counts[r, p, : pop.size] = np.diff(pop.indptr)
            neuron_ids, spike_times = flat_arrays(pop)
            ids[r, p, : neuron_ids.size] = neuron_ids
            times[r, p, : spike_times.size] = spike_times
    first = runs[0].populations
    return xr.Dataset(
        {
            "spike_count": (("run", "population", "neuron"), counts),
            "neuron_id": (("run", "population", "spike"), ids),
            "time": (("run", "population", "spike"), times, {"units": "ms"}),
            "size": (("population",), np.array(sizes, dtype=np.int64)),
            "t_start": (("population",), np.array([p.t_start for p in first]), {"units": "ms"}),
            "t_stop": (("population",), np.array([p.t_stop for p in first]), {"units": "ms"}),
        },
        coords=run_coords(runs) | {"population": list(names)},
        attrs={"description": "spikes of recorded runs; padding is -1 (ids, counts) / NaN"},
    )


def run_coords(runs: Sequence[RunSpikes]) -> dict[str, Any]:
    """Coordinates of the ``run`` dimension: run id, target, seed, model hash, env digest."""
    return {
        "run": [r.run_id for r in runs],
        "target": ("run", [r.target for r in runs]),
        "seed": ("run", np.array([r.seed for r in runs], dtype=np.int64)),
        "model_hash": ("run", [r.model_hash for r in runs]),
        "env_digest": ("run", [r.env_digest for r in runs]),
    }


def to_neo(run: RunSpikes):
    """The run as a ``neo.Block`` (one Group per population, one SpikeTrain per neuron)."""
    return to_neo_block(run.populations, name=run.run_id)
