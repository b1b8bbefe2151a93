"""Write and verify run crates: one Workflow Run RO-Crate (Process Run Crate 0.5) per run.

A crate is written into a temporary directory beside its destination and renamed into
place when complete, so an interrupted run never leaves half a crate. Every file entity
carries its sha256, ``contentSize`` and ``encodingFormat``; :func:`verify_crate` recomputes
them.
"""

from __future__ import annotations

import getpass
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from repro import __version__
from repro.errors import IntegrityError
from repro.site.envinfo import sha256_file

if TYPE_CHECKING:  # ro-crate-py is imported only where crates are written (slow import)
    from rocrate.rocrate import ROCrate

RO_CRATE_VERSION = "1.1"
PROCESS_PROFILE = "https://w3id.org/ro/wfrun/process/0.5"
PROVENANCE_PROFILE = "https://w3id.org/ro/wfrun/provenance/0.5"
WFRUN_CONTEXT = "https://w3id.org/ro/terms/workflow-run/context"
REPRO_TERMS = {
    "sha256": "http://schema.org/sha256",
}
METADATA_FILE = "ro-crate-metadata.json"
#: Crate subdirectories that hold inputs, never outputs.
RESERVED_DIRS = ("network",)
DEFAULT_LICENSE = "https://spdx.org/licenses/CC-BY-4.0"
REPRO_URL = "https://pypi.org/project/repro/"
ENCODINGS = {
    ".npz": "application/x-npz",
    ".json": "application/json",
    ".log": "text/plain",
    ".txt": "text/plain",
    ".py": "text/x-python",
    ".nestml": "text/plain",
    ".toml": "application/toml",
    ".nc": "application/x-netcdf",
    ".html": "text/html",
    ".md": "text/markdown",
    ".so": "application/octet-stream",
    ".png": "image/png",
}
#: Python packages every PyNN run depends on (recorded as softwareRequirements).
COMMON_REQUIREMENTS = ("pynn", "neo", "numpy", "quantities", "lazyarray")
#: Further packages by simulator name.
SIMULATOR_REQUIREMENTS = {"sPyNNaker": ("spynnaker", "spinnfrontendcommon", "spinnman")}
#: Homepages used as absolute @ids of well-known software.
SOFTWARE_URLS = {
    "NEST": "https://www.nest-simulator.org/",
    "sPyNNaker-emulator": "https://github.com/SpiNNakerManchester/sPyNNaker",
}


def utc_iso(timestamp: str) -> str:
    """ISO 8601 in UTC to the second with an explicit ``+00:00`` offset (never ``Z``)."""
    moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def new_crate(*, name: str, description: str, profiles: Sequence[str]) -> ROCrate:
    """An empty RO-Crate 1.1 that conforms to the given Workflow Run profiles."""
    from rocrate.model.contextentity import ContextEntity
    from rocrate.rocrate import ROCrate

    crate = ROCrate(version=RO_CRATE_VERSION)
    crate.metadata.extra_contexts.append(WFRUN_CONTEXT)
    crate.metadata.extra_terms.update(REPRO_TERMS)
    crate.root_dataset["name"] = name
    crate.root_dataset["description"] = description
    crate.root_dataset["license"] = crate.add(ContextEntity(crate, DEFAULT_LICENSE, properties={
        "@type": "CreativeWork", "name": "Creative Commons Attribution 4.0 International",
        "identifier": "CC-BY-4.0"}))
    names = {PROCESS_PROFILE: "Process Run Crate", PROVENANCE_PROFILE: "Provenance Run Crate"}
    refs = []
    for profile in profiles:
        crate.add(ContextEntity(crate, profile, properties={
            "@type": "CreativeWork", "name": names.get(profile, profile),
            "version": profile.rsplit("/", 1)[-1]}))
        refs.append({"@id": profile})
    crate.root_dataset["conformsTo"] = refs[0] if len(refs) == 1 else refs
    return crate


def add_file(crate: ROCrate, root: Path, relative: str, *, name: str | None = None,
             description: str | None = None) -> Any:
    """Add the file ``root/relative`` with sha256, size and encoding format."""
    path = root / relative
    props: dict[str, Any] = {
        "name": name or Path(relative).name,
        "sha256": sha256_file(path),
        "contentSize": str(path.stat().st_size),
        "encodingFormat": ENCODINGS.get(path.suffix, "application/octet-stream"),
    }
    if description:
        props["description"] = description
    return crate.add_file(path, dest_path=relative, properties=props)


def property_value(crate: ROCrate, ident: str, name: str, value: Any) -> Any:
    """Add (or reuse) a PropertyValue entity ``#ident``."""
    from rocrate.model.contextentity import ContextEntity

    existing = crate.get(f"#{ident}")
    if existing is not None:
        return existing
    return crate.add(ContextEntity(crate, f"#{ident}", properties={
        "@type": "PropertyValue", "name": name,
        "value": value if isinstance(value, str | int | float) else json.dumps(value)}))


def scalar(values: list[Any]) -> Any:
    """A singleton list becomes its element (RO-Crate style)."""
    return values[0] if len(values) == 1 else values


def current_agent() -> dict[str, str]:
    """Name of the person running repro (``REPRO_AGENT``, else the login name)."""
    return {"name": os.environ.get("REPRO_AGENT") or getpass.getuser()}


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


def _instrument(crate: ROCrate, simulator: dict[str, Any], packages: dict[str, str],
                uses_nestml: bool) -> Any:
    from rocrate.model.contextentity import ContextEntity

    name = simulator.get("name") or "unknown simulator"
    version = str(simulator.get("version") or "unknown")
    ident = SOFTWARE_URLS.get(name, f"https://pypi.org/project/{name}/")
    requirements = []
    wanted = [*COMMON_REQUIREMENTS, *SIMULATOR_REQUIREMENTS.get(name, ())]
    if uses_nestml:
        wanted.append("nestml")
    for package in wanted:
        if package in packages:
            req_id = f"https://pypi.org/project/{package}/{packages[package]}/"
            requirements.append(crate.add(ContextEntity(crate, req_id, properties={
                "@type": "SoftwareApplication", "name": package,
                "softwareVersion": packages[package], "url": f"https://pypi.org/project/{package}/"
            })))
    props: dict[str, Any] = {"@type": "SoftwareApplication", "name": name,
                             "softwareVersion": version, "url": ident}
    if simulator.get("emulates"):
        props["description"] = (f"Emulation of {simulator['emulates']} fixed-point numerics in "
                                "numpy; not SpiNNaker hardware")
    instrument = crate.add(ContextEntity(crate, ident, properties=props))
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

    result = _read_json(outputs / "result.json") or {
        "status": "failed", "error": {"type": "TargetError",
                                      "message": facts.status_message or "no harness result"}}
    manifest = _read_json(outputs / "environment.json") or {}
    completed = result.get("status") == "completed" and (outputs / "spikes.npz").is_file()
    with atomic_directory(dest) as tmp:
        for item in outputs.iterdir():
            if item.is_file():
                shutil.copy2(item, tmp / item.name)
            elif item.is_dir() and item.name not in RESERVED_DIRS:
                shutil.copytree(item, tmp / item.name, symlinks=False)
        (tmp / "network").mkdir()
        for item in sorted((bundle_dir / "network").iterdir()):
            if item.is_file():
                shutil.copy2(item, tmp / "network" / item.name)
        shutil.copy2(bundle_dir / "run_spec.json", tmp / "run_spec.json")
        if facts.job:
            (tmp / "job.json").write_text(json.dumps(facts.job, indent=1, sort_keys=True,
                                                     default=str))
        _build_run_metadata(tmp, result, manifest, completed, facts)
    return dest


def _build_run_metadata(root: Path, result: dict, manifest: dict, completed: bool,
                        facts: RunFacts) -> None:
    from rocrate.model.contextentity import ContextEntity

    simulator = manifest.get("simulator", {})
    crate = new_crate(
        name=f"{facts.experiment}: run on {facts.target} (seed {facts.seed})",
        description=(f"Simulation run of experiment '{facts.experiment}' on target "
                     f"'{facts.target}' ({facts.target_kind}) at site '{facts.site}', seed "
                     f"{facts.seed}, recorded by repro {__version__}."),
        profiles=[PROCESS_PROFILE])
    crate.root_dataset["datePublished"] = utc_iso(result.get("timings", {}).get(
        "end_time") or manifest.get("captured_at") or datetime.now(UTC).isoformat())
    spec = json.loads((root / "run_spec.json").read_text())
    script = add_file(crate, root, spec["script"], description="Network script (PyNN)")
    objects = [script]
    for item in sorted((root / "network").iterdir()):
        if f"network/{item.name}" != spec["script"]:
            objects.append(add_file(crate, root, f"network/{item.name}",
                                    description=_network_file_description(item.name)))
    objects.append(add_file(crate, root, "run_spec.json",
                            description="Run spec given to the harness"))
    objects.append(property_value(crate, "seed", "seed", facts.seed))
    for key in sorted(facts.params):
        objects.append(property_value(crate, f"param-{key}", key, facts.params[key]))
    results = []
    described = {
        "spikes.npz": "Spike times per population (repro.spikes/1: CSR arrays, ms)",
        "environment.json": "Environment manifest captured at the execution site",
        "result.json": "Harness result: status, timings, warnings, error",
        "harness.log": "Everything the harness process printed",
        "provenance.json": "Hardware provenance counters reported by the backend",
        "launcher.log": "Output of the process that launched the harness",
        "job.json": "Facts the target reported about the job",
        "nmpi.log": "Log of the NMPI job as the platform reported it",
        "slurm.out": "Output of the Slurm job",
    }
    for name, text in described.items():
        if (root / name).is_file():
            results.append(add_file(crate, root, name, description=text))
    known = {*described, METADATA_FILE, "run_spec.json"}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root).as_posix()
        if relative not in known and relative.split("/", 1)[0] not in RESERVED_DIRS:
            results.append(add_file(crate, root, relative,
                                    description="Further output returned by the target"))
    packages = manifest.get("packages", {})
    instrument = _instrument(crate, simulator, packages,
                             uses_nestml=bool(result.get("nestml_modules")))
    site = crate.add(ContextEntity(crate, f"#site-{facts.site}", properties={
        "@type": "Place", "name": facts.site,
        "description": f"Execution site (host {manifest.get('hostname', 'unknown')})"}))
    agent = crate.add(ContextEntity(crate, "#agent", properties={
        "@type": "Person", **current_agent()}))
    crate.root_dataset["author"] = agent
    environment = [
        property_value(crate, f"env-{k}", k, v) for k, v in _environment_facts(
            manifest, facts).items()]
    identifiers = [
        property_value(crate, "model-hash", "model_hash", facts.model_hash),
        property_value(crate, "run-key", "run_key", facts.run_key),
        property_value(crate, "request-key", "request_key", facts.request_key),
        property_value(crate, "environment-digest", "environment_digest", facts.env_digest),
    ]
    timings = result.get("timings", {})
    action_props: dict[str, Any] = {
        "@type": "CreateAction",
        "name": f"Run {facts.experiment} on {facts.target}, seed {facts.seed}",
        "description": f"{simulator.get('name', 'simulator')} run of {facts.experiment}",
        "actionStatus": ("http://schema.org/CompletedActionStatus" if completed
                         else "http://schema.org/FailedActionStatus"),
        "endTime": utc_iso(timings.get("end_time") or manifest.get("captured_at")
                           or datetime.now(UTC).isoformat()),
    }
    if timings.get("start_time"):
        action_props["startTime"] = utc_iso(timings["start_time"])
    if not completed:
        error = result.get("error") or {}
        action_props["error"] = (f"{error.get('type', 'Error')}: {error.get('message', '')}"
                                 f"{' — ' + facts.status_message if facts.status_message else ''}")
    action = crate.add_action(instrument, identifier=f"#run-{facts.run_id}",
                              object=objects, result=results, properties=action_props)
    action["agent"] = agent
    action["location"] = site
    action["environment"] = scalar(environment)
    action["identifier"] = identifiers
    container = manifest.get("container") or {}
    if container.get("digest"):
        image = crate.add(ContextEntity(crate, f"#container-{container['digest']}", properties={
            "@type": "ContainerImage",
            "additionalType": {"@id": "https://w3id.org/ro/terms/workflow-run#SIFImage"},
            "name": container.get("image") or "container image",
            "registry": facts.job.get("registry", "unknown"),
            "sha256": container["digest"].removeprefix("sha256:")}))
        action["containerImage"] = image
    crate.root_dataset["mentions"] = action
    crate.metadata.write(root)


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


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


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
