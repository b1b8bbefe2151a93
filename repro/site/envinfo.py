"""Capture the environment manifest where a run executes, and digest it.

Shipped in the run bundle; standard library only. Only an explicit allow-list of
environment variables is read, so credentials in the environment never reach a manifest.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import socket
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from repro.site import interpreter
from repro.site.clock import utc_now

MANIFEST_FORMAT = "repro.environment/1"

#: Variables that name an ESD release or software environment, in order of preference.
ESD_VARIABLES = ("EBRAINS_ESD_RELEASE", "ESD_RELEASE", "SPACK_ENV_NAME", "SPACK_ENV")
#: Variables through which container runtimes (or repro's launcher) expose the image.
CONTAINER_DIGEST_VARIABLES = ("REPRO_CONTAINER_DIGEST",)
CONTAINER_IMAGE_VARIABLES = (
    "APPTAINER_CONTAINER", "SINGULARITY_CONTAINER", "REPRO_CONTAINER_IMAGE")
SCHEDULER_VARIABLES = {
    "job_id": "SLURM_JOB_ID",
    "array_job_id": "SLURM_ARRAY_JOB_ID",
    "array_task_id": "SLURM_ARRAY_TASK_ID",
    "node_list": "SLURM_JOB_NODELIST",
    "partition": "SLURM_JOB_PARTITION",
    "ntasks": "SLURM_NTASKS",
    "cpus_per_task": "SLURM_CPUS_PER_TASK",
    "nnodes": "SLURM_JOB_NUM_NODES",
    "node_name": "SLURMD_NODENAME",
    "cluster": "SLURM_CLUSTER_NAME",
    "step_id": "SLURM_STEP_ID",
}
#: (launcher, rank variable, rank-count variables), first launcher with a rank wins.
MPI_LAUNCHERS = (
    ("pmix", "PMIX_RANK", ("SLURM_STEP_NUM_TASKS", "SLURM_NTASKS")),
    ("openmpi", "OMPI_COMM_WORLD_RANK", ("OMPI_COMM_WORLD_SIZE",)),
    ("pmi", "PMI_RANK", ("PMI_SIZE",)),
    ("slurm", "SLURM_PROCID", ("SLURM_STEP_NUM_TASKS", "SLURM_NTASKS")),
)


def installed_packages() -> dict[str, str]:
    """Every installed distribution as ``{normalised name: version}``, sorted by name."""
    found: dict[str, str] = {}
    for dist in metadata.distributions():
        name, version = _name_and_version(dist)
        if name:
            found[_normalise(name)] = version
    return dict(sorted(found.items()))


def _name_and_version(dist: metadata.Distribution) -> tuple[str, str]:
    """``Name`` and ``Version`` from the metadata headers, without the e-mail parser that
    ``Distribution.metadata`` runs over the whole file (most of the cost of a manifest)."""
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            break  # end of the headers
        key, sep, value = line.partition(":")
        if sep and key in ("Name", "Version") and key not in fields:
            fields[key] = value.strip()
    if "Name" not in fields:  # unusual layout: let the standard parser decide
        return dist.metadata["Name"] or "", dist.version
    return fields["Name"], fields.get("Version") or dist.version


def _normalise(name: str) -> str:
    return "-".join(name.replace("_", "-").replace(".", "-").lower().split("-"))


def cpu_model() -> str:
    """CPU model name from ``/proc/cpuinfo`` where available, else ``platform.processor()``."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def esd_release(environ: dict[str, str] | None = None) -> str | None:
    """ESD release from ESD variables or a loaded ``ebrains/<release>`` module."""
    env = os.environ if environ is None else environ
    for var in ESD_VARIABLES:
        if env.get(var):
            return env[var]
    for module in env.get("LOADEDMODULES", "").split(":"):
        if module.startswith(("ebrains/", "esd/")):
            return module.split("/", 1)[1]
    return None


def container_info(environ: dict[str, str] | None = None) -> dict[str, str] | None:
    """Image path and digest of the container the process runs in, if any.

    The digest comes from ``REPRO_CONTAINER_DIGEST`` (set by the launcher that pulled the
    image by digest) or, failing that, from the sha256 of the SIF file the runtime names.
    """
    env = os.environ if environ is None else environ
    image = next((env[v] for v in CONTAINER_IMAGE_VARIABLES if env.get(v)), None)
    digest = next((env[v] for v in CONTAINER_DIGEST_VARIABLES if env.get(v)), None)
    if image is None and digest is None:
        return None
    info = {"image": image or ""}
    if digest is None and image and Path(image).is_file():
        digest = "sha256:" + sha256_file(Path(image))
    info["digest"] = digest or ""
    info["runtime"] = "apptainer" if env.get("APPTAINER_CONTAINER") else env.get(
        "REPRO_CONTAINER_RUNTIME", "singularity" if env.get("SINGULARITY_CONTAINER") else ""
    )
    return info


def scheduler_info(environ: dict[str, str] | None = None) -> dict[str, str] | None:
    """Slurm job facts from the job's environment, or None outside a job."""
    env = os.environ if environ is None else environ
    facts = {key: env[var] for key, var in SCHEDULER_VARIABLES.items() if env.get(var)}
    return {"kind": "slurm", **facts} if facts else None


def parallel_info(environ: dict[str, str] | None = None) -> dict[str, Any] | None:
    """MPI rank and rank count the launcher gave this process, and its OpenMP threads.

    Returns None when no launcher variable is set (a plain process).
    """
    env = os.environ if environ is None else environ
    facts: dict[str, Any] = {}
    for launcher, rank_var, size_vars in MPI_LAUNCHERS:
        if env.get(rank_var, "").isdigit():
            facts.update(launcher=launcher, mpi_rank=int(env[rank_var]))
            size = next((env[v] for v in size_vars if env.get(v, "").isdigit()), None)
            if size is not None:
                facts["mpi_ranks"] = int(size)
            break
    if env.get("PMIX_VERSION"):
        facts["pmix_version"] = env["PMIX_VERSION"]
    if env.get("OMP_NUM_THREADS", "").isdigit():
        facts["omp_num_threads"] = int(env["OMP_NUM_THREADS"])
    return facts or None


def loaded_modules(environ: dict[str, str] | None = None) -> list[str]:
    """Environment modules loaded at the site (``LOADEDMODULES``), in load order."""
    env = os.environ if environ is None else environ
    return [m for m in env.get("LOADEDMODULES", "").split(":") if m]


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def capture_manifest(*, site: str, simulator: dict[str, Any] | None = None) -> dict[str, Any]:
    """Capture the manifest of the current process.

    Parameters
    ----------
    site : str
        Site name; ``REPRO_SITE`` in the environment overrides it (set by site admins).
    simulator : dict, optional
        Simulator facts the harness read from the live kernel (name, version, threads, ...).

    Returns
    -------
    dict
        JSON-serialisable manifest in the ``repro.environment/1`` format.
    """
    manifest: dict[str, Any] = {
        "format": MANIFEST_FORMAT,
        "captured_at": utc_now(),
        "captured_by_pid": os.getpid(),
        "site": os.environ.get("REPRO_SITE", site),
        "hostname": socket.gethostname(),
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
            **interpreter.describe(),
        },
        "os": {
            "system": platform.system(),
            "release": platform.release(),
            "platform": platform.platform(),
        },
        "cpu": {"machine": platform.machine(), "model": cpu_model(), "count": os.cpu_count()},
        "packages": installed_packages(),
        "esd_release": esd_release(),
        "container": container_info(),
        "scheduler": scheduler_info(),
        "parallel": parallel_info(),
        "modules": loaded_modules(),
        "simulator": simulator or {},
    }
    return manifest


def environment_digest(manifest: dict[str, Any]) -> str:
    """sha256 over the canonical package list, container digest and ESD release.

    Host names, times and PIDs are left out: two machines with the same software have the
    same digest.
    """
    container = manifest.get("container") or {}
    canonical = {
        "packages": manifest.get("packages", {}),
        "container_digest": container.get("digest", ""),
        "esd_release": manifest.get("esd_release") or "",
    }
    payload = json.dumps(canonical, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def main() -> None:
    """Print the manifest of this interpreter as JSON (used to probe a target's environment)."""
    site = sys.argv[1] if len(sys.argv) > 1 else "local"
    print(json.dumps(capture_manifest(site=site), sort_keys=True))


if __name__ == "__main__":
    main()
