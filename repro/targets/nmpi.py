"""The ``nmpi`` target: runs on the EBRAINS Neuromorphic Computing Platform (SpiNNaker).

Everything goes through the unmodified ``nmpi`` 0.11.2 client (``remote-apis.md`` part B).
A run is shipped as one NMPI job whose inline ``code`` is :mod:`repro.targets.nmpi_launcher`
with the run bundle (harness, network, run spec) attached as a base64 ``.tar.gz``: inline
code is the one way the 0.11.2 client can ship files without an EBRAINS Drive upload (its
``inputs`` argument is broken). The job carries ``platform``, the collab (always a string),
``hardware_config`` (sPyNNaker version and extra settings) and tags naming the run.

Client quirks handled here:

* the token comes from ``$EBRAINS_TOKEN`` / ``$NMPI_TOKEN`` (or the variable named by the
  ``token_env`` option) or from the EBRAINS JupyterLab helper, and is passed as ``token=``;
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
import json
import os
import re
import shutil
import tarfile
import time
import urllib.error
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar
from urllib.parse import urlsplit

import requests

from repro.errors import AuthenticationError, InputError, TargetError
from repro.targets import nmpi_launcher
from repro.targets.base import (
    HARNESS_OUTPUTS,
    PROVENANCE_OUTPUT,
    JobHandle,
    JobState,
    JobStatus,
    RunBundle,
    Target,
)

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
        Name of an environment variable to read first (the ``token_env`` option).
    """
    for name in (variable, *TOKEN_VARIABLES):
        if name and os.environ.get(name, "").strip():
            return os.environ[name].strip(), f"${name}"
    try:
        from clb_nb_utils import oauth  # EBRAINS JupyterLab
    except ImportError:
        return None, ""
    token = oauth.get_token()
    return (token, "EBRAINS JupyterLab (clb_nb_utils)") if token else (None, "")


def classify(exc: BaseException) -> tuple[str, int | None, str]:
    """Sort a client exception into ``auth``, ``transient``, ``missing`` or ``fatal``.

    Returns
    -------
    tuple
        (category, HTTP status or None, message)
    """
    if isinstance(exc, AuthenticationError):
        return "auth", 401, str(exc)
    if isinstance(exc, requests.exceptions.ConnectionError | requests.exceptions.Timeout |
                  requests.exceptions.ChunkedEncodingError):
        return "transient", None, f"connection failed ({type(exc).__name__})"
    if isinstance(exc, urllib.error.HTTPError):  # result downloads go through urllib
        category = "transient" if exc.code >= 500 or exc.code == 429 else "fatal"
        return category, exc.code, f"download failed: {exc.reason}"
    if isinstance(exc, urllib.error.URLError | urllib.error.ContentTooShortError |
                  ConnectionError | TimeoutError):
        return "transient", None, f"download failed ({type(exc).__name__})"
    text = str(exc)
    if text.startswith("No such job"):
        return "missing", 404, text
    match = _ERROR.match(text)
    if match is None:
        return "fatal", None, f"{type(exc).__name__}: {text}"
    status, message = int(match.group(1)), match.group(2).strip()
    if status == 401 or (status == 403 and "Not authenticated" in message):
        return "auth", status, message
    if status >= 500 or status == 429:
        return "transient", status, message[:200]
    if status == 404:
        return "missing", status, message
    return "fatal", status, message


def safe_relative(path: Any) -> PurePosixPath | None:
    """``path`` as a relative POSIX path that cannot leave its base directory, else None."""
    if not isinstance(path, str) or not path or "\\" in path or "\x00" in path:
        return None
    pure = PurePosixPath(path)
    if pure.is_absolute() or path.startswith("~") or any(p in ("..", "") for p in
                                                          path.split("/")):
        return None
    return pure


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

    Options (TOML): ``url`` (job service), ``user_info_url``, ``collab`` (required),
    ``platform``, ``spynnaker_version``, ``config`` (extra ``hardware_config``), ``command``,
    ``tags``, ``token_env``, ``poll_interval`` / ``poll_max`` (s), ``retries``, ``verify``,
    ``preflight`` (map on a virtual board in ``check``), ``timestep`` (default 1 ms),
    ``spynnaker_cfg`` (``{section: {key: value}}`` shipped as the job's local
    ``spynnaker.cfg``).
    The token is never an option.
    """

    kind: ClassVar[str] = "nmpi"
    backend: ClassVar[str] = nmpi_launcher.HARDWARE_BACKEND[0]
    option_types = {
        **Target.option_types,
        "timestep": ((int, float), 1.0),
        "url": (str, DEFAULT_JOB_SERVICE),
        "user_info_url": (str, DEFAULT_USER_INFO),
        "collab": ((str, int), ""),
        "platform": (str, "SpiNNaker"),
        "spynnaker_version": (str, "7.4.1"),
        "config": (dict, {}),
        "command": (str, "run.py {system}"),
        "tags": (list, []),
        "token_env": (str, ""),
        "poll_interval": ((int, float), 2.0),
        "poll_max": ((int, float), 60.0),
        "retries": (int, 6),
        "verify": (bool, True),
        "preflight": (bool, True),
        "spynnaker_cfg": (dict, {}),
    }
    run_neutral_options = Target.run_neutral_options | {
        "user_info_url", "tags", "token_env", "poll_interval", "poll_max", "retries",
        "verify", "preflight"}

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
    def _fail(self, message: str, status: int | None = None) -> TargetError:
        code = f" (HTTP {status})" if status else ""
        return TargetError(f"target {self.name!r}: {message}{code}")

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
        token, source = token_from_environment(str(self.option("token_env")))
        if not token:
            names = " or ".join(f"${v}" for v in filter(None, (self.option("token_env"),
                                                             *TOKEN_VARIABLES)))
            raise AuthenticationError(
                f"target {self.name!r}: no EBRAINS access token; export it as {names} "
                "(tokens never go into TOML files)")
        user_info_url = str(self.option("user_info_url"))
        self._check_token(token, user_info_url)
        import nmpi.nmpi_user

        nmpi.nmpi_user.TOKENFILE = os.devnull
        nmpi.nmpi_user.getpass = NoPrompt
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                client = nmpi.Client(token=token, job_service=self.job_service,
                                     user_info_endpoint=user_info_url,
                                     verify=bool(self.option("verify")))
        except Exception as exc:
            category, status, message = classify(exc)
            if category == "auth":
                raise self._auth_error(user_info_url) from None
            raise self._fail(f"cannot start the nmpi client: {message}", status) from None
        self._client = client
        self._username = client.user_info.get("username", "")
        self._token_source = source
        return client

    def _check_token(self, token: str, user_info_url: str) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        for attempt in range(int(self.option("retries")) + 1):
            try:
                reply = requests.get(user_info_url, headers=headers, timeout=30)
            except requests.exceptions.RequestException as exc:
                if attempt == int(self.option("retries")):
                    raise self._fail(f"cannot reach the EBRAINS identity service "
                                     f"{user_info_url} ({type(exc).__name__})") from None
                time.sleep(self._backoff(attempt))
                continue
            if reply.status_code in (401, 403):
                raise self._auth_error(user_info_url)
            if reply.status_code < 500:
                return
            if attempt == int(self.option("retries")):
                raise self._fail(f"the identity service {user_info_url} keeps failing",
                                 reply.status_code)
            time.sleep(self._backoff(attempt))

    def _backoff(self, attempt: int) -> float:
        return min(float(self.option("poll_max")),
                   float(self.option("poll_interval")) * 0.5 * 2 ** attempt)

    def _call(self, what: str, function: Any, *args: Any, retry: bool = True,
              **kwargs: Any) -> Any:
        """Call the client; retry transient failures (only where ``retry``); map errors."""
        attempts = int(self.option("retries")) + 1 if retry else 1
        for attempt in range(attempts):
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    return function(*args, **kwargs)
            except Exception as exc:
                category, status, message = classify(exc)
                if category == "auth":
                    raise self._auth_error(self.job_service) from None
                if category != "transient" or attempt == attempts - 1:
                    raise self._fail(f"{what} failed: {message}", status) from exc
                time.sleep(self._backoff(attempt))
        raise AssertionError("unreachable")

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
        client = self.connect()
        code, digest, size = self.job_code(bundle)
        tags = self.job_tags(bundle)
        run_tag = tags[1]
        platform = str(self.option("platform"))
        attempts = int(self.option("retries")) + 1
        job_id: int | None = None
        for attempt in range(attempts):
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    uri = client.submit_job(
                        source=code, platform=platform, collab_id=self.collab,
                        config=self.hardware_config(), command=str(self.option("command")),
                        tags=tags)
                job_id = int(str(uri).rstrip("/").rsplit("/", 1)[-1])
                break
            except Exception as exc:
                category, status, message = classify(exc)
                if category == "auth":
                    raise self._auth_error(self.job_service) from None
                if category != "transient":
                    raise self._fail(f"NMPI refused the job: {message}", status) from None
                # The job may exist although the reply was lost: look before resubmitting.
                job_id = self._find_submitted(run_tag)
                if job_id is not None:
                    break
                if attempt == attempts - 1:
                    raise self._fail(f"submitting failed {attempts} times: {message}",
                                     status) from None
                time.sleep(self._backoff(attempt))
        assert job_id is not None
        info = {"nmpi_job_id": job_id, "nmpi_job_uri": f"{self.job_service}/jobs/{job_id}",
                "job_service": self.job_service, "platform": platform,
                "collab": self.collab, "hardware_config": self.hardware_config(),
                "nmpi_user": self._username, "tags": tags, "bundle_sha256": digest,
                "bundle_bytes": size, "nmpi_client": _client_version()}
        return JobHandle(target=self.name, job_id=str(job_id), info=info,
                         state={"model_hash": bundle.spec.model_hash, "seed": bundle.spec.seed,
                                "status": JobStatus(JobState.QUEUED), "next_poll": 0.0,
                                "interval": float(self.option("poll_interval")),
                                "failures": 0})

    # -- tracking ------------------------------------------------------------------------
    def status(self, handle: JobHandle) -> JobStatus:
        """Poll NMPI (at most every ``interval`` s, backing off while nothing changes)."""
        state = handle.state
        now = time.monotonic()
        if now < state["next_poll"]:
            return state["status"]
        client = self.connect()
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                job = client.get_job(int(handle.job_id), with_log=False)
        except Exception as exc:
            category, status, message = classify(exc)
            if category == "auth":
                raise self._auth_error(self.job_service) from None
            if category == "missing":
                return self._remember(handle, JobStatus(
                    JobState.CANCELLED, f"NMPI job {handle.job_id} is gone (removed from the "
                                        "queue or no longer visible to this user)"), now)
            if category == "transient":
                state["failures"] += 1
                if state["failures"] > int(self.option("retries")):
                    raise self._fail(f"NMPI keeps failing while tracking job {handle.job_id}: "
                                     f"{message}", status) from None
                state["next_poll"] = now + self._backoff(state["failures"])
                return state["status"]
            raise self._fail(f"tracking job {handle.job_id} failed: {message}",
                             status) from None
        state["failures"] = 0
        nmpi_status = str(job.get("status"))
        handle.info["nmpi_status"] = nmpi_status
        mapped = STATES.get(nmpi_status)
        if mapped is None:
            return self._remember(handle, JobStatus(JobState.FAILED,
                                                    f"unknown NMPI status {nmpi_status!r}"), now)
        message = {JobState.FAILED: f"NMPI job {handle.job_id} ended in status 'error'",
                   JobState.CANCELLED: f"NMPI job {handle.job_id} was removed from the queue"
                   }.get(mapped, f"NMPI job {handle.job_id}: {nmpi_status}")
        return self._remember(handle, JobStatus(mapped, message), now)

    def _remember(self, handle: JobHandle, status: JobStatus, now: float) -> JobStatus:
        state = handle.state
        if status.state == state["status"].state:
            state["interval"] = min(float(self.option("poll_max")), state["interval"] * 1.5)
        else:
            state["interval"] = float(self.option("poll_interval"))
        state["status"] = status
        state["next_poll"] = now + state["interval"]
        return status

    # -- results -------------------------------------------------------------------------
    def fetch(self, handle: JobHandle, dest: Path) -> None:
        """Download the job's results into ``dest``; refuse unsafe names or URLs.

        Harness outputs land directly in ``dest``; other result files under
        ``dest/nmpi_outputs/``; the job log in ``dest/nmpi.log``.
        """
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

        manifest = _read_json(dest / "environment.json")
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
        harness_names = (*HARNESS_OUTPUTS, PROVENANCE_OUTPUT)
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
            else:
                target = dest / "nmpi_outputs" / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(source, target)

    def _parse_outputs(self, handle: JobHandle, dest: Path) -> None:
        """Record harness status, the executing platform and provenance counters."""
        result = _read_json(dest / "result.json") or {}
        environment = _read_json(dest / "environment.json") or {}
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
        provenance = _read_json(dest / PROVENANCE_OUTPUT)
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


def _client_version() -> str:
    try:
        import nmpi

        return f"nmpi {nmpi.__version__}"
    except (ImportError, AttributeError):
        return "nmpi"


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
