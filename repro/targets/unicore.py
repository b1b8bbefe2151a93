"""The ``unicore`` target: runs on an HPC site through UNICORE/X with the unmodified pyunicore.

A site is named by its base URL (``https://host/SITE/rest/core``) or by a registry URL plus
the site name. Three modes (option ``mode``), described in :mod:`repro.targets.unicore_jobs`:
``native`` (the site's ESD module), ``batch`` (our own ``sbatch`` script, tracked through
marker files) and ``container`` (an Apptainer image pulled by digest, run under ``srun``).

The run bundle is uploaded into the job's working directory (client stage-in), the harness
outputs are downloaded from ``output/`` into the destination directory only, after every
name in the site's listing has been checked. Every request is retried with backoff on 5xx
answers and dropped connections; a job submission is retried only after checking, through
a unique job tag, that the site did not create the job already. The OIDC token is read from
the environment on every request (:mod:`repro.targets.tokens`) and kept nowhere else.
"""

from __future__ import annotations

import contextlib
import os
import re
import ssl
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import httpx
from pyunicore.client import Client, Job, PathFile, Registry, Storage, Transport
from pyunicore.credentials import AuthenticationFailedException, OIDCToken, RefreshHandler

from repro.containers.apptainer import ImageReference, require_pinned
from repro.errors import (
    AuthenticationError,
    InputError,
    ReproError,
    SiteUnavailableError,
    TargetError,
)
from repro.site.script_outputs import SCRIPT_OUTPUTS
from repro.targets.base import JobHandle, JobState, JobStatus, RunBundle, Target
from repro.targets.fetch import FETCHED_OUTPUTS, LAUNCHER_LOG
from repro.targets.options import (
    OUTAGE_LIMIT,
    SLURM_RESOURCES,
    VERIFY_TLS,
    Alias,
    Option,
    Options,
    attempts_option,
    polling_options,
    time_limit_minutes,
    token_variable_option,
)
from repro.targets.polling import PollSchedule, fault_log, polled_status, record_faults
from repro.targets.retry import (
    Classified,
    Fault,
    FaultLog,
    RetryPolicy,
    impatient,
    unavailable,
)
from repro.targets.slurm_states import is_final
from repro.targets.tokens import find_token
from repro.targets.unicore_jobs import (
    EXIT_MARKER,
    MODES,
    SIF_SHA_FILE,
    START_MARKER,
    JobSettings,
    login_command_job,
    site_job,
    slurm_job_id,
)

T = TypeVar("T")

#: UNICORE job states mapped onto repro's.
_STATES = {"UNDEFINED": JobState.QUEUED, "READY": JobState.QUEUED,
           "STAGINGIN": JobState.QUEUED, "QUEUED": JobState.QUEUED,
           "RUNNING": JobState.RUNNING, "STAGINGOUT": JobState.RUNNING,
           "SUCCESSFUL": JobState.DONE, "FAILED": JobState.FAILED}
#: A file name the site may list in a directory we download from.
_SAFE_NAME = re.compile(r"^(?!\.{1,2}$)[A-Za-z0-9._+@=,-]{1,255}$")
_HTTP_STATUS = re.compile(r"^(\d{3}) ")
_SITE_IN_URL = re.compile(r"/([^/]+)/rest/core/?$")
#: Site-side log files gathered into ``launcher.log`` (when present).
_SITE_LOGS = ("stdout", "stderr", ".UNICORE_PRE_0/stdout", ".UNICORE_PRE_0/stderr")


class _TokenFromEnvironment(RefreshHandler):
    """pyunicore refresh handler that reads the token afresh for every request."""

    def __init__(self, target: str, variable: str) -> None:
        self.target = target
        self.variable = variable

    def refresh_token(self) -> str:
        return find_token(self.target, self.variable)[0]


class UnicoreTarget(Target):
    """Run the harness at a UNICORE site (see the module docstring for the modes).

    Options: see ``declared`` (and docs/targets.md).
    """

    kind: ClassVar[str] = "unicore"
    backend: ClassVar[str] = "nest"
    summary: ClassVar[str] = ("An HPC site through UNICORE/X (pyunicore): the site's ESD "
                              "module, a login-node sbatch, or a pinned Apptainer image.")
    declared: ClassVar[Options] = Target.declared.with_(
        Option("url", str, "", "Site base URL (https://host:port/SITE/rest/core); or give "
                               "registry."),
        Option("registry", str, "", "Registry URL, with site = the site name."),
        Option("mode", str, "native", "native (the site's ESD module), batch (our sbatch "
                                      "script on the login node) or container."),
        Option("module", str, "", "ESD module to load (required for native mode)."),
        Option("image", str, "", "oras://registry/name@sha256:... (required for container "
                                 "mode)."),
        Option("allow_tag", bool, False, "Admit a tag-only image reference (resolved to its "
                                         "digest at submission where possible)."),
        Option("python", str, "python3", "Python interpreter at the site."),
        *SLURM_RESOURCES[:1],
        replace(SLURM_RESOURCES[1], aliases=(Alias("tasks"),)),
        replace(SLURM_RESOURCES[2], aliases=(Alias("time_minutes"),)),
        SLURM_RESOURCES[3],
        replace(SLURM_RESOURCES[4], aliases=(Alias("project"),)),
        Option("mpi", str, "pspmix", "srun --mpi plugin of the container step."),
        token_variable_option("token_variable", "$UNICORE_TOKEN, then $EBRAINS_TOKEN"),
        Option("ca_bundle", str, "", "CA certificate file to verify the site with.",
               identity=False),
        VERIFY_TLS,
        *polling_options(2.0, 30.0),
        Option("slurm_check", (int, float), 30.0, "Seconds between squeue checks in batch "
                                                  "mode.", unit="s", identity=False,
               positive=True),
        attempts_option(5, retries_meant_attempts=True),
        OUTAGE_LIMIT)

    def __init__(self, name: str, options: dict[str, Any]) -> None:
        super().__init__(name, options)
        self.mode = str(self.option("mode"))
        self.image: ImageReference | None = None
        self._validate()
        self._transport_cache: Transport | None = None
        self._client_cache: Client | None = None
        self._resources: dict[str, Any] = {}

    # -- configuration ----------------------------------------------------------------------
    def _bad(self, option: str, message: str) -> InputError:
        return InputError(message, field=f"targets.{self.name}.{option}")

    def _validate(self) -> None:
        url, registry = self.option("url"), self.option("registry")
        if bool(url) == bool(registry):
            raise self._bad("url", "give either url (the site's .../rest/core URL) or "
                                   "registry (with site = the site name), not both or neither")
        if url and not re.match(r"^https?://[^/]+/.+/rest/core/?$", url):
            raise self._bad("url", f"{url!r} is not a UNICORE site URL "
                                   "(https://host:port/SITE/rest/core)")
        if registry and not self.options.get("site"):
            raise self._bad("site", "a registry needs site = \"<site name>\"")
        if self.mode not in MODES:
            raise self._bad("mode", f"unknown mode {self.mode!r} (one of {', '.join(MODES)})")
        if self.mode == "native" and not self.option("module"):
            raise self._bad("module", "native mode runs in the site's ESD module: set "
                                      "module = \"ebrains/<release>\"")
        if self.mode == "container":
            if not self.option("image"):
                raise self._bad("image", "container mode needs image = "
                                         "\"oras://registry/name@sha256:...\"")
            self.image = require_pinned(self.option("image"),
                                        allow_tag=bool(self.option("allow_tag")),
                                        field=f"targets.{self.name}.image")
        ca = self.option("ca_bundle")
        if ca and not Path(ca).is_file():
            raise self._bad("ca_bundle", f"CA bundle {ca!r} does not exist")

    @property
    def site(self) -> str:
        """The UNICORE site name (option ``site``, else the name in the site URL)."""
        if self.options.get("site"):
            return str(self.options["site"])
        match = _SITE_IN_URL.search(str(self.option("url")))
        return match.group(1) if match else self.name

    def settings(self, tags: list[str]) -> JobSettings:
        """The job settings of this target, with the given job tags."""
        return JobSettings(
            mode=self.mode, python=str(self.option("python")), threads=self.threads,
            nodes=int(self.option("nodes")), tasks=int(self.option("ntasks")),
            time_minutes=time_limit_minutes(self.option("time")),
            partition=str(self.option("partition")), project=str(self.option("account")),
            module=str(self.option("module")), image=self.image,
            mpi=str(self.option("mpi")), tags=tags)

    # -- connection -------------------------------------------------------------------------
    def _transport(self) -> Transport:
        if self._transport_cache is None:
            ca = self.option("ca_bundle")
            verify: bool | ssl.SSLContext = (ssl.create_default_context(cafile=ca) if ca
                                             else bool(self.option("verify_tls")))
            variable = str(self.option("token_variable"))
            find_token(self.name, variable)  # fail early and clearly without a token
            credential = OIDCToken("", refresh_handler=_TokenFromEnvironment(self.name,
                                                                             variable))
            self._transport_cache = Transport(credential, verify=verify, timeout=60)
        return self._transport_cache

    def _client(self) -> Client:
        if self._client_cache is None:
            def connect() -> Client:
                if self.option("url"):
                    return Client(self._transport(), str(self.option("url")).rstrip("/"))
                registry = Registry(self._transport(), str(self.option("registry")))
                if self.site not in registry.site_urls:
                    known = ", ".join(sorted(registry.site_urls)) or "none"
                    raise TargetError(f"target {self.name!r}: site {self.site!r} is not in "
                                      f"the registry (sites: {known})")
                return registry.site(self.site)
            self._client_cache = self._retry("connecting to the site", connect)
        return self._client_cache

    def _policy(self) -> RetryPolicy:
        return RetryPolicy(int(self.option("attempts")), first_delay_s=0.5, max_delay_s=8.0)

    def _retry(self, what: str, action: Callable[[], T],
               created: Callable[[], T | None] | None = None) -> T:
        """Run ``action``; retry 5xx answers and dropped connections with backoff."""
        def fail(found: Classified, attempts: int) -> Exception:
            if found.fault is Fault.AUTH:
                return AuthenticationError(
                    f"target {self.name!r}: UNICORE site {self.site!r} {found.message}")
            if "CERTIFICATE_VERIFY_FAILED" in found.message:
                return TargetError(
                    f"target {self.name!r}: the TLS certificate of the site could not be "
                    f"verified ({found.message}); give its CA in ca_bundle")
            return unavailable(found, f"target {self.name!r}: {what} failed after {attempts} "
                                      f"attempt(s): {found.message}")

        return self._policy().call(action, classify, fail, created=created)

    def _job(self, url: str) -> Job:
        """The job at ``url`` (one object per job, so its security session is reused)."""
        if url not in self._resources:
            self._resources[url] = Job(self._transport(), url, cache_time=0)
        return self._resources[url]

    def _storage(self, url: str) -> Storage:
        """The storage at ``url`` (one object per storage, as for jobs)."""
        if url not in self._resources:
            self._resources[url] = Storage(self._transport(), url, cache_time=0)
        return self._resources[url]

    def _create_job(self, description: dict[str, Any], tag: str) -> Job:
        """POST a job once: after a failed POST, look for a job the site created already."""
        client = self._client()

        def create() -> Job:
            created = client.new_job(dict(description, Tags=[*description.get("Tags", []),
                                                             tag]), autostart=False)
            return self._job(created.resource_url)

        def already_created() -> Job | None:
            existing = self._retry("looking for the job", lambda: client.get_jobs(tags=[tag]))
            return self._job(existing[0].resource_url) if existing else None

        return self._retry("submitting the job", create, created=already_created)

    def _start_or_remove(self, job: Job, steps: Callable[[], None]) -> None:
        """Run ``steps`` (confirm, upload, start) on a created job; if they fail, abort and
        delete the job on the site so it cannot start later, and say so in the error."""
        try:
            steps()
        except BaseException as exc:
            removed = self._remove(job)
            if not isinstance(exc, TargetError):
                raise
            note = ("the job was aborted and deleted on the site" if removed else
                    f"the job could not be deleted: delete {job.resource_url} by hand")
            raise type(exc)(f"{exc}; {note}") from None

    def _remove(self, job: Job) -> bool:
        """Abort and delete ``job`` without reading it first; True if the site confirmed."""
        transport = self._transport()
        with impatient():
            with contextlib.suppress(TargetError):
                self._retry("aborting the unconfirmed job", lambda: transport.post(
                    url=f"{job.resource_url}/actions/abort", json={}))
            try:
                self._retry("deleting the unconfirmed job", job.delete)
            except TargetError:
                return False
        return True

    # -- Target interface -------------------------------------------------------------------
    def check(self, experiment: Any = None) -> str:
        """Connect, authenticate and report the site, server version, user and mode.

        Parameters
        ----------
        experiment : Experiment, optional
            Not needed: the site runs any experiment the harness can run.
        """
        client = self._client()
        access = self._retry("reading the site", client.access_info)
        version = ".".join(map(str, self._retry("reading the server version",
                                                client.server_version_info)))
        uid = (access.get("xlogin") or {}).get("UID", "?")
        what = {"native": f"module {self.option('module')}",
                "batch": "sbatch on the login node",
                "container": f"image {self.image}"}[self.mode]
        return (f"UNICORE {version} site {self.site} at {client.resource_url}: user {uid} "
                f"(role {access['role']['selected']}); {self.mode} mode, {what}")

    def _pinned_image(self, info: dict[str, Any]) -> ImageReference | None:
        """The image to pull: a tag admitted by ``allow_tag`` is resolved to its digest now.

        When the registry cannot be asked from here, the site pulls by tag and the harness
        records the sha256 of the SIF file it ran in.
        """
        if self.image is None:
            return None
        info["container_image"] = str(self.image)
        if self.image.pinned:
            info["container_digest"] = self.image.digest
            return self.image
        from repro.containers.registry import resolve_digest

        try:
            record = resolve_digest(f"{self.image.name}:{self.image.tag or 'latest'}")
        except ReproError as exc:
            info["container_digest"] = ""
            info["container_digest_note"] = (f"tag not resolved at submission ({exc}); the "
                                             "site pulled by tag")
            return self.image
        info["container_digest"] = record.digest
        info["container_digest_note"] = f"tag {self.image.tag} resolved at submission"
        return self.image.by_digest(record.digest)

    def submit(self, bundle: RunBundle) -> JobHandle:
        """Create the job, upload the bundle into its working directory, start it."""
        tag = f"repro-submission-{uuid.uuid4().hex}"
        info: dict[str, Any] = {}
        image = self._pinned_image(info)
        settings = replace(self.settings(["repro", f"repro-run-{bundle.run_id}"]),
                                       image=image)
        job_spec = site_job(settings, name=f"repro-{bundle.run_id}"[:120])
        faults = FaultLog()
        links: dict[str, str] = {}

        def stage_and_start() -> None:
            links.update(self._retry("reading the new job", lambda: job.links))
            storage = self._storage(links["workingDirectory"])
            for relative, local in _bundle_files(bundle.directory):
                self._retry(f"uploading {relative}",
                            lambda r=relative, p=local: storage.upload(str(p), destination=r))
            for relative, text in job_spec.generated.items():
                self._retry(f"uploading {relative}",
                            lambda r=relative, t=text: storage.put(t.encode(), r))
            self._retry("starting the job", job.start)

        # Transient faults are retried past `attempts` until outage_limit: only a definite
        # answer (or that limit) fails a submission.
        with self._patient(faults):
            job = self._create_job(job_spec.description, tag)
            self._start_or_remove(job, stage_and_start)
        info.update({
            "executor": "UNICORE", "site": self.site, "site_url": self._client().resource_url,
            "job_url": job.resource_url, "unicore_job_id": job.job_id, "mode": self.mode,
            "job_type": job_spec.description["Job type"], "batch_system_id": "",
        })
        if settings.module:
            info["esd_module"] = settings.module
        state = {"job_url": job.resource_url, "wd_url": links["workingDirectory"],
                 "faults": faults}
        handle = JobHandle(target=self.name, job_id=job.resource_url, info=info, state=state)
        record_faults(handle, faults)
        return handle

    def status(self, handle: JobHandle) -> JobStatus:
        """Current state; asks the site at most every ``poll_interval``…``poll_max`` s.

        A site that gives no definite answer makes the state ``UNKNOWN`` (counted as an
        outage in the crate) until it answers again or ``outage_limit`` s have passed.
        """
        def probe() -> JobStatus:
            return (self._batch_status(handle) if self.mode == "batch"
                    else self._unicore_status(handle))

        def schedule() -> PollSchedule:
            return PollSchedule(float(self.option("poll_interval")),
                                float(self.option("poll_max")))

        return polled_status(handle, schedule, probe, float(self.option("outage_limit")))

    def _unicore_status(self, handle: JobHandle) -> JobStatus:
        props = self._retry("reading the job status",
                            lambda: self._job(handle.state["job_url"]).properties)
        batch_id = str(props.get("batchSystemID", "N/A"))
        if batch_id not in ("N/A", "") and not batch_id.startswith("INTERACTIVE_"):
            handle.info["batch_system_id"] = batch_id
        state = _STATES.get(str(props.get("status")), JobState.QUEUED)
        if state is JobState.FAILED:
            if handle.state.get("cancelled"):
                return JobStatus(JobState.CANCELLED, "cancelled")
            message = str(props.get("statusMessage") or "job failed")
            return JobStatus(JobState.FAILED, f"UNICORE job failed: {message}")
        return JobStatus(state)

    def _batch_status(self, handle: JobHandle) -> JobStatus:
        state = handle.state
        if "slurm_id" not in state:
            submitted = self._unicore_status(handle)
            if submitted.state in (JobState.FAILED, JobState.CANCELLED):
                detail = self._read_text(handle, "stderr").strip()[-500:]
                return JobStatus(submitted.state, "sbatch on the login node failed: "
                                 f"{submitted.message} {detail}".strip())
            if submitted.state is not JobState.DONE:
                return JobStatus(JobState.QUEUED, "sbatch pending on the login node")
            output = self._read_text(handle, "stdout")
            slurm_id = slurm_job_id(output)
            if slurm_id is None:
                return JobStatus(JobState.FAILED, f"sbatch printed no job id: {output[-300:]}")
            state["slurm_id"] = slurm_id
            state["slurm_checked"] = time.monotonic()
            handle.info["batch_system_id"] = slurm_id
        names = self._listing(handle, "")
        if EXIT_MARKER in names:
            return self._exit_status(handle)
        if state.get("cancelled"):
            return JobStatus(JobState.CANCELLED, "cancelled")
        if time.monotonic() - state["slurm_checked"] >= float(self.option("slurm_check")):
            state["slurm_checked"] = time.monotonic()
            slurm_state = self._slurm_state(state["slurm_id"])
            if slurm_state == "" or is_final(slurm_state):
                if EXIT_MARKER in self._listing(handle, ""):
                    return self._exit_status(handle)
                ended = slurm_state or "no longer known to Slurm"
                return JobStatus(JobState.FAILED,
                                 f"Slurm job {state['slurm_id']} ended ({ended}) before the "
                                 f"harness finished; see slurm-{state['slurm_id']}.out")
        return JobStatus(JobState.RUNNING if START_MARKER in names else JobState.QUEUED)

    def _exit_status(self, handle: JobHandle) -> JobStatus:
        code = self._read_text(handle, EXIT_MARKER).strip()
        if code == "0":
            return JobStatus(JobState.DONE)
        return JobStatus(JobState.FAILED, f"harness exited with code {code} in Slurm job "
                         f"{handle.state['slurm_id']}")

    def _slurm_state(self, slurm_id: str) -> str:
        """``squeue`` state of a Slurm job, asked through a login-node job.

        Returns "" only on a definite "not known": ``squeue`` succeeded and listed nothing,
        or said the job id is invalid.

        Raises
        ------
        SiteUnavailableError
            When ``squeue`` failed otherwise (the state is unknown, not gone).
        """
        argv = ["squeue", "-h", "-t", "all", "-j", slurm_id, "-o", "%T"]
        code, output, errors = self._login_command(argv)
        lines = [line.strip() for line in output.splitlines() if line.strip()]
        if code == 0 and lines and lines[0].isupper():
            return lines[0]
        if (code == 0 and not lines) or "invalid job id" in errors.lower():
            return ""
        said = (errors.strip() or output.strip() or "no output")[-300:]
        raise SiteUnavailableError(f"target {self.name!r}: squeue on the login node failed "
                                   f"(exit code {code}): {said}")

    def _login_command(self, argv: list[str], timeout: float = 120.0
                       ) -> tuple[int | None, str, str]:
        """Run a short command on the login node; return (exit code, stdout, stderr).

        The exit code is None when the site did not report one. The job is deleted after.
        """
        tag = f"repro-submission-{uuid.uuid4().hex}"
        job = self._create_job(login_command_job(argv, ["repro"]), tag)
        self._start_or_remove(job, lambda: self._retry("starting a login-node command",
                                                       job.start))
        deadline = time.monotonic() + timeout
        while self._retry("reading a login-node command", job.is_running):
            if time.monotonic() > deadline:
                self._remove(job)
                raise SiteUnavailableError(f"target {self.name!r}: {argv[0]} on the login "
                                           f"node did not finish within {timeout:.0f} s")
            time.sleep(0.3)
        props = self._retry("reading a login-node command", lambda: job.properties)
        wd = self._storage(props["_links"]["workingDirectory"]["href"])
        output = self._download_text(wd, "stdout") or ""
        errors = self._download_text(wd, "stderr") or ""
        with contextlib.suppress(TargetError):
            self._retry("deleting a login-node command", job.delete)
        code = str(props.get("exitCode") or "")
        if code.lstrip("-").isdigit():
            return int(code), output, errors
        return (None if props.get("status") == "SUCCESSFUL" else 1), output, errors

    def fetch(self, handle: JobHandle, dest: Path) -> None:
        """Download ``output/*`` into ``dest`` (``output/script_outputs/`` with its
        subdirectories) and the site's logs into ``launcher.log``.

        Raises
        ------
        TargetError
            If the site lists a file name that is not a plain name (``../x``, ``/etc/x``,
            ``a/b``): nothing of that listing is downloaded.
        """
        with self._patient(fault_log(handle)):
            self._fetch(handle, dest)
        record_faults(handle)

    def _fetch(self, handle: JobHandle, dest: Path) -> None:
        storage = self._storage(handle.state["wd_url"])
        outputs = self._listing(handle, RunBundle.OUTPUT_DIR, missing_ok=True)
        dest.mkdir(parents=True, exist_ok=True)
        wanted = set(FETCHED_OUTPUTS)
        for name, meta in sorted(outputs.items()):
            if not meta["isDirectory"] and name in wanted:
                self._download(storage, f"{RunBundle.OUTPUT_DIR}/{name}", dest, name,
                               int(meta.get("size", -1)))
        if outputs.get(SCRIPT_OUTPUTS, {}).get("isDirectory"):
            self._download_tree(handle, storage, f"{RunBundle.OUTPUT_DIR}/{SCRIPT_OUTPUTS}",
                                dest / SCRIPT_OUTPUTS)
        logs = list(_SITE_LOGS)
        if handle.state.get("slurm_id"):
            logs.append(f"slurm-{handle.state['slurm_id']}.out")
        sections = []
        for remote in logs:
            text = self._download_text(storage, remote)
            if text is not None:
                sections.append(f"===== {remote} (UNICORE working directory) =====\n"
                                + (text or "(empty)\n"))
        if sections:
            (dest / LAUNCHER_LOG).write_text("\n".join(sections))
        if self.mode == "container":
            sif_sha = self._read_text(handle, SIF_SHA_FILE).split()
            if sif_sha:
                handle.info["container_sif_sha256"] = f"sha256:{sif_sha[0]}"

    def cancel(self, handle: JobHandle) -> None:
        """Abort the UNICORE job; in batch mode also ``scancel`` the Slurm job."""
        handle.state["cancelled"] = True
        job = self._job(handle.state["job_url"])
        self._retry("aborting the job", job.abort)
        if self.mode == "batch":
            slurm_id = handle.state.get("slurm_id") or slurm_job_id(
                self._read_text(handle, "stdout"))
            if slurm_id:
                self._login_command(["scancel", slurm_id])

    # -- files ------------------------------------------------------------------------------
    def _listing(self, handle: JobHandle, directory: str,
                 missing_ok: bool = False) -> dict[str, dict[str, Any]]:
        """``{name: stat}`` of a directory of the working directory, names checked."""
        storage = self._storage(handle.state["wd_url"])
        try:
            content = self._retry(f"listing {directory or 'the working directory'}",
                                  lambda: storage.contents(directory or "/"))["content"]
        except TargetError as exc:
            if missing_ok and " 404 " in f" {exc} ":
                return {}
            raise
        prefix = f"/{directory}/" if directory else "/"
        entries = {}
        for key, meta in content.items():
            name = key[len(prefix):] if key.startswith(prefix) else None
            if name is not None and meta.get("isDirectory") and name.endswith("/"):
                name = name[:-1]
            if name is None or not _SAFE_NAME.match(name):
                raise TargetError(
                    f"target {self.name!r}: the site listed {key!r} in "
                    f"{directory or 'the working directory'} of job "
                    f"{handle.info.get('unicore_job_id', handle.job_id)}; refusing a file "
                    "name that could point outside the destination")
            entries[name] = meta
        return entries

    def _read_text(self, handle: JobHandle, remote: str) -> str:
        """A small text file of the job's working directory ("" if it does not exist)."""
        return self._download_text(self._storage(handle.state["wd_url"]), remote) or ""

    def _download_text(self, storage: Storage, remote: str) -> str | None:
        """A small text file of a storage (None if it does not exist)."""
        def read() -> str | None:
            pathfile = PathFile(storage, storage._to_file_url(remote), remote)
            with pathfile.raw() as response:
                if response.status_code == 404:
                    return None
                _raise_for_status(response)
                return response.read().decode(errors="replace")
        return self._retry(f"reading {remote}", read)

    def _download_tree(self, handle: JobHandle, storage: Storage, remote: str,
                       dest: Path) -> None:
        """Download the directory ``remote`` of the working directory into ``dest`` with its
        subdirectories (every listed name checked, as for the harness outputs)."""
        dest.mkdir(parents=True, exist_ok=True)
        for name, meta in sorted(self._listing(handle, remote).items()):
            if meta["isDirectory"]:
                self._download_tree(handle, storage, f"{remote}/{name}", dest / name)
            else:
                self._download(storage, f"{remote}/{name}", dest, name,
                               int(meta.get("size", -1)))

    def _download(self, storage: Storage, remote: str, dest: Path, name: str,
                  size: int) -> None:
        """Download one file to ``dest/name`` (atomically, size checked)."""
        final = dest / name
        if final.resolve().parent != dest.resolve():
            raise TargetError(f"target {self.name!r}: refusing to write {name!r} outside "
                              f"{dest}")

        def download() -> None:
            pathfile = PathFile(storage, storage._to_file_url(remote), remote)
            handle, partial = tempfile.mkstemp(prefix=f".{name}.", dir=dest)
            try:
                with os.fdopen(handle, "wb") as out, pathfile.raw() as response:
                    _raise_for_status(response)
                    for chunk in response.iter_bytes(1 << 16):
                        out.write(chunk)
                got = Path(partial).stat().st_size
                if size >= 0 and got != size:
                    raise httpx.HTTPError(f"500 Server Error: {remote} arrived with {got} "
                                          f"bytes, the listing said {size}")
                os.replace(partial, final)
            finally:
                Path(partial).unlink(missing_ok=True)

        self._retry(f"downloading {remote}", download)


def classify(exc: BaseException) -> Classified | None:
    """Sort a pyunicore/httpx exception; other exceptions are not the site's (None)."""
    if isinstance(exc, AuthenticationFailedException):
        return Classified(Fault.AUTH, f"did not accept the access token ({exc}); get a fresh "
                                      "token")
    if not isinstance(exc, httpx.HTTPError):
        return None
    text = str(exc)
    match = _HTTP_STATUS.match(text)
    code = int(match.group(1)) if match else None
    if code in (401, 403):
        reason = text.split("Server Error:", 1)[-1].split(" for url:")[0].strip()
        return Classified(Fault.AUTH, f"rejected the access token ({reason}); get a fresh "
                                      "token and try again", code)
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return Classified(Fault.FATAL, text, code)
    transient = code is None or code >= 500 or code in (408, 429)
    return Classified(Fault.TRANSIENT if transient else Fault.FATAL, text, code)


def _raise_for_status(response: httpx.Response) -> None:
    """pyunicore's streaming download ignores the status; check it the way it checks others."""
    if response.status_code >= 400:
        response.read()
        raise httpx.HTTPError(f"{response.status_code} Server Error: {response.reason_phrase} "
                              f"for url: {response.url}")


def _bundle_files(directory: Path) -> list[tuple[str, Path]]:
    """``(bundle-relative path, file)`` for every file of a bundle, caches and outputs left out."""
    files = []
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory)
        if (path.is_file() and "__pycache__" not in relative.parts
                and relative.parts[0] != RunBundle.OUTPUT_DIR):
            files.append((relative.as_posix(), path))
    return files
