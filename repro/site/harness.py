"""Run one simulation where it executes and write spikes, environment, timings and logs.

Usage (from a run bundle directory, with ``PYTHONPATH=site``)::

    python -m repro.site.harness run_spec.json OUTPUT_DIR

The harness is the only repro code that runs at an execution site. It needs the standard
library, numpy and pyNN (plus the backend's simulator) and nothing else of repro beyond the
modules shipped beside it. It always runs in a process of its own, so a crash or a NEST
abort cannot take the caller down and every run gets a fresh kernel.

Outputs in ``OUTPUT_DIR``: ``spikes.npz`` (see :mod:`repro.site.spikefile`), ``environment.json``
(see :mod:`repro.site.envinfo`), ``result.json`` (status, timings, warnings, error),
``harness.log`` (everything the process printed, NEST's C++ output included) and, where the
backend reports it, ``provenance.json`` (hardware provenance counters); files the script
wrote in its working directory go to ``script_outputs/`` (see
:mod:`repro.site.script_outputs`). A run that records no
spikes completes with a spike file of no population, ``"spikes_recorded": false`` and a note
in its result saying so.
Exit code: 0 on success, 1 when the run failed (outputs still written), 2 on a bad spec.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import json
import os
import sys
import time
import traceback
import types
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from repro.site import fastconnect, fingerprints, frozen, nest_mpi_guard
from repro.site.clock import utc_now
from repro.site.envinfo import capture_manifest
from repro.site.files import ENVIRONMENT, HARNESS_LOG, NO_SPIKES, PROVENANCE, RESULT, SPIKES
from repro.site.portability import FeatureRefused, NoteBook
from repro.site.runspec import RunSpec
from repro.site.script_mode import run_script
from repro.site.script_outputs import Snapshot, collect, skipped_note
from repro.site.spikefile import PopulationSpikes, write_spikes

RESULT_FORMAT = "repro.run-result/1"
#: Distribution that provides each non-NEST PyNN backend (for the recorded version).
SIMULATOR_DISTRIBUTIONS = {"pyNN.spiNNaker": "sPyNNaker", "pyNN.brian2": "Brian2",
                           "pyNN.neuron": "NEURON"}


def _redirect_output(log_path: Path) -> None:
    """Send fd 1 and 2 (Python and C++ output alike) to the log file."""
    sys.stdout.flush()
    sys.stderr.flush()
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def _load_script(path: Path, name: str) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load network script {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def simulator_facts(sim: types.ModuleType) -> dict[str, Any]:
    """Facts about the live simulator kernel (version, threads, processes, resolution).

    Backends other than NEST may provide ``repro_simulator_info()`` returning such a dict.
    """
    provider = getattr(sim, "repro_simulator_info", None)
    if callable(provider):
        return dict(provider())
    facts: dict[str, Any] = {"pynn_backend": sim.__name__}
    if sim.__name__ != "pyNN.nest":
        distribution = SIMULATOR_DISTRIBUTIONS.get(sim.__name__, sim.__name__.split(".")[-1])
        facts["name"] = distribution
        try:
            facts["version"] = importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            facts["version"] = ""
        return facts
    try:
        import nest

        status = nest.GetKernelStatus()
        build = nest.build_info if hasattr(nest, "build_info") else {}
        facts.update(
            name="NEST",
            version=build.get("version", ""),
            threads=int(status["local_num_threads"]),
            virtual_processes=int(status["total_num_virtual_procs"]),
            mpi_processes=int(status["num_processes"]),
            resolution_ms=float(status["resolution"]),
            rng_type=str(status.get("rng_type", "")),
            rng_seed=int(status.get("rng_seed", -1)),
            spike_precision=str(getattr(sim.simulator.state, "spike_precision", "")),
            compressed_spikes=bool(status.get("use_compressed_spikes", True)),
            build={k: build[k] for k in ("built", "have_mpi", "have_gsl", "threads_model",
                                         "have_threads", "hostcpu") if k in build},
        )
    except Exception as exc:  # the backend is not NEST, or its kernel is gone
        facts["error"] = f"{type(exc).__name__}: {exc}"
    return facts


def _silence_plotting() -> None:
    """Plotting calls in classic scripts must not block or need a display."""
    os.environ["MPLBACKEND"] = "Agg"
    try:
        import matplotlib

        matplotlib.use("Agg", force=True)
        import matplotlib.pyplot as plt

        plt.show = lambda *a, **k: None
    except ImportError:
        pass


def install_nestml_modules(spec: RunSpec, bundle_dir: Path, sim: types.ModuleType) -> list[str]:
    """Install pre-built NESTML extension modules into NEST; return their names.

    ``sim.setup()`` resets the NEST kernel, and a reset unloads dynamically loaded modules,
    so the modules are installed now and again after every ``setup`` of ``sim``.
    """
    if not spec.nestml_modules:
        return []
    import nest

    libraries = [str((bundle_dir / module["path"]).resolve()) for module in spec.nestml_modules]

    def install_all() -> None:
        for library in libraries:
            nest.Install(library)

    backend_setup = sim.setup

    def setup(*args: Any, **kwargs: Any) -> Any:
        outcome = backend_setup(*args, **kwargs)
        install_all()
        return outcome

    sim.setup = setup
    install_all()
    return [module["name"] for module in spec.nestml_modules]


def _run_build_mode(sim: types.ModuleType, spec: RunSpec, script: types.ModuleType,
                    timings: dict[str, float], before_run: Any = None) -> list[PopulationSpikes]:
    build = getattr(script, "build", None)
    if not callable(build):
        raise AttributeError(f"{spec.script} defines no build(sim, params, seed) function")
    sim.setup(timestep=spec.timestep_ms, threads=spec.threads, rng_seed=spec.simulator_seed,
              **spec.backend_options)
    t0 = time.perf_counter()
    try:
        returned = build(sim, dict(spec.params), spec.seed)
    except KeyError as exc:
        key = exc.args[0] if exc.args else None
        if isinstance(key, str) and key not in spec.params:
            raise KeyError(f"build() in {spec.script} needs parameter {key!r}, which the "
                           "experiment's [params] table does not define") from exc
        raise
    populations = dict(returned) if isinstance(returned, dict) else {
        p.label: p for p in returned}
    wanted = spec.record or list(populations)
    missing = [name for name in wanted if name not in populations]
    if missing:
        raise KeyError(f"build() returned no population named {missing}; "
                       f"it returned {sorted(populations)}")
    for name in wanted:
        populations[name].record("spikes")
    timings["build_s"] = time.perf_counter() - t0
    if before_run is not None:
        before_run()
    t0 = time.perf_counter()
    sim.run(spec.duration_ms)
    timings["simulate_s"] = time.perf_counter() - t0
    t_stop = float(sim.get_current_time())
    result = []
    for name in wanted:
        pop = populations[name]
        segment = pop.get_data("spikes").segments[-1]
        trains = [np.asarray(st.rescale("ms").magnitude) for st in segment.spiketrains]
        result.append(PopulationSpikes.from_trains(
            name, trains, celltype=pop.celltype.__class__.__name__, t_start=0.0, t_stop=t_stop))
    return result


def _recording_hint(book: NoteBook) -> str:
    """What the target could not record, for a script that failed reading its data."""
    missing = [note.detail for note in book.notes
               if note.feature.startswith("record(") and "cannot record" in note.detail]
    return f" (the target could not record everything: {'; '.join(missing)})" if missing else ""


def _script_line_of(exc: BaseException, script: Path) -> str:
    """``name:line`` of the innermost traceback frame inside the script ("" if none)."""
    wanted = str(script.resolve())
    found = ""
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == wanted:
            found = f"{script.name}:{tb.tb_lineno}"
        tb = tb.tb_next
    return found


def _hardware_provenance(sim: types.ModuleType) -> dict[str, Any] | None:
    """Hardware provenance counters where the backend reports them."""
    provider = getattr(sim, "repro_hardware_provenance", None)
    return dict(provider()) if callable(provider) else None


def _end(sim: types.ModuleType) -> None:
    """Release the simulator (a SpiNNaker board must be freed); never masks the result."""
    try:
        sim.end()
    except Exception as exc:  # noqa: BLE001 - the outputs are already collected
        warnings.warn(f"{sim.__name__}.end() failed: {exc}", stacklevel=2)


def run(spec: RunSpec, bundle_dir: Path, out_dir: Path) -> int:
    """Run ``spec`` and write all outputs into ``out_dir``; return the exit code."""
    out_dir.mkdir(parents=True, exist_ok=True)
    timings: dict[str, Any] = {"start_time": utc_now("microseconds")}
    notes: list[str] = []
    book = NoteBook(script=bundle_dir / spec.script)
    result: dict[str, Any] = {"format": RESULT_FORMAT, "status": "failed", "notes": notes,
                              "mode": spec.mode, "backend": spec.backend, "seed": spec.seed,
                              "noise_seed": spec.simulator_seed}
    sim: types.ModuleType | None = None
    facts: dict[str, Any] = {}
    provenance: dict[str, Any] | None = None
    simulated = True
    rank = 0
    wall0 = time.perf_counter()
    written = Snapshot.take(Path.cwd(), out_dir)
    try:
        warnings.simplefilter("default")
        t0 = time.perf_counter()
        sim = importlib.import_module(spec.backend_module)
        timings["import_s"] = time.perf_counter() - t0
        result["array_connect"] = fastconnect.install(sim)
        nest_mpi_guard.install(sim)
        rank = mpi_rank(sim)
        result["nestml_modules"] = install_nestml_modules(spec, bundle_dir, sim)
        capture = fingerprints.install(sim)
        script_path = bundle_dir / spec.script
        if spec.mode == "build":
            script = _load_script(script_path, "repro_network")
            created = frozen.track_populations(sim) if spec.frozen_export else []
            replay = (frozen.Replay(sim, bundle_dir / spec.frozen_input, spec.timestep_ms)
                      if spec.frozen_input else None)
            sources: list[Any] = []
            populations = _run_build_mode(
                sim, spec, script, timings,
                lambda: sources.extend(frozen.record_sources(created)))
            if spec.frozen_export:
                result["frozen_export"] = frozen.export(
                    out_dir / frozen.FILE, sources, capture, spec.timestep_ms, spec.duration_ms)
            if replay is not None:
                result["frozen_replay"] = replay.check(capture)
            facts = simulator_facts(sim)
            provenance = _hardware_provenance(sim)
            _end(sim)
        elif spec.mode == "script":
            _silence_plotting()
            t0 = time.perf_counter()
            dialect = run_script(sim, script_path, list(spec.script_args), spec.backend,
                                 spec.seed, spec.threads, spec.backend_options, book)
            timings["simulate_s"] = time.perf_counter() - t0
            populations = dialect.populations()
            simulated = dialect.t_stop > 0
            result["timestep_ms"] = float(sim.get_time_step())
        else:
            raise ValueError(f"unknown run mode {spec.mode!r}")
        facts = facts or simulator_facts(sim)
        if provenance is None:
            provenance = _hardware_provenance(sim)
        if rank:  # PyNN gathered every rank's spikes on rank 0, which writes the outputs
            return 0
        (out_dir / "connectivity.json").write_text(json.dumps(capture.document(), indent=1))
        t0 = time.perf_counter()
        write_spikes(out_dir / SPIKES, populations)
        timings["write_s"] = time.perf_counter() - t0
        result["populations"] = [
            {"name": p.name, "size": p.size, "celltype": p.celltype, "n_spikes": p.n_spikes,
             "t_start": p.t_start, "t_stop": p.t_stop} for p in populations]
        result["spikes_recorded"] = bool(populations)
        if not populations:  # a legitimate run (it studies connectivity, writes its own files)
            notes.append(f"the script {NO_SPIKES} (" + (
                "none of its populations recorded spikes)" if simulated
                else "it never called run(): nothing was simulated)"))
        result["status"] = "completed"
        if provenance is not None:
            (out_dir / PROVENANCE).write_text(json.dumps(provenance, indent=1,
                                                                sort_keys=True))
    except BaseException as exc:  # noqa: BLE001 - every failure is recorded, then reported
        result["error"] = {"type": type(exc).__name__,
                           "message": str(exc) + _recording_hint(book),
                           "traceback": traceback.format_exc(),
                           "script_line": _script_line_of(exc, bundle_dir / spec.script)}
        if isinstance(exc, FeatureRefused):
            result["refusal"] = exc.to_dict()
        traceback.print_exc()
        if sim is not None and not facts:
            facts = simulator_facts(sim)
        if rank:
            return 1
    try:
        result["script_outputs"] = collect(written, out_dir)
        if note := skipped_note(result["script_outputs"]):
            notes.append(note)
    except OSError as exc:  # the run's own outputs matter more than the script's files
        notes.append(f"collecting the files the script wrote failed: {exc}")
    result["portability"] = book.to_json()
    notes.extend(note.line() for note in book.notes)
    timings["end_time"] = utc_now("microseconds")
    timings["wall_s"] = time.perf_counter() - wall0
    result["timings"] = timings
    manifest = capture_manifest(site=spec.site, simulator=facts)
    (out_dir / ENVIRONMENT).write_text(json.dumps(manifest, indent=1, sort_keys=True))
    (out_dir / RESULT).write_text(json.dumps(result, indent=1, sort_keys=True))
    return 0 if result["status"] == "completed" else 1


def mpi_rank(sim: types.ModuleType) -> int:
    """This process's MPI rank (0 without MPI or on backends that do not say)."""
    rank = getattr(sim, "rank", None)
    try:
        return int(rank()) if callable(rank) else 0
    except Exception:  # noqa: BLE001 - a backend without a live kernel has one process
        return 0


def _finalize_mpi(code: int) -> None:
    """End MPI before ``os._exit`` (which skips NEST's own finalisation); a failed rank
    aborts the whole job step rather than leaving the others waiting in a collective."""
    mpi = sys.modules.get("mpi4py.MPI")
    if mpi is None or not mpi.Is_initialized() or mpi.Is_finalized():
        return
    if code and mpi.COMM_WORLD.Get_size() > 1:
        mpi.COMM_WORLD.Abort(code)
    mpi.COMM_WORLD.Barrier()
    mpi.Finalize()


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: ``python -m repro.site.harness SPEC OUTPUT_DIR``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m repro.site.harness RUN_SPEC.json OUTPUT_DIR", file=sys.stderr)
        return 2
    spec_path = Path(args[0]).resolve()
    out_dir = Path(args[1]).resolve()
    try:
        spec = RunSpec.read(spec_path)
    except (OSError, ValueError, TypeError) as exc:
        print(f"repro.site.harness: bad run spec {spec_path}: {exc}", file=sys.stderr)
        return 2
    out_dir.mkdir(parents=True, exist_ok=True)
    _redirect_output(out_dir / HARNESS_LOG)
    os.environ.setdefault("MPLBACKEND", "Agg")
    sys.path.insert(0, str((spec_path.parent / Path(spec.script).parent).resolve()))
    code = run(spec, spec_path.parent, out_dir)
    _finalize_mpi(code)
    sys.stdout.flush()
    sys.stderr.flush()
    # NEST's atexit hooks can abort on a broken kernel; the outputs are already on disk.
    os._exit(code)


if __name__ == "__main__":
    main()
