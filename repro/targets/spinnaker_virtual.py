"""The ``spinnaker_virtual`` target: map an experiment on a virtual SpiNN-5 board (pre-flight).

sPyNNaker's ``virtual_board`` mode partitions, places and routes the network and generates
its data as for real hardware, without a machine. That answers, before anything is
submitted, whether the network fits and how many cores, chips and boards it needs, and
shows the errors sPyNNaker would raise on the real platform.

The mapping runs in a child process (sPyNNaker keeps global state and writes reports) whose
``HOME``, XDG configuration directories and working directory are a fresh temporary
directory holding the only user configuration it reads; the user's ``~/.spynnaker.cfg`` is
never read or written. sPyNNaker is the optional extra ``repro[spinnaker]``.

The child process is this module: ``python -m repro.targets.spinnaker_virtual REQUEST REPORT``.
"""

from __future__ import annotations

import configparser
import io
import json
import logging
import os
import runpy
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar

from repro.errors import TargetError
from repro.targets.base import JobHandle, JobStatus, RunBundle, Target
from repro.targets.options import Option, Options

SPYNNAKER_REQUIREMENT = "spynnaker==1!7.4.1"
INSTALL_HINT = ("sPyNNaker is not installed; install the extra with "
                "pip install 'repro[spinnaker]' (which installs " + SPYNNAKER_REQUIREMENT + ")")
#: The only user configuration the mapping process sees.
VIRTUAL_BOARD_CFG = """\
# Written by repro for one virtual-board mapping; lives in a temporary HOME.
[Machine]
virtual_board = True
version = 5

[Simulation]
# Report PyNN features sPyNNaker refuses (such as rng= in RandomDistribution) as warnings
# so the mapping still completes; the report lists them.
error_on_non_spynnaker_pynn = False
"""
#: Environment variables the mapping process never needs.
DROPPED_VARIABLES = ("EBRAINS_TOKEN", "NMPI_TOKEN", "CLB_AUTH")
#: Warnings sPyNNaker raises as errors under its default configuration.
STRICT_MARKER = "is not supported in sPyNNaker"
#: Mappings done by this process (a check may map the same network for several targets).
_MAPPINGS: dict[str, MappingReport] = {}


@dataclass
class MappingReport:
    """Resources a network needs on SpiNN-5 boards, or why it cannot be mapped.

    Attributes
    ----------
    status : str
        ``mapped``, ``stopped_after_mapping`` (a classic script: a run mapped the network
        and generated its data, then the script raised outside ``run``, typically on
        recorded data a virtual board does not have), ``data_generation_failed`` (mapped,
        then sPyNNaker failed while generating the data it would load), ``mapping_failed``
        (also a script that failed before its first run), ``not_installed`` or ``crashed``.
    boards, chips : int
        Boards and chips holding application cores.
    application_cores, system_cores : int
        Cores running the network, and sPyNNaker's own cores (monitors, gatherers) on the
        machine used.
    cores_by_population : dict
        Application cores per PyNN population label.
    script_line : str
        ``file:line: code`` of the innermost script line of the error, if any.
    """

    status: str
    spynnaker_version: str = ""
    machine: str = ""
    boards: int = 0
    chips: int = 0
    application_cores: int = 0
    system_cores: int = 0
    cores_by_population: dict[str, int] = field(default_factory=dict)
    vertex_types: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    error: str = ""
    script_line: str = ""
    seconds: float = 0.0

    @property
    def fits(self) -> bool:
        """True when sPyNNaker produced a placement."""
        return self.status in ("mapped", "stopped_after_mapping", "data_generation_failed")

    def summary(self) -> str:
        """One line for ``repro targets check``."""
        if self.status == "not_installed":
            return INSTALL_HINT
        if not self.fits:
            return f"virtual SpiNN-5 mapping failed: {self.error}"
        text = (f"virtual SpiNN-5 (sPyNNaker {self.spynnaker_version.split('!')[-1]}): "
                f"{self.boards} board(s), {self.chips} chip(s), "
                f"{self.application_cores} application core(s) "
                f"(+{self.system_cores} system)")
        strict = [w for w in self.warnings if STRICT_MARKER in w]
        if strict:
            first = strict[0].split(" in this case")[0]
            text += (f"; {len(strict)} PyNN usage(s) sPyNNaker rejects under its default "
                     f"configuration (error_on_non_spynnaker_pynn), first: {first!r}")
        if self.status == "data_generation_failed":
            text += f"; but data generation failed: {self.error}"
        if self.status == "stopped_after_mapping":
            text += (f"; the script then stopped outside run() at {self.script_line}: "
                     f"{self.error} (a virtual board records nothing)")
        return text


def spynnaker_version(python: str = "") -> str | None:
    """Installed sPyNNaker version for ``python`` (default: this interpreter), or None."""
    if not python or Path(python).absolute() == Path(sys.executable).absolute():
        try:
            return metadata.version("sPyNNaker")
        except metadata.PackageNotFoundError:
            return None
    probe = subprocess.run(
        [python, "-c", "from importlib import metadata; print(metadata.version('sPyNNaker'))"],
        capture_output=True, text=True, check=False)
    return probe.stdout.strip() if probe.returncode == 0 else None


def map_network(request: dict[str, Any], *, python: str = "", timeout: float = 600.0,
                extra_cfg: str = "") -> MappingReport:
    """Map one network on a virtual SpiNN-5 machine in an isolated child process.

    Parameters
    ----------
    request : dict
        ``script`` (absolute path), ``mode`` (``build``/``script``), ``params``,
        ``duration_ms``, ``timestep_ms``, ``seed``, ``record``.
    python : str
        Interpreter with sPyNNaker installed (default: this one).
    timeout : float
        Seconds before the mapping is abandoned.
    extra_cfg : str
        sPyNNaker configuration text the run would have in its working directory.
    """
    key = json.dumps([request, python, timeout, extra_cfg], sort_keys=True)
    if key not in _MAPPINGS:
        _MAPPINGS[key] = _map_in_child(request, python, timeout, extra_cfg)
    return _MAPPINGS[key]


def _map_in_child(request: dict[str, Any], python: str, timeout: float,
                  extra_cfg: str) -> MappingReport:
    version = spynnaker_version(python)
    if version is None:
        return MappingReport(status="not_installed")
    work = Path(tempfile.mkdtemp(prefix="repro-vboard-"))
    try:
        home = work / "home"
        (home / ".config").mkdir(parents=True)
        (work / "xdg").mkdir()
        (home / ".spynnaker.cfg").write_text(VIRTUAL_BOARD_CFG, encoding="utf-8")
        if extra_cfg:
            (work / "spynnaker.cfg").write_text(_without_machine(extra_cfg), encoding="utf-8")
        (work / "request.json").write_text(json.dumps(request), encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if k not in DROPPED_VARIABLES}
        package_root = str(Path(__file__).resolve().parents[2])
        env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
                   XDG_CONFIG_DIRS=str(work / "xdg"), MPLBACKEND="Agg",
                   PYTHONPATH=os.pathsep.join(filter(None, [package_root,
                                                            env.get("PYTHONPATH")])))
        started = time.perf_counter()
        try:
            child = subprocess.run(
                [python or sys.executable, "-m", "repro.targets.spinnaker_virtual",
                 "request.json", "report.json"],
                cwd=work, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return MappingReport(status="crashed", spynnaker_version=version,
                                 error=f"mapping did not finish within {timeout:.0f} s")
        report_path = work / "report.json"
        if not report_path.is_file():
            tail = (child.stderr or child.stdout).strip().splitlines()[-3:]
            return MappingReport(status="crashed", spynnaker_version=version,
                                 error=f"mapping process exited with {child.returncode}: "
                                       + " | ".join(tail))
        data = json.loads(report_path.read_text(encoding="utf-8"))
        data["seconds"] = round(time.perf_counter() - started, 2)
        return MappingReport(**data)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _without_machine(cfg_text: str) -> str:
    """``cfg_text`` minus its [Machine] section: the mapping always uses the virtual board."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment, method-assign]
    parser.read_string(cfg_text)
    parser.remove_section("Machine")
    out = io.StringIO()
    parser.write(out)
    return out.getvalue()


def experiment_request(experiment: Any, timestep_ms: float, seed: int | None = None
                       ) -> dict[str, Any]:
    """The mapping request for an :class:`~repro.config.experiment.Experiment`."""
    seeds = list(getattr(experiment, "seeds", []) or [1])
    script = Path(experiment.script)
    if not script.is_absolute():
        script = Path(experiment.directory) / script
    return {"script": str(script.resolve()), "mode": experiment.mode,
            "params": dict(experiment.params), "duration_ms": float(experiment.duration_ms or
                                                                    1000.0),
            "timestep_ms": float(timestep_ms), "seed": int(seeds[0] if seed is None else seed),
            "record": list(experiment.record),
            "args": list(getattr(experiment, "script_args", []) or [])}


class SpinnakerVirtualTarget(Target):
    """Pre-flight only: maps the experiment on a virtual SpiNN-5 board; produces no spikes.

    Options: see ``declared`` (and docs/targets.md).
    """

    kind: ClassVar[str] = "spinnaker_virtual"
    backend: ClassVar[str] = "spinnaker"
    runs: ClassVar[bool] = False
    summary: ClassVar[str] = ("Pre-flight only: maps the experiment on a virtual SpiNN-5 "
                              "board with sPyNNaker; runs nothing.")
    declared: ClassVar[Options] = Target.declared.with_(
        Option("python", str, "", "Interpreter with sPyNNaker (default: the one repro runs "
                                  "in).", identity=False),
        Option("timeout", (int, float), 600.0, "Longest mapping time.", unit="s",
               identity=False),
        Option("strict", bool, False, "Treat PyNN features sPyNNaker refuses by default as "
                                      "errors."),
        Option("generate_on_machine", bool, False,
               "Generate data as for a real board: synaptic matrices sPyNNaker would expand on "
               "the machine are not built on the host (a virtual board otherwise builds all "
               "of them there); their weights cannot then be read back."),
        timestep=1.0)

    def mapping(self, experiment: Any) -> MappingReport:
        """Map ``experiment`` with this target's time step."""
        request = experiment_request(experiment, self.timestep)
        request["generate_on_machine"] = bool(self.options.get("generate_on_machine"))
        return map_network(request, python=str(self.options.get("python", "")),
                           timeout=float(self.options.get("timeout", 600.0)))

    def check(self, experiment: Any = None) -> str:
        """Map ``experiment`` (or just report whether sPyNNaker is installed).

        Raises
        ------
        TargetError
            If sPyNNaker is missing, or the network cannot be mapped (or, with ``strict``,
            uses PyNN features sPyNNaker refuses by default).
        """
        version = spynnaker_version(str(self.options.get("python", "")))
        if version is None:
            raise TargetError(f"target {self.name!r}: {INSTALL_HINT}")
        if experiment is None:
            return f"sPyNNaker {version} installed; give an experiment to map it"
        report = self.mapping(experiment)
        strict = [w for w in report.warnings if STRICT_MARKER in w]
        if not report.fits or report.status == "data_generation_failed" or \
                (self.options.get("strict") and strict):
            raise TargetError(f"target {self.name!r}: {report.summary()}")
        return report.summary()

    def submit(self, bundle: RunBundle) -> JobHandle:
        """A virtual board runs nothing."""
        raise TargetError(f"target {self.name!r} (spinnaker_virtual) only maps networks and "
                          "produces no spikes; use `repro targets check` for it")

    def status(self, handle: JobHandle) -> JobStatus:  # pragma: no cover - never submitted
        """Never reached: :meth:`submit` refuses."""
        raise TargetError(f"target {self.name!r} has no jobs")

    def fetch(self, handle: JobHandle, dest: Path) -> None:  # pragma: no cover
        """Never reached: :meth:`submit` refuses."""
        raise TargetError(f"target {self.name!r} has no jobs")

    def cancel(self, handle: JobHandle) -> None:  # pragma: no cover
        """Nothing to cancel."""


# -- the child process -------------------------------------------------------------------

class _WarningLog(logging.Handler):
    """Collects distinct warning messages sPyNNaker logs."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage().strip()
        if message and message not in self.messages:
            self.messages.append(message)


def _snapshot() -> dict[str, Any] | None:
    """Resources of the current placement, or None before placement."""
    from spynnaker.pyNN.data import SpynnakerDataView as view  # noqa: N813

    try:
        placements = list(view.iterate_placemements())
        machine = view.get_machine()
    except Exception:  # noqa: BLE001 - no placement yet (mapping failed early)
        return None
    application = [p for p in placements
                   if not type(p.vertex).__module__.startswith("spinn_front_end_common")]
    chips = {(p.x, p.y) for p in application}
    boards = {(machine[x, y].nearest_ethernet_x, machine[x, y].nearest_ethernet_y)
              for x, y in chips}
    by_population: Counter[str] = Counter()
    for p in application:
        app_vertex = getattr(p.vertex, "app_vertex", None)
        by_population[str(getattr(app_vertex, "label", None) or p.vertex.label)] += 1
    return {"boards": len(boards), "chips": len(chips),
            "application_cores": len(application),
            "system_cores": len(placements) - len(application),
            "cores_by_population": dict(sorted(by_population.items())),
            "vertex_types": dict(sorted(Counter(type(p.vertex).__name__
                                                for p in placements).items())),
            "machine": f"virtual SpiNN-5, {machine.n_chips} chips, "
                       f"{len(list(machine.ethernet_connected_chips))} board(s)"}


def _where(exc: BaseException) -> str:
    """``package/module.py:line in function`` of the innermost frame of ``exc``."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "no traceback"
    last = frames[-1]
    path = last.filename.split("site-packages/")[-1]
    return f"at {path}:{last.lineno} in {last.name}"


def _script_line(exc: BaseException, script: Path) -> str:
    """``name.py:line: code`` of the innermost frame of ``exc`` in ``script``, or ``""``."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if Path(f.filename).resolve() == script.resolve()]
    if not frames:
        return ""
    return f"{script.name}:{frames[-1].lineno}: {(frames[-1].line or '').strip()}"


def _generate_on_machine() -> None:
    """Let sPyNNaker's own rule decide which synaptic matrices the machine generates.

    sPyNNaker 7.4.1 answers "host" for every matrix on a virtual board
    (``SynapseInformation.may_generate_on_machine``); its rule otherwise reads the
    configuration only for that, so that module alone is shown ``virtual_board = False``.
    """
    from spinn_utilities.config_holder import get_config_bool
    from spynnaker.pyNN.models.neural_projections import synapse_information

    def real_board(section: str, option: str) -> bool | None:
        if (section, option) == ("Machine", "virtual_board"):
            return False
        return get_config_bool(section, option)

    synapse_information.get_config_bool = real_board  # type: ignore[attr-defined]


def _child(request_path: str, report_path: str) -> None:
    request = json.loads(Path(request_path).read_text(encoding="utf-8"))
    warnings_log = _WarningLog()
    logging.getLogger().addHandler(warnings_log)
    report: dict[str, Any] = {"status": "mapping_failed",
                              "spynnaker_version": metadata.version("sPyNNaker")}
    snapshot: dict[str, Any] | None = None
    ran = failed_in_run = False  # a run() returned / the error came out of run()
    script = Path(request["script"])
    try:
        import pyNN.spiNNaker as sim  # noqa: N813

        if request.get("generate_on_machine"):
            _generate_on_machine()

        original_run, original_end = sim.run, sim.end

        def run(*args: Any, **kwargs: Any) -> Any:
            nonlocal snapshot, ran, failed_in_run
            try:
                returned = original_run(*args, **kwargs)
            except BaseException:
                failed_in_run = True
                raise
            finally:
                snapshot = _snapshot() or snapshot
            ran = True
            return returned

        def end(*args: Any, **kwargs: Any) -> Any:
            nonlocal snapshot
            snapshot = _snapshot() or snapshot
            return original_end(*args, **kwargs)

        sim.run, sim.run_for, sim.end = run, run, end
        sys.path.insert(0, str(script.parent))
        if request["mode"] == "build":
            namespace = runpy.run_path(str(script), run_name="repro_network")
            sim.setup(timestep=request["timestep_ms"])
            returned = namespace["build"](sim, dict(request["params"]), request["seed"])
            populations = dict(returned) if isinstance(returned, dict) else {
                p.label: p for p in returned}
            for name in request["record"] or list(populations):
                populations[name].record("spikes")
            sim.run(request["duration_ms"])
        else:
            import pyNN

            for alias in ("pyNN.nest", "pyNN.neuron", "pyNN.brian2", "spynnaker8"):
                sys.modules[alias] = sim
                if alias.startswith("pyNN."):
                    setattr(pyNN, alias.split(".")[1], sim)
            sys.argv = [str(script), *request.get("args", [])]
            try:
                runpy.run_path(str(script), run_name="__main__")
            except SystemExit as exc:
                if exc.code not in (None, 0):
                    raise
        report["status"] = "mapped"
    except BaseException as exc:  # noqa: BLE001 - every failure is the report's subject
        report["error"] = f"{type(exc).__name__}: {exc} ({_where(exc)})"[:1000]
        report["script_line"] = _script_line(exc, script)
        if ran and not failed_in_run:
            report["status"] = "stopped_after_mapping"
        elif snapshot is not None:
            report["status"] = "data_generation_failed"
    report.update(snapshot or {})
    report["warnings"] = warnings_log.messages[:50]
    Path(report_path).write_text(json.dumps(report, indent=1), encoding="utf-8")
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2])
