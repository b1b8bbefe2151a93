"""The ``nmpi`` target: runs on the EBRAINS Neuromorphic Computing Platform (SpiNNaker).

Everything goes through the unmodified ``nmpi`` 0.11.2 client (``remote-apis.md`` part B).
A run is shipped as one NMPI job whose inline ``code`` is :mod:`repro.targets.nmpi_launcher`
with the run bundle (harness, network, run spec) attached as a base64 ``.tar.gz``: inline
code is the one way the 0.11.2 client can ship files without an EBRAINS Drive upload (its
``inputs`` argument is broken). The job carries ``platform``, the collab (always a string),
``hardware_config`` (sPyNNaker version and extra settings) and tags naming the run.

Client quirks handled here:

* the token comes from ``$EBRAINS_TOKEN`` / ``$NMPI_TOKEN`` (or the variable named by the
  ``token_variable`` option) or from the EBRAINS JupyterLab helper, and is passed as ``token=``;
  the client's token file is pointed at ``os.devnull``, so the token is never written;
* ``user_info_endpoint`` is always passed, and checked by us first: a rejected token gives
  one :class:`~repro.errors.AuthenticationError` instead of the client's ``getpass`` prompt;
* ``wait=True`` never ends for a ``removed`` job, so this target polls by itself, with
  backoff, and treats ``removed`` as final;
* result URLs are fetched without authentication (as the client does), but only ``http(s)``
  URLs whose ``path`` stays inside the destination; anything else refuses the download.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import os
import re
import shutil
import tarfile
import urllib.error
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar
from urllib.parse import urlsplit

import requests

from repro.errors import (
    AuthenticationError,
    InputError,
    ReproError,
    SiteUnavailableError,
    TargetError,
)
from repro.site.files import ENVIRONMENT, PROVENANCE, RESULT, read_json
from repro.site.script_outputs import SCRIPT_OUTPUTS
from repro.targets import nmpi_launcher
from repro.targets.base import (
    JobHandle,
    JobState,
    JobStatus,
    RunBundle,
    Target,
)
from repro.targets.fetch import FETCHED_OUTPUTS
from repro.targets.options import (
    OUTAGE_LIMIT,
    VERIFY_TLS,
    Option,
    Options,
    attempts_option,
    polling_options,
    token_variable_option,
)
from repro.targets.polling import PollSchedule, fault_log, polled_status, record_faults
from repro.targets.retry import Classified, Fault, FaultLog, RetryPolicy
from repro.targets.tokens import jupyterlab_token

DEFAULT_JOB_SERVICE = "https://nmpi-v3.hbpneuromorphic.eu"
DEFAULT_USER_INFO = "https://iam.ebrains.eu/auth/realms/hbp/protocol/openid-connect/userinfo"
#: Environment variables searched for the EBRAINS access token, in order.
TOKEN_VARIABLES = ("EBRAINS_TOKEN", "NMPI_TOKEN")
#: NMPI job status -> repro job state.
STATES = {"submitted": JobState.QUEUED, "validated": JobState.QUEUED,
          "mapped": JobState.QUEUED, "running": JobState.RUNNING,
          "finished": JobState.DONE, "error": JobState.FAILED, "removed": JobState.CANCELLED}
#: Files of the run bundle that are not shipped (local leftovers).
UNSHIPPED = (RunBundle.OUTPUT_DIR, "launcher.log", "__pycache__")
#: Words that mark a provenance entry as a trouble counter worth recording.
COUNTER_WORDS = ("saturat", "rounded_to_zero", "dropped", "overran", "over_ran", "late",
                 "lost", "overflow")
_ERROR = re.compile(r"^Error (\d{3}): (.*)$", re.S)
#: A Python exception line (``RuntimeError: ...``) in a job log.
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit)\b")


class NoPrompt:
    """Stands in for :mod:`getpass` inside the client: a prompt would block a batch run."""

    @staticmethod
    def getpass(*_args: Any, **_kwargs: Any) -> str:
        """Refuse to prompt."""
        raise AuthenticationError("the nmpi client asked for a password; the EBRAINS token "
                                  "was rejected")


def token_from_environment(variable: str = "") -> tuple[str | None, str]:
    """The EBRAINS access token and where it came from (never the token in messages).

    Parameters
    ----------
    variable : str
        Name of an environment variable to read first (the ``token_variable`` option).
    """
    for name in (variable, *TOKEN_VARIABLES):
        if name and os.environ.get(name, "").strip():
            return os.environ[name].strip(), f"${name}"
    token = jupyterlab_token()
    return (token, "EBRAINS JupyterLab (clb_nb_utils)") if token else (None, "")


def classify(exc: BaseException) -> Classified | None:
    """Sort a client exception into ``auth``, ``transient``, ``missing`` or ``fatal``.

    Returns
    -------
    Classified or None
        None for repro's own errors other than authentication (they pass through).
    """
    if isinstance(exc, AuthenticationError):
        return Classified(Fault.AUTH, str(exc), 401)
    if isinstance(exc, ReproError):
        return None
    if isinstance(exc, requests.exceptions.ConnectionError | requests.exceptions.Timeout |
                  requests.exceptions.ChunkedEncodingError):
        return Classified(Fault.TRANSIENT, f"connection failed ({type(exc).__name__})")
    if isinstance(exc, urllib.error.HTTPError):  # result downloads go through urllib
        fault = Fault.TRANSIENT if exc.code >= 500 or exc.code == 429 else Fault.FATAL
        return Classified(fault, f"download failed: {exc.reason}", exc.code)
    if isinstance(exc, urllib.error.URLError | urllib.error.ContentTooShortError |
                  ConnectionError | TimeoutError):
        return Classified(Fault.TRANSIENT, f"download failed ({type(exc).__name__})")
    text = str(exc)
    if text.startswith("No such job"):
        return Classified(Fault.MISSING, text, 404)
    match = _ERROR.match(text)
    if match is None:
        return Classified(Fault.FATAL, f"{type(exc).__name__}: {text}")
    status, message = int(match.group(1)), match.group(2).strip()
    if status == 401 or (status == 403 and "Not authenticated" in message):
        return Classified(Fault.AUTH, message, status)
    if status >= 500 or status == 429:
        return Classified(Fault.TRANSIENT, message[:200], status)
    if status == 404:
        return Classified(Fault.MISSING, message, status)
    return Classified(Fault.FATAL, message, status)


def error_reason(log: str) -> str:
    """The reason an NMPI job ended in ``error``, from its log.

    The last Python exception line (``RuntimeError: ...``), else the runner's last line.

    Examples
    --------
    >>> error_reason("started\nTraceback (most recent call last):\nValueError: bad n\ndone")
    'ValueError: bad n'
    """
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    for line in reversed(lines):
        if _EXCEPTION_LINE.match(line):
            return line[:300]
    return lines[-1][:300] if lines else ""


def safe_relative(path: Any) -> PurePosixPath | None:
    """``path`` as a relative POSIX path that cannot leave its base directory, else None."""
    if not isinstance(path, str) or not path or "\\" in path or "\x00" in path:
        return None
    pure = PurePosixPath(path)
    if pure.is_absolute() or path.startswith("~") or any(p in ("..", "") for p in
                                                          path.split("/")):
        return None
    return pure


def _script_output(relative: PurePosixPath) -> PurePosixPath | None:
    """``script_outputs/...`` of a result file the script wrote (the platform's result path
    holds ``.../repro_output/script_outputs/...``), else None."""
    parts = relative.parts
    for index in range(len(parts) - 2):
        if parts[index:index + 2] == (nmpi_launcher.OUTPUT_DIR, SCRIPT_OUTPUTS):
            return PurePosixPath(*parts[index + 1:])
    return None


def summarise_provenance(data: Any) -> dict[str, int]:
    """Totals of the hardware provenance counters in a ``provenance.json`` document.

    sPyNNaker provenance (written by the launcher) carries a ``summary``. Other documents
    (the SpiNNaker emulator's) are searched for integer counters whose names say they count
    trouble (saturation, weights rounded to zero, dropped/late/lost packets, overruns),
    summed over the ``projections`` list where there is one (populations repeat them).
    """
    if isinstance(data, dict) and isinstance(data.get("summary"), dict):
        return {k: v for k, v in data["summary"].items() if isinstance(v, int)}
    if isinstance(data, dict) and isinstance(data.get("projections"), list):
        data = data["projections"]
    totals: dict[str, int] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, int) and not isinstance(value, bool) and \
                        any(word in key.lower() for word in COUNTER_WORDS):
                    totals[key] = totals.get(key, 0) + value
                elif isinstance(value, dict | list):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(data)
    return dict(sorted(totals.items()))


class NmpiTarget(Target):
    """Submit runs as NMPI jobs (default platform SpiNNaker) with the unmodified client.

    Options: see ``declared`` (and docs/targets.md). The token is never an option.
    """

    kind: ClassVar[str] = "nmpi"
    backend: ClassVar[str] = nmpi_launcher.HARDWARE_BACKEND[0]
    summary: ClassVar[str] = ("The EBRAINS Neuromorphic Computing Platform job queue "
                              "(SpiNNaker) through the unmodified nmpi client.")
    output_files: ClassVar[Mapping[str, str]] = {
        **Target.output_files, "nmpi.log": "Log of the NMPI job as the platform reported it"}
    declared: ClassVar[Options] = Target.declared.with_(
        Option("url", str, DEFAULT_JOB_SERVICE, "Job service URL."),
        Option("user_info_url", str, DEFAULT_USER_INFO, "EBRAINS userinfo endpoint the "
                                                        "token is checked at.",
               identity=False),
        Option("collab", (str, int), "", "EBRAINS collab the jobs run in (required)."),
        Option("platform", str, "SpiNNaker", "NMPI hardware platform."),
        Option("spynnaker_version", str, "7.4.1", "sPyNNaker version asked for in "
                                                  "hardware_config."),
        Option("config", dict, {}, "Further hardware_config entries."),
        Option("command", str, "run.py {system}", "Job command."),
        Option("tags", list, [], "Further job tags.", identity=False),
        token_variable_option("token_env", "$EBRAINS_TOKEN, then $NMPI_TOKEN"),
        *polling_options(2.0, 60.0),
        attempts_option(7, retries_meant_attempts=False),
        VERIFY_TLS,
        Option("preflight", bool, True, "Map the network on a virtual SpiNN-5 board in "
                                        "`repro targets check`.", identity=False),
        Option("spynnaker_cfg", dict, {}, "{section: {key: value}} shipped as the job's "
                                          "local spynnaker.cfg."),
        OUTAGE_LIMIT,
        timestep=1.0)

    def __init__(self, name: str, options: dict[str, Any]) -> None:
        super().__init__(name, options)
        self._client: Any = None
        self._username = ""
        self._token_source = ""

    # -- options -------------------------------------------------------------------------
    @property
    def collab(self) -> str:
        """The collab as the string NMPI requires (TOML may give an integer)."""
        return str(self.option("collab"))

    @property
    def job_service(self) -> str:
        """Job service URL without a trailing slash (the client would build ``//projects``)."""
        return str(self.option("url")).rstrip("/")

    def hardware_config(self) -> dict[str, Any]:
        """``hardware_config`` of every job: sPyNNaker version plus the ``config`` table."""
        return {"spynnaker_version": self.option("spynnaker_version"), **self.option("config")}

    def spynnaker_cfg(self) -> str:
        """The ``spynnaker_cfg`` option as the text of a local ``spynnaker.cfg``."""
        lines = []
        for section, entries in self.option("spynnaker_cfg").items():
            lines.append(f"[{section}]")
            lines += [f"{key} = {value}" for key, value in entries.items()]
        return "\n".join(lines) + ("\n" if lines else "")

    # -- client --------------------------------------------------------------------------
    def _fail(self, message: str, status: int | None = None,
              found: Classified | None = None) -> TargetError:
        """The target's error; unavailable (state unknown) when ``found`` was transient."""
        code = f" (HTTP {status})" if status else ""
        transient = found is not None and found.fault is Fault.TRANSIENT
        cls = SiteUnavailableError if transient else TargetError
        return cls(f"target {self.name!r}: {message}{code}")

    def _auth_error(self, where: str) -> AuthenticationError:
        return AuthenticationError(
            f"target {self.name!r}: EBRAINS rejected the access token at {where} (expired or "
            f"revoked). Get a fresh token and export it as ${TOKEN_VARIABLES[0]}.")

    def connect(self) -> Any:
        """The ``nmpi.Client``, built once: token checked, token file never written.

        Raises
        ------
        AuthenticationError
            If there is no token, or EBRAINS rejects it.
        TargetError
            If the identity service cannot be reached.
        """
        if self._client is not None:
            return self._client
        token, source = token_from_environment(str(self.option("token_variable")))
        if not token:
            names = " or ".join(f"${v}" for v in filter(None, (self.option("token_variable"),
                                                             *TOKEN_VARIABLES)))
            raise AuthenticationError(
                f"target {self.name!r}: no EBRAINS access token; export it as {names} "
                "(tokens never go into TOML files)")
        user_info_url = str(self.option("user_info_url"))
        self._check_token(token, user_info_url)
        import nmpi.nmpi_user

        nmpi.nmpi_user.TOKENFILE = os.devnull
        nmpi.nmpi_user.getpass = NoPrompt

        def start() -> Any:
            with contextlib.redirect_stdout(io.StringIO()):
                return nmpi.Client(token=token, job_service=self.job_service,
                                   user_info_endpoint=user_info_url,
                                   verify=bool(self.option("verify_tls")))

        def fail(found: Classified, attempts: int) -> Exception:
            if found.fault is Fault.AUTH:
                return self._auth_error(user_info_url)
            tries = f" ({attempts} tries)" if attempts > 1 else ""
            return self._fail(f"cannot start the nmpi client{tries}: {found.message}",
                              found.status, found)

        client = self._policy().call(start, classify, fail)
        self._client = client
        self._username = client.user_info.get("username", "")
        self._token_source = source
        return client

    def _check_token(self, token: str, user_info_url: str) -> None:
        def ask() -> requests.Response:
            reply = requests.get(user_info_url, headers={"Authorization": f"Bearer {token}"},
                                 timeout=30)
            if reply.status_code >= 500:
                reply.raise_for_status()
            return reply

        def fail(found: Classified, attempts: int) -> Exception:
            if found.status:
                return self._fail(f"the identity service {user_info_url} keeps failing",
                                  found.status, found)
            return self._fail(f"cannot reach the EBRAINS identity service {user_info_url} "
                              f"({found.message})", None, found)

        reply = self._policy().call(ask, _classify_identity, fail)
        if reply.status_code in (401, 403):
            raise self._auth_error(user_info_url)

    def _policy(self) -> RetryPolicy:
        """``attempts`` tries; waits from half ``poll_interval`` doubling to ``poll_max``."""
        return RetryPolicy(int(self.option("attempts")),
                           first_delay_s=float(self.option("poll_interval")) * 0.5,
                           max_delay_s=float(self.option("poll_max")))

    def _call(self, what: str, function: Any, *args: Any, retry: bool = True,
              **kwargs: Any) -> Any:
        """Call the client; retry transient failures (only where ``retry``); map errors."""
        def action() -> Any:
            with contextlib.redirect_stdout(io.StringIO()):
                return function(*args, **kwargs)

        def fail(found: Classified, attempts: int) -> Exception:
            if found.fault is Fault.AUTH:
                return self._auth_error(self.job_service)
            return self._fail(f"{what} failed: {found.message}", found.status, found)

        policy = self._policy() if retry else self._policy().once()
        return policy.call(action, classify, fail)

    # -- submission ----------------------------------------------------------------------
    def job_code(self, bundle: RunBundle) -> tuple[str, str, int]:
        """Inline job code: the launcher plus the bundle; returns (code, sha256, bytes)."""
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=9) as tar:
            for path in sorted(bundle.directory.rglob("*")):
                relative = path.relative_to(bundle.directory)
                if any(part in UNSHIPPED for part in relative.parts) or not path.is_file():
                    continue
                tar.add(path, arcname=relative.as_posix(), recursive=False)
        archive = buffer.getvalue()
        digest = hashlib.sha256(archive).hexdigest()
        payload = {"bundle": base64.b64encode(archive).decode("ascii"), "sha256": digest,
                   "run_id": bundle.run_id, "spynnaker_cfg": self.spynnaker_cfg()}
        source = Path(nmpi_launcher.__file__).read_text(encoding="utf-8")
        code = (f"{source}\n\nif __name__ == \"__main__\":\n"
                f"    sys.exit(main({payload!r}))\n")
        return code, digest, len(archive)

    def job_tags(self, bundle: RunBundle) -> list[str]:
        """Tags naming the run: run id, request key, model hash, seed, plus the option's."""
        from repro.config.hashes import request_key

        key = request_key(bundle.spec.model_hash, self.identity(), bundle.spec.seed)
        tags = ["repro", f"repro-run-{bundle.run_id}", f"repro-request-{key}",
                f"repro-model-{bundle.spec.model_hash[:16]}", f"repro-seed-{bundle.spec.seed}",
                *[str(t) for t in self.option("tags")]]
        return [t[:100] for t in tags if len(t) >= 2]

    def _find_submitted(self, run_tag: str) -> int | None:
        """Id of a job already carrying ``run_tag`` (after a submit whose reply was lost)."""
        client = self.connect()
        queued = self._call("listing queued jobs", client.queued_jobs, verbose=True)
        done = self._call("listing completed jobs", client.completed_jobs, self.collab,
                          verbose=True)
        for job in [*(queued or []), *(done or [])]:
            if run_tag in (job.get("tags") or []):
                return int(job["id"])
        return None

    def submit(self, bundle: RunBundle) -> JobHandle:
        """Submit one NMPI job for ``bundle``; never submits the same run twice."""
        if not self.collab:
            raise InputError("an nmpi target needs collab = \"<EBRAINS collab>\"",
                             field=f"targets.{self.name}.collab")
        code, digest, size = self.job_code(bundle)
        tags = self.job_tags(bundle)
        run_tag = tags[1]
        platform = str(self.option("platform"))

        def post() -> int:
            with contextlib.redirect_stdout(io.StringIO()):
                uri = client.submit_job(
                    source=code, platform=platform, collab_id=self.collab,
                    config=self.hardware_config(), command=str(self.option("command")),
                    tags=tags)
            return int(str(uri).rstrip("/").rsplit("/", 1)[-1])

        def fail(found: Classified, attempts: int) -> Exception:
            if found.fault is Fault.AUTH:
                return self._auth_error(self.job_service)
            if found.fault is Fault.TRANSIENT:
                return self._fail(f"submitting failed {attempts} times: {found.message}",
                                  found.status, found)
            return self._fail(f"NMPI refused the job: {found.message}", found.status)

        faults = FaultLog()
        with self._patient(faults):
            client = self.connect()
            # The job may exist although the reply was lost: look before resubmitting.
            job_id = self._policy().call(post, classify, fail,
                                         created=lambda: self._find_submitted(run_tag))
        info = {"nmpi_job_id": job_id, "nmpi_job_uri": f"{self.job_service}/jobs/{job_id}",
                "job_service": self.job_service, "platform": platform,
                "collab": self.collab, "hardware_config": self.hardware_config(),
                "nmpi_user": self._username, "tags": tags, "bundle_sha256": digest,
                "bundle_bytes": size, "nmpi_client": _client_version()}
        handle = JobHandle(target=self.name, job_id=str(job_id), info=info,
                           state={"model_hash": bundle.spec.model_hash,
                                  "seed": bundle.spec.seed, "faults": faults})
        record_faults(handle, faults)
        return handle

    # -- tracking ------------------------------------------------------------------------
    def status(self, handle: JobHandle) -> JobStatus:
        """Poll NMPI (at most every ``interval`` s, backing off while nothing changes).

        A failed request makes the state ``UNKNOWN`` (an outage, counted in the crate); only
        the job service's definite answer moves the run on.
        """
        def schedule() -> PollSchedule:
            return PollSchedule(float(self.option("poll_interval")),
                                float(self.option("poll_max")))

        return polled_status(handle, schedule, lambda: self._probe(handle),
                             float(self.option("outage_limit")))

    def _probe(self, handle: JobHandle) -> JobStatus:
        client = self.connect()
        try:
            job = self._call(f"tracking job {handle.job_id}", client.get_job,
                             int(handle.job_id), with_log=False, retry=False)
        except TargetError as exc:
            if "(HTTP 404)" not in str(exc) or isinstance(exc, SiteUnavailableError):
                raise
            return JobStatus(JobState.CANCELLED, f"NMPI job {handle.job_id} is gone (removed "
                                                 "from the queue or no longer visible to "
                                                 "this user)")
        nmpi_status = str(job.get("status"))
        handle.info["nmpi_status"] = nmpi_status
        mapped = STATES.get(nmpi_status)
        if mapped is None:
            return JobStatus(JobState.FAILED, f"unknown NMPI status {nmpi_status!r}")
        if mapped is JobState.FAILED:
            return JobStatus(mapped, f"NMPI job {handle.job_id} ended in status 'error'"
                                     + self._reason(handle))
        if mapped is JobState.CANCELLED:
            return JobStatus(mapped, f"NMPI job {handle.job_id} was removed from the queue")
        return JobStatus(mapped, f"NMPI job {handle.job_id}: {nmpi_status}")

    def _reason(self, handle: JobHandle) -> str:
        """``": <reason>"`` from the log of a job in status error ("" if it has none).

        Raises
        ------
        SiteUnavailableError
            If the log cannot be read now (the state stays unknown until it can).
        """
        try:
            job = self._call(f"reading the log of job {handle.job_id}",
                             self.connect().get_job, int(handle.job_id), with_log=True)
        except SiteUnavailableError:
            raise
        except TargetError:
            return ""
        reason = error_reason(str(job.get("log") or ""))
        return f": {reason}" if reason else ""

    # -- results -------------------------------------------------------------------------
    def fetch(self, handle: JobHandle, dest: Path) -> None:
        """Download the job's results into ``dest``; refuse unsafe names or URLs.

        Harness outputs land directly in ``dest``, the files the script wrote in
        ``dest/script_outputs/``; other result files under
        ``dest/nmpi_outputs/``; the job log in ``dest/nmpi.log``.
        """
        with self._patient(fault_log(handle)):
            self._fetch(handle, dest)
        record_faults(handle)

    def _fetch(self, handle: JobHandle, dest: Path) -> None:
        client = self.connect()
        job = self._call(f"reading job {handle.job_id}", client.get_job, int(handle.job_id),
                         with_log=True)
        self._record_job(handle, job)
        dest.mkdir(parents=True, exist_ok=True)
        if job.get("log"):
            (dest / "nmpi.log").write_text(str(job["log"]), encoding="utf-8")
        items = list((job.get("output_data") or {}).get("files") or [])
        unsafe = [item.get("path") for item in items if safe_relative(item.get("path")) is None
                  or urlsplit(str(item.get("url", ""))).scheme not in ("http", "https")]
        if unsafe:
            raise self._fail(f"NMPI job {handle.job_id} lists result files with unsafe names "
                             f"or URLs {unsafe!r}; refused, nothing was downloaded")
        staging = dest / ".nmpi-download"
        shutil.rmtree(staging, ignore_errors=True)
        try:
            self._call(f"downloading results of job {handle.job_id}", client.download_data,
                       {"output_data": {"files": items}}, local_dir=str(staging))
            self._place(handle, items, staging, dest)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        self._parse_outputs(handle, dest)
        self._tag_run_key(handle, dest)

    def _tag_run_key(self, handle: JobHandle, dest: Path) -> None:
        """Tag the job with the run key, known once the site's environment is."""
        from repro.config.hashes import run_key
        from repro.site.envinfo import environment_digest

        manifest = read_json(dest / ENVIRONMENT)
        if not manifest or "model_hash" not in handle.state:
            return
        key = run_key(handle.state["model_hash"], self.identity(), handle.state["seed"],
                      environment_digest(manifest))
        tag = f"repro-key-{key}"
        try:
            self._call(f"tagging job {handle.job_id}", self.connect().add_tags,
                       int(handle.job_id), [tag], retry=False)
        except TargetError as exc:
            handle.info["run_key_tag_error"] = str(exc)
            return
        handle.info["tags"] = [*handle.info.get("tags", []), tag]

    def _record_job(self, handle: JobHandle, job: dict[str, Any]) -> None:
        usage = job.get("resource_usage") or {}
        handle.info.update({
            "nmpi_status": job.get("status"),
            "nmpi_user": job.get("user_id") or handle.info.get("nmpi_user", ""),
            "timestamp_submission": job.get("timestamp_submission"),
            "timestamp_completion": job.get("timestamp_completion"),
            "resource_usage": usage or None,
            "resource_usage_value": usage.get("value"),
            "resource_usage_units": usage.get("units"),
            "nmpi_provenance": job.get("provenance"),
        })
        system = (job.get("provenance") or {}).get("system")
        if system:
            handle.info["nmpi_system"] = system

    def _place(self, handle: JobHandle, items: list[dict[str, Any]], staging: Path,
               dest: Path) -> None:
        harness_names = FETCHED_OUTPUTS
        for item in items:
            relative = safe_relative(item["path"])
            assert relative is not None
            source = staging / relative
            expected = item.get("hash")
            if expected and hashlib.sha1(source.read_bytes()).hexdigest() != expected:
                raise self._fail(f"result file {item['path']!r} of job {handle.job_id} does "
                                 "not match its sha1")
            if relative.parent.name == nmpi_launcher.OUTPUT_DIR and \
                    relative.name in harness_names:
                target = dest / relative.name
            elif (kept := _script_output(relative)) is not None:
                target = dest / kept
            else:
                target = dest / "nmpi_outputs" / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(source, target)

    def _parse_outputs(self, handle: JobHandle, dest: Path) -> None:
        """Record harness status, the executing platform and provenance counters."""
        result = read_json(dest / RESULT) or {}
        environment = read_json(dest / ENVIRONMENT) or {}
        simulator = environment.get("simulator") or {}
        handle.info["harness_status"] = result.get("status", "missing")
        handle.info["harness_backend"] = result.get("backend")
        name = simulator.get("name") or simulator.get("pynn_backend")
        if name:
            version = simulator.get("version") or simulator.get("emulated_version") or ""
            handle.info["execution_platform"] = f"{name} {version}".strip()
        server = handle.info.get("nmpi_provenance") or {}
        if server.get("emulated") or simulator.get("emulated") or \
                "emulat" in str(name).lower():
            by = handle.info.get("execution_platform") or server.get("system") or "an emulator"
            handle.info["emulated_platform"] = f"{handle.info.get('platform')} emulated by {by}"
        provenance = read_json(dest / PROVENANCE)
        if provenance is not None:
            counters = summarise_provenance(provenance)
            handle.info["hardware_provenance"] = counters
            for key, value in counters.items():
                handle.info[f"provenance_{key}"] = value

    def cancel(self, handle: JobHandle) -> None:
        """Remove the job from the queue (``DELETE /jobs/{id}``; the client has no method)."""
        client = self.connect()
        try:
            self._call(f"removing job {handle.job_id}", client._delete,
                       client._get_job_uri(int(handle.job_id)), retry=False)
        except TargetError as exc:
            if "HTTP 404" not in str(exc):
                raise

    # -- pre-flight ----------------------------------------------------------------------
    def check(self, experiment: Any = None) -> str:
        """Token, identity, job service, collab rights and (SpiNNaker) virtual-board mapping.

        Raises
        ------
        AuthenticationError, TargetError, InputError
            For the first problem found.
        """
        if not self.collab:
            raise InputError("an nmpi target needs collab = \"<EBRAINS collab>\"",
                             field=f"targets.{self.name}.collab")
        client = self.connect()
        about = self._call("reading the job service", client.get_server_info)
        collabs = client.my_collabs()
        if self.collab not in collabs and self.collab != f"private-{self._username}":
            raise self._fail(f"user {self._username!r} is not a member of collab "
                             f"{self.collab!r} (member of: {', '.join(collabs) or 'none'})")
        parts = [f"user {self._username} (token from {self._token_source})",
                 f"job queue API v{about.get('version', '?')} at {self.job_service}",
                 f"collab {self.collab}", f"platform {self.option('platform')}"]
        if experiment is not None and self.option("preflight") and \
                str(self.option("platform")) == "SpiNNaker":
            from repro.targets.spinnaker_virtual import experiment_request, map_network

            report = map_network(experiment_request(experiment, self.timestep),
                                 extra_cfg=self.spynnaker_cfg())
            if report.status not in ("mapped", "not_installed"):
                raise self._fail(f"the network would fail on SpiNNaker: {report.summary()}")
            parts.append(report.summary() if report.status == "mapped" else
                         f"virtual-board pre-flight skipped: {report.summary()}")
        return "; ".join(parts)


def _classify_identity(exc: BaseException) -> Classified | None:
    """Failures of the userinfo request: 5xx and connection problems are transient."""
    if isinstance(exc, requests.exceptions.HTTPError) and exc.response is not None:
        return Classified(Fault.TRANSIENT, str(exc), exc.response.status_code)
    if isinstance(exc, requests.exceptions.RequestException):
        return Classified(Fault.TRANSIENT, type(exc).__name__)
    return None


def _client_version() -> str:
    try:
        import nmpi

        return f"nmpi {nmpi.__version__}"
    except (ImportError, AttributeError):
        return "nmpi"
