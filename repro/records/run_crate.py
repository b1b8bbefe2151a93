"""Write and verify run crates: one Workflow Run RO-Crate (Process Run Crate 0.5) per run.

A crate is written into a temporary directory beside its destination and renamed into
place when complete, so an interrupted run never leaves half a crate. Every file entity
carries its sha256, ``contentSize`` and ``encodingFormat``; :func:`verify_crate` recomputes
them.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from repro import __version__
from repro.errors import IntegrityError
from repro.records.entities import (
    METADATA_FILE,
    PROCESS_PROFILE,
    add_agent,
    add_context,
    add_file,
    add_software,
    new_crate,
    property_value,
    scalar,
)
from repro.site.clock import utc_iso, utc_now
from repro.site.envinfo import sha256_file
from repro.site.files import (
    DESCRIPTIONS,
    ENVIRONMENT,
    JOB,
    NO_SPIKES,
    PORTABILITY,
    RESULT,
    RUN_SPEC,
    SPIKES,
    read_json,
    recorded_spikes,
    run_completed,
)
from repro.site.portability import NOTES_FORMAT
from repro.site.script_outputs import SCRIPT_OUTPUTS, skipped_note

if TYPE_CHECKING:  # ro-crate-py is imported only where crates are written (slow import)
    from rocrate.rocrate import ROCrate

#: Crate subdirectories that hold inputs, never outputs.
RESERVED_DIRS = ("network",)
#: Python packages every PyNN run depends on (recorded as softwareRequirements).
COMMON_REQUIREMENTS = ("pynn", "neo", "numpy", "quantities", "lazyarray")
#: Further packages by simulator name.
SIMULATOR_REQUIREMENTS = {"sPyNNaker": ("spynnaker", "spinnfrontendcommon", "spinnman")}
#: Homepages used as absolute @ids of well-known software.
SOFTWARE_URLS = {
    "NEST": "https://www.nest-simulator.org/",
    "sPyNNaker-emulator": "https://github.com/SpiNNakerManchester/sPyNNaker",
}
COMPLETED = "http://schema.org/CompletedActionStatus"
FAILED = "http://schema.org/FailedActionStatus"


@contextmanager
def atomic_directory(dest: Path) -> Iterator[Path]:
    """Yield a temporary directory that is renamed to ``dest`` only on success.

    Raises
    ------
    FileExistsError
        If ``dest`` already exists.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists():
        raise FileExistsError(f"{dest} already exists")
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent))
    try:
        yield tmp
        os.rename(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@dataclass
class RunFacts:
    """What the dispatcher knows about a run beyond the harness outputs.

    Attributes
    ----------
    run_id, experiment, target, target_kind, site : str
        Identity of the run.
    seed : int
        The seed.
    model_hash, run_key, request_key, env_digest : str
        Canonical hashes (see :mod:`repro.config.hashes`).
    target_identity : dict
        Canonical target description (no secrets).
    job : dict
        Facts the target reported (job ids, node list, platform, ...).
    params : dict
        Model parameters.
    status_message : str
        The target's last word on the run (empty on success).
    output_files : dict
        Files the target kind adds to the outputs, with their descriptions (the kind's
        ``output_files``), so no kind needs to be known here.
    """

    run_id: str
    experiment: str
    target: str
    target_kind: str
    site: str
    seed: int
    model_hash: str
    run_key: str
    request_key: str
    env_digest: str
    target_identity: dict[str, Any]
    job: dict[str, Any]
    params: dict[str, Any]
    status_message: str = ""
    output_files: dict[str, str] = field(default_factory=dict)


def _instrument(crate: ROCrate, simulator: dict[str, Any], packages: dict[str, str],
                uses_nestml: bool) -> Any:
    """The simulator as SoftwareApplication, with the packages it ran on as requirements."""
    name = simulator.get("name") or "unknown simulator"
    wanted = [*COMMON_REQUIREMENTS, *SIMULATOR_REQUIREMENTS.get(name, ())]
    if uses_nestml:
        wanted.append("nestml")
    requirements = [
        add_software(crate, f"https://pypi.org/project/{package}/{packages[package]}/", package,
                     packages[package], url=f"https://pypi.org/project/{package}/")
        for package in wanted if package in packages]
    emulates = simulator.get("emulates")
    instrument = add_software(
        crate, SOFTWARE_URLS.get(name, f"https://pypi.org/project/{name}/"), name,
        str(simulator.get("version") or "unknown"),
        description=(f"Emulation of {emulates} fixed-point numerics in numpy; not SpiNNaker "
                     "hardware") if emulates else None)
    if requirements:
        instrument["softwareRequirements"] = scalar(requirements)
    return instrument


def write_run_crate(dest: Path, outputs: Path, bundle_dir: Path, facts: RunFacts) -> Path:
    """Write the crate of one run atomically to ``dest``.

    Parameters
    ----------
    dest : Path
        Final crate directory (must not exist).
    outputs : Path
        Directory with the harness outputs fetched from the target (whatever exists).
    bundle_dir : Path
        The run bundle (network script and run spec are copied from it).
    facts : RunFacts
        Dispatcher-side facts.

    Returns
    -------
    Path
        ``dest``.
    """
    result = read_json(outputs / RESULT) or {
        "status": "failed", "error": {"type": "TargetError",
                                      "message": facts.status_message or "no harness result"}}
    manifest = read_json(outputs / ENVIRONMENT) or {}
    completed = run_completed(result, outputs)
    with atomic_directory(dest) as tmp:
        _copy_run_files(tmp, outputs, bundle_dir, facts.job)
        if result.get("portability"):
            write_portability_notes(tmp / PORTABILITY, result["portability"])
        _build_run_metadata(tmp, result, manifest, completed, facts)
    return dest


def write_portability_notes(path: Path, notes: list[dict[str, Any]]) -> None:
    """The harness's portability notes as their own file of the crate."""
    path.write_text(json.dumps({"format": NOTES_FORMAT, "notes": notes}, indent=1,
                               sort_keys=True))


def portability_summary(notes: list[dict[str, Any]]) -> str:
    """``"; 5 portability notes (1 changes numerics; ...)"``, or "" when there are none."""
    if not notes:
        return ""
    numeric = sum(1 for note in notes if note.get("numerical_effect"))
    return (f"; {len(notes)} portability note{'s' if len(notes) != 1 else ''} "
            f"({numeric} change{'s' if numeric != 1 else ''} numerics; see "
            f"{PORTABILITY})")


def _copy_run_files(root: Path, outputs: Path, bundle_dir: Path, job: dict[str, Any]) -> None:
    """Copy the outputs, the network files and the run spec into ``root``; write job.json."""
    for item in outputs.iterdir():
        if item.is_file():
            shutil.copy2(item, root / item.name)
        elif item.is_dir() and item.name not in RESERVED_DIRS:
            shutil.copytree(item, root / item.name, symlinks=False)
    (root / "network").mkdir()
    for item in sorted((bundle_dir / "network").iterdir()):
        if item.is_file():
            shutil.copy2(item, root / "network" / item.name)
    shutil.copy2(bundle_dir / RUN_SPEC, root / RUN_SPEC)
    if job:
        (root / JOB).write_text(json.dumps(job, indent=1, sort_keys=True, default=str))


def _build_run_metadata(root: Path, result: dict, manifest: dict, completed: bool,
                        facts: RunFacts) -> None:
    """Describe the run in ``root/ro-crate-metadata.json`` (one CreateAction)."""
    simulator = manifest.get("simulator", {})
    crate = new_crate(
        name=f"{facts.experiment}: run on {facts.target} (seed {facts.seed})",
        description=(f"Simulation run of experiment '{facts.experiment}' on target "
                     f"'{facts.target}' ({facts.target_kind}) at site '{facts.site}', seed "
                     f"{facts.seed}, recorded by repro {__version__}."),
        profiles=[PROCESS_PROFILE])
    end_time = utc_iso(result.get("timings", {}).get("end_time") or manifest.get("captured_at")
                       or utc_now())
    crate.root_dataset["datePublished"] = end_time
    objects = _run_inputs(crate, root, facts)
    descriptions = dict(facts.output_files)
    if completed and not recorded_spikes(result):
        descriptions[SPIKES] = f"{DESCRIPTIONS[SPIKES]}; empty: the script {NO_SPIKES}"
    descriptions.update(_script_output_descriptions(result))
    results = _run_outputs(crate, root, descriptions)
    instrument = _instrument(crate, simulator, manifest.get("packages", {}),
                             uses_nestml=bool(result.get("nestml_modules")))
    site = add_context(crate, f"#site-{facts.site}", "Place", name=facts.site,
                       description=f"Execution site (host {manifest.get('hostname', 'unknown')})")
    agent = add_agent(crate)
    environment = [property_value(crate, f"env-{k}", k, v)
                   for k, v in _environment_facts(manifest, facts).items()]
    action = crate.add_action(
        instrument, identifier=f"#run-{facts.run_id}", object=objects, result=results,
        properties=_action_properties(result, simulator, completed, facts, end_time, root))
    action["agent"] = agent
    action["location"] = site
    action["environment"] = scalar(environment)
    action["identifier"] = _identifiers(crate, facts)
    image = _container_image(crate, manifest.get("container") or {}, facts)
    if image is not None:
        action["containerImage"] = image
    crate.root_dataset["mentions"] = action
    crate.metadata.write(root)


def _run_inputs(crate: ROCrate, root: Path, facts: RunFacts) -> list[Any]:
    """Network script, further network files, run spec, seed and parameters."""
    spec = json.loads((root / RUN_SPEC).read_text())
    objects = [add_file(crate, root, spec["script"], description="Network script (PyNN)")]
    for item in sorted((root / "network").iterdir()):
        if f"network/{item.name}" != spec["script"]:
            objects.append(add_file(crate, root, f"network/{item.name}",
                                    description=_network_file_description(item.name)))
    objects.append(add_file(crate, root, RUN_SPEC,
                            description="Run spec given to the harness"))
    objects.append(property_value(crate, "seed", "seed", facts.seed))
    if spec.get("noise_seed") is not None:
        objects.append(property_value(crate, "noise_seed", "noise_seed", spec["noise_seed"]))
    objects.extend(property_value(crate, f"param-{key}", key, facts.params[key])
                   for key in sorted(facts.params))
    return objects


def _run_outputs(crate: ROCrate, root: Path, output_files: dict[str, str]) -> list[Any]:
    """Every file in ``root`` that is not an input: described outputs first (the harness's,
    then the target kind's ``output_files``, whose descriptions win), then the rest."""
    described = {**DESCRIPTIONS, **output_files}
    results = [add_file(crate, root, name, description=text)
               for name, text in described.items() if (root / name).is_file()]
    known = {*described, METADATA_FILE, RUN_SPEC}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root).as_posix()
        if relative not in known and relative.split("/", 1)[0] not in RESERVED_DIRS:
            results.append(add_file(crate, root, relative,
                                    description="Further output returned by the target"))
    return results


def _script_output_descriptions(result: dict[str, Any]) -> dict[str, str]:
    """Crate descriptions of the files the script wrote, by crate path."""
    files = (result.get("script_outputs") or {}).get("files") or []
    return {f"{SCRIPT_OUTPUTS}/{item['path']}": f"File the script wrote as {item['path']} in "
            f"its working directory during the run (sha256 at the site {item['sha256']})"
            for item in files}


def script_outputs_summary(result: dict[str, Any], root: Path, facts: RunFacts) -> str:
    """What the run's description says about the files the script wrote: how many the crate
    keeps, which the harness skipped and why, and which the target did not bring back
    (never a silent loss); "" when the script wrote none."""
    collected = result.get("script_outputs") or {}
    files = collected.get("files") or []
    missing = [item["path"] for item in files
               if not (root / SCRIPT_OUTPUTS / item["path"]).is_file()]
    parts = []
    if len(files) > len(missing):
        parts.append(f"{len(files) - len(missing)} file(s) the script wrote are kept in "
                     f"{SCRIPT_OUTPUTS}/")
    if missing:
        parts.append(f"{len(missing)} file(s) the script wrote at the site were not brought "
                     f"back by target kind {facts.target_kind} (not in this crate; their "
                     f"sizes and sha256 are in {RESULT}): {', '.join(missing)}")
    if note := skipped_note(collected):
        parts.append(note)
    return "".join(f"; {part}" for part in parts)


def _action_properties(result: dict, simulator: dict, completed: bool, facts: RunFacts,
                       end_time: str, root: Path) -> dict[str, Any]:
    """Name, status, times and (for a failed run) the error of the run's CreateAction."""
    timings = result.get("timings", {})
    props: dict[str, Any] = {
        "@type": "CreateAction",
        "name": f"Run {facts.experiment} on {facts.target}, seed {facts.seed}",
        "description": f"{simulator.get('name', 'simulator')} run of {facts.experiment}"
                       + portability_summary(result.get("portability") or [])
                       + ("" if recorded_spikes(result) else f"; the script {NO_SPIKES}")
                       + script_outputs_summary(result, root, facts),
        "actionStatus": COMPLETED if completed else FAILED,
        "endTime": end_time,
    }
    if timings.get("start_time"):
        props["startTime"] = utc_iso(timings["start_time"])
    if not completed:
        error = result.get("error") or {}
        props["error"] = (f"{error.get('type', 'Error')}: {error.get('message', '')}"
                          f"{' — ' + facts.status_message if facts.status_message else ''}")
    return props


def _identifiers(crate: ROCrate, facts: RunFacts) -> list[Any]:
    """The run's canonical hashes as PropertyValues."""
    return [
        property_value(crate, "model-hash", "model_hash", facts.model_hash),
        property_value(crate, "run-key", "run_key", facts.run_key),
        property_value(crate, "request-key", "request_key", facts.request_key),
        property_value(crate, "environment-digest", "environment_digest", facts.env_digest),
    ]


def _container_image(crate: ROCrate, container: dict[str, Any], facts: RunFacts) -> Any:
    """The SIF image the run used (None when it ran outside a container)."""
    if not container.get("digest"):
        return None
    return add_context(
        crate, f"#container-{container['digest']}", "ContainerImage",
        additionalType={"@id": "https://w3id.org/ro/terms/workflow-run#SIFImage"},
        name=container.get("image") or "container image",
        registry=facts.job.get("registry", "unknown"),
        sha256=container["digest"].removeprefix("sha256:"))


def _network_file_description(name: str) -> str | None:
    if name.endswith(".nestml"):
        return "NESTML neuron model source (part of the model hash)"
    return {
        "experiment.toml": "Experiment file the run was dispatched from",
        "nestml_build.json": "NESTML build record: module hash, generated-sources hash, "
                             "tool versions, build cache hit",
    }.get(name)


def _environment_facts(manifest: dict, facts: RunFacts) -> dict[str, Any]:
    simulator = manifest.get("simulator", {})
    out: dict[str, Any] = {
        "site": facts.site,
        "target": facts.target,
        "target_kind": facts.target_kind,
        "hostname": manifest.get("hostname", ""),
        "python": manifest.get("python", {}).get("version", ""),
        "os": manifest.get("os", {}).get("platform", ""),
        "cpu": manifest.get("cpu", {}).get("model", ""),
        "threads": simulator.get("threads", ""),
        "simulator": f"{simulator.get('name', '')} {simulator.get('version', '')}".strip(),
        "esd_release": manifest.get("esd_release") or "",
        "container_digest": (manifest.get("container") or {}).get("digest", ""),
    }
    for key, value in sorted((manifest.get("scheduler") or {}).items()):
        out[f"scheduler_{key}"] = value
    for key, value in sorted(facts.job.items()):
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            out[f"job_{key}"] = value
    return {k: v for k, v in out.items() if v not in ("", None)}


def read_metadata(crate_dir: Path) -> dict[str, Any]:
    """Load a crate's metadata graph as ``{@id: entity}``.

    Raises
    ------
    IntegrityError
        If the metadata file is missing or not JSON-LD with a ``@graph``.
    """
    path = crate_dir / METADATA_FILE
    try:
        graph = json.loads(path.read_text())["@graph"]
        return {entity["@id"]: entity for entity in graph}
    except FileNotFoundError:
        raise IntegrityError(f"{path}: not a crate (no {METADATA_FILE})") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise IntegrityError(f"{path}: unreadable crate metadata ({exc})") from None


def verify_crate(crate_dir: Path) -> list[str]:
    """Recompute every recorded sha256 and size; return one problem per differing file.

    Returns
    -------
    list of str
        Empty when the crate is intact; otherwise ``"<file>: <problem>"`` lines.

    Raises
    ------
    IntegrityError
        If the crate metadata itself is missing or unreadable.
    """
    crate_dir = Path(crate_dir)
    problems = []
    root = crate_dir.resolve()
    for ident, entity in read_metadata(crate_dir).items():
        if "sha256" not in entity or "File" not in _types(entity):
            continue
        path = (crate_dir / ident).resolve()
        if root not in path.parents:
            problems.append(f"{ident}: points outside the crate")
            continue
        if not path.is_file():
            problems.append(f"{ident}: missing")
            continue
        if str(path.stat().st_size) != str(entity.get("contentSize", path.stat().st_size)):
            problems.append(f"{ident}: size {path.stat().st_size} differs from recorded "
                            f"{entity['contentSize']}")
        elif sha256_file(path) != entity["sha256"]:
            problems.append(f"{ident}: sha256 differs from the recorded {entity['sha256'][:12]}…")
    return problems


def _types(entity: dict) -> list[str]:
    kind = entity.get("@type", [])
    return [kind] if isinstance(kind, str) else list(kind)
