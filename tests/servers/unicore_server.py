"""A protocol-faithful local UNICORE/X server (REST API as pyunicore 2.0.2 uses it) for tests.

Follows ``shared/docs/remote-apis.md`` part A: site entry point, jobs (``Location`` header,
the eight status values only, ``exitCode`` as a string, ``log``, actions, DELETE), job
working directories as ``<jobId>-uspace`` storages with ``resourceStatus: READY``, the files
endpoint dispatching on ``Accept`` (JSON listing/stat vs. raw bytes with ``Range`` support),
uploads, security sessions (echoed on every response, 432 for unknown ids), bearer JWTs
(HS256, checked for expiry: an expired token gets 403) and a registry served over TLS with a
self-signed certificate. Jobs really run on this machine (see :mod:`unicore_jobs`).

Test controls live under ``/__admin__/`` (fault injection: 5xx answers and dropped
connections before or after a request is processed, rejected tokens, forgotten sessions,
hostile names in directory listings, login-node commands that fail as on a broken site;
the request log). They are not part of UNICORE.

Run as ``python -m tests.servers.unicore_server CONFIG.json``; it writes ``ready.json``
(ports, pid) into its root directory once it listens, and stops on SIGTERM.
"""

from __future__ import annotations

import base64
import contextlib
import json
import mimetypes
import os
import re
import shutil
import signal
import ssl
import sys
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import jwt

from tests.servers.unicore_jobs import (
    JobRecord,
    JobRunner,
    SiteSettings,
    new_job_id,
    timestamp,
)

REGISTRY_PATH = "/REGISTRY/rest/registries/default_registry"
SESSION_LIFETIME_MS = 8 * 3600 * 1000
SERVER_VERSION = "10.1.0"


class HTTPFailureError(Exception):
    """An error answer: JSON ``{"errorMessage", "status"}`` with the given status."""

    def __init__(self, status: int, message: str, *, bare: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.bare = bare


@dataclass
class Response:
    """An answer before it is written (so faults can replace it after processing)."""

    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: dict[str, str] | None = None


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    """A JSON answer."""
    return Response(status, json.dumps(payload).encode(), "application/json", headers)


@dataclass
class User:
    """An account of the test site."""

    uid: str
    dn: str
    password: str = ""


class Faults:
    """Fault-injection switches set through ``/__admin__/faults``."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rules: list[dict[str, Any]] = []
        self.hostile_names: list[str] = []
        self.reject_tokens = False
        self.login_failures: list[dict[str, Any]] = []

    def login_failure(self, executable: str) -> dict[str, Any] | None:
        """The first ``login_failures`` rule for this login-node command (count decremented).

        A rule ``{"executable": "squeue", "times": 2, "exit": 1, "stderr": "..."}`` makes that
        command fail on the login node the way a broken site configuration does.
        """
        with self.lock:
            for rule in self.login_failures:
                if rule.get("executable") == executable and rule.get("times", 1) > 0:
                    rule["times"] = rule.get("times", 1) - 1
                    return dict(rule)
        return None

    def take(self, method: str, path: str, phase: str) -> dict[str, Any] | None:
        """The first rule matching this request and phase (its count is decremented)."""
        with self.lock:
            for rule in self.rules:
                if (rule.get("phase", "before") == phase
                        and rule.get("method", method).upper() == method
                        and re.search(rule.get("path", ""), path)
                        and rule.get("times", 1) > 0):
                    rule["times"] = rule.get("times", 1) - 1
                    return dict(rule)
        return None


class UnicoreSite:
    """State of the test server: users, sessions, jobs, storages."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.site_name = config["site"]
        self.root = Path(config["root"])
        self.jobs_dir = self.root / "jobs"
        self.home_dir = self.root / "home"
        self.jobs_dir.mkdir(parents=True, exist_ok=True)
        self.home_dir.mkdir(parents=True, exist_ok=True)
        self.token_secret = config["token_secret"]
        self.users = {name: User(**fields) for name, fields in config["users"].items()}
        self.sessions: dict[str, tuple[str, datetime]] = {}
        self.jobs: dict[str, JobRecord] = {}
        self.lock = threading.RLock()
        self.faults = Faults()
        self.requests: list[dict[str, Any]] = []
        self.log = (self.root / "server.log").open("a", buffering=1)
        self.up_since = timestamp()
        self.runner = JobRunner(SiteSettings(
            site_name=self.site_name, partitions=tuple(config.get("partitions", ["batch"])),
            environment=dict(config["environment"]),
            slurm_poll=float(config.get("slurm_poll", 0.5))), self.faults.login_failure)

    # -- authentication ---------------------------------------------------------------------
    def user_of_token(self, token: str) -> User:
        """Validate a bearer JWT (HS256, ``sub`` = user name, ``exp`` checked)."""
        if self.faults.reject_tokens:
            raise HTTPFailureError(403, "Authentication failed: the access token has expired")
        try:
            claims = jwt.decode(token, self.token_secret, algorithms=["HS256"])
        except jwt.ExpiredSignatureError as exc:
            raise HTTPFailureError(403, "Authentication failed: the access token has expired") \
                from exc
        except jwt.PyJWTError as exc:
            raise HTTPFailureError(403, "Authentication failed: invalid access token") from exc
        user = self.users.get(str(claims.get("sub")))
        if user is None:
            raise HTTPFailureError(403, "Authentication failed: unknown user")
        return user

    def authenticate(self, headers: Any) -> tuple[User | None, str | None]:
        """(user or None for anonymous, security session id to echo)."""
        session = headers.get("X-UNICORE-SecuritySession")
        now = datetime.now()
        if session:
            with self.lock:
                known = self.sessions.get(session)
            if known is None or known[1] < now:
                raise HTTPFailureError(432, "Invalid or expired security session")
            return self.users[known[0]], session
        auth = headers.get("Authorization", "")
        if not auth:
            return None, None
        scheme, _, value = auth.partition(" ")
        if scheme == "Bearer":
            user = self.user_of_token(value.strip())
        elif scheme == "Basic":
            name, _, password = base64.b64decode(value).decode(errors="replace").partition(":")
            user = self.users.get(name)
            if user is None or not user.password or user.password != password:
                raise HTTPFailureError(403, "Authentication failed: wrong user name or password")
        else:
            raise HTTPFailureError(403, f"Authentication failed: unsupported scheme '{scheme}'")
        session = uuid.uuid4().hex
        with self.lock:
            self.sessions[session] = (user.uid, now + timedelta(
                milliseconds=SESSION_LIFETIME_MS))
        return user, session

    # -- jobs -------------------------------------------------------------------------------
    def create_job(self, user: User, description: dict[str, Any]) -> JobRecord:
        """Create a job (started unless it waits for a client stage-in)."""
        job_id = new_job_id()
        workdir = self.jobs_dir / job_id
        workdir.mkdir()
        job = JobRecord(job_id=job_id, owner=user.uid, owner_dn=user.dn,
                        description=description, workdir=workdir,
                        name=str(description.get("Name", "N/A")),
                        tags=[str(t) for t in description.get("Tags", [])])
        job.note("Created")
        with self.lock:
            self.jobs[job_id] = job
        self.runner.launch(job)
        if str(description.get("haveClientStageIn", "false")).lower() != "true":
            job.started.set()
        return job

    def job(self, user: User, job_id: str) -> JobRecord:
        """The user's job or 404."""
        with self.lock:
            job = self.jobs.get(job_id)
        if job is None or job.owner != user.uid:
            raise HTTPFailureError(404, f"Job '{job_id}' not found")
        return job

    def delete_job(self, job: JobRecord) -> None:
        """Destroy the job and its working directory."""
        self.runner.abort(job)
        with self.lock:
            self.jobs.pop(job.job_id, None)
        shutil.rmtree(job.workdir, ignore_errors=True)

    def storage_root(self, user: User, storage_id: str) -> Path:
        """Mount point of a storage the user may access."""
        if storage_id == "HOME":
            return self.home_dir
        if storage_id.endswith("-uspace"):
            return self.job(user, storage_id[: -len("-uspace")]).workdir
        raise HTTPFailureError(404, f"Storage '{storage_id}' not found")

    def shutdown(self) -> None:
        """Abort every running job (login-node processes, Slurm jobs)."""
        with self.lock:
            jobs = list(self.jobs.values())
        for job in jobs:
            self.runner.abort(job)


class Handler(BaseHTTPRequestHandler):
    """One request of the UNICORE REST API (or of the test controls)."""

    protocol_version = "HTTP/1.1"
    server_version = "UNICORE-test"
    site: UnicoreSite
    scheme: str

    # -- plumbing ---------------------------------------------------------------------------
    def setup(self) -> None:
        super().setup()
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.settimeout(30)
            self.connection.do_handshake()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
        self.site.log.write(f"{timestamp()} {self.address_string()} {format % args}\n")

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def do_HEAD(self) -> None:
        self._serve("HEAD")

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _json_body(self, raw: bytes) -> Any:
        try:
            return json.loads(raw or b"{}")
        except ValueError as exc:
            raise HTTPFailureError(400, f"Malformed JSON body: {exc}") from exc

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(2)

    def _serve(self, method: str) -> None:
        url = urlsplit(self.path)
        path = url.path
        raw = self._body()
        rule = self.site.faults.take(method, path, "before")
        if rule is not None:
            self._record(method, path, "dropped" if rule["action"] == "drop" else rule["action"])
            return self._apply(rule)
        session = None
        try:
            if path.startswith("/__admin__/"):
                response = self._admin(method, path, raw)
            else:
                user, session = (None, None)
                if path != REGISTRY_PATH:
                    user, session = self.site.authenticate(self.headers)
                response = self._route(method, path, parse_qs(url.query), raw, user)
        except HTTPFailureError as failure:
            if failure.bare:
                response = Response(failure.status)
            else:
                response = json_response(failure.status, {"errorMessage": failure.message,
                                                          "status": failure.status})
        rule = self.site.faults.take(method, path, "after")
        if rule is not None:
            self._record(method, path, f"{response.status}, then "
                         + ("dropped" if rule["action"] == "drop" else rule["action"]))
            return self._apply(rule)
        if session:
            response.headers = {**(response.headers or {}),
                                "X-UNICORE-SecuritySession": session,
                                "X-UNICORE-SecuritySession-Lifetime": str(SESSION_LIFETIME_MS)}
        self._record(method, path, response.status)
        self._write(response, head=method == "HEAD")

    def _record(self, method: str, path: str, outcome: Any) -> None:
        if not path.startswith("/__admin__/"):
            with self.site.lock:
                self.site.requests.append({"method": method, "path": path,
                                           "outcome": outcome})

    def _apply(self, rule: dict[str, Any]) -> None:
        if rule["action"] == "drop":
            return self._drop()
        status = int(rule["action"])
        self._write(json_response(status, {"errorMessage": rule.get(
            "message", "Service temporarily unavailable"), "status": status}))

    def _write(self, response: Response, head: bool = False) -> None:
        self.send_response(response.status)
        if response.content_type:
            self.send_header("Content-Type", response.content_type)
        for key, value in (response.headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if not head and response.body:
            self.wfile.write(response.body)

    def url(self, path: str) -> str:
        """Absolute URL on this listener, built from the request's Host header."""
        host = self.headers.get("Host") or f"127.0.0.1:{self.server.server_address[1]}"
        return f"{self.scheme}://{host}{path}"

    def link(self, path: str, description: str | None = None) -> dict[str, str]:
        out = {"href": self.url(path)}
        if description:
            out["description"] = description
        return out

    # -- routing ----------------------------------------------------------------------------
    def _route(self, method: str, path: str, query: dict[str, list[str]], raw: bytes,
               user: User | None) -> Response:
        if path == REGISTRY_PATH and method == "GET":
            return self._registry()
        base = f"/{self.site.site_name}/rest/core"
        if path in (base, base + "/") and method == "GET":
            return self._base(user)
        if not path.startswith(base + "/"):
            raise HTTPFailureError(404, f"No such resource: {path}")
        if user is None:
            raise HTTPFailureError(403, "Access denied: please authenticate")
        parts = [unquote(p) for p in path[len(base) + 1:].split("/")]
        if parts[0] == "jobs":
            return self._jobs(method, parts[1:], query, raw, user)
        if parts[0] == "storages":
            return self._storages(method, parts[1:], query, raw, user)
        if parts[0] == "factories" and method == "GET":
            return self._factories(parts[1:])
        if parts == ["token"] and method == "GET":
            return self._issue_token(user, query)
        raise HTTPFailureError(404, f"No such resource: {path}")

    def _registry(self) -> Response:
        site_url = self.url(f"/{self.site.site_name}/rest/core")
        return json_response(200, {
            "entries": [{"href": site_url, "type": "CoreServices",
                         "ServerIdentity": "CN=UNICORE test server"}],
            "_links": {"self": self.link(REGISTRY_PATH)}})

    def _base(self, user: User | None) -> Response:
        base = f"/{self.site.site_name}/rest/core"
        role = "user" if user else "anonymous"
        client = {"dn": user.dn if user else "CN=anonymous",
                  "role": {"selected": role, "availableRoles": [role]},
                  "authenticationMethod": "TOKEN" if user else "NONE"}
        if user:
            client["xlogin"] = {"UID": user.uid, "availableUIDs": [user.uid], "group": "users",
                                "availableGroups": ["users"],
                                "selectedSupplementaryGroups": []}
        links = {name: self.link(f"{base}/{name}") for name in
                 ("jobs", "storages", "factories", "sites", "transfers")}
        return json_response(200, {
            "client": client,
            "server": {"version": SERVER_VERSION, "siteName": self.site.site_name,
                       "currentTime": timestamp(), "upSince": self.site.up_since,
                       "jobSubmission": {"enabled": True, "message": ""},
                       "credential": {"dn": "CN=UNICORE test server", "issuer": "CN=test CA",
                                      "expires": timestamp(datetime.now() + timedelta(days=365))},
                       "trustedCAs": [], "externalConnections": {}},
            "_links": links})

    def _factories(self, parts: list[str]) -> Response:
        base = f"/{self.site.site_name}/rest/core/factories"
        if not parts:
            factory = self.url(base + "/default_target_system_factory")
            return json_response(200, {"factories": [factory],
                                       "_links": {"self": self.link(base)}})
        partitions = self.site.runner.settings.partitions
        return json_response(200, {
            "applications": [], "resources": {p: {"Nodes": "1"} for p in partitions},
            "_links": {"self": self.link(f"{base}/{parts[0]}"),
                       "applications": self.link(f"{base}/{parts[0]}/applications")}})

    def _issue_token(self, user: User, query: dict[str, list[str]]) -> Response:
        """A UNICORE-issued JWT for the caller (``Client.issue_auth_token``), as plain text."""
        lifetime = int(query.get("lifetime", ["3600"])[0])
        now = datetime.now().astimezone()
        token = jwt.encode({"sub": user.uid, "iss": f"CN=UNICORE {self.site.site_name}",
                            "iat": now, "exp": now + timedelta(seconds=lifetime),
                            "renewable": query.get("renewable", ["false"])[0]},
                           self.site.token_secret, algorithm="HS256")
        return Response(200, token.encode(), "text/plain")

    # -- jobs -------------------------------------------------------------------------------
    def _jobs(self, method: str, parts: list[str], query: dict[str, list[str]], raw: bytes,
              user: User) -> Response:
        base = f"/{self.site.site_name}/rest/core/jobs"
        if not parts or parts == [""]:
            if method == "POST":
                description = self._json_body(raw)
                if not isinstance(description, dict):
                    raise HTTPFailureError(400, "Job description must be a JSON object")
                job = self.site.create_job(user, description)
                return Response(201, headers={"Location": self.url(f"{base}/{job.job_id}")})
            if method == "GET":
                return self._job_list(base, query, user)
            raise HTTPFailureError(405, f"{method} not allowed on {base}")
        job = self.site.job(user, parts[0])
        rest = parts[1:]
        if not rest:
            if method == "GET":
                return json_response(200, self._job_properties(job))
            if method == "DELETE":
                self.site.delete_job(job)
                return Response(204)
            if method == "PUT":
                return json_response(200, self._update_tags(job, self._json_body(raw)))
        elif rest[0] == "actions" and len(rest) == 2 and method == "POST":
            action = rest[1]
            if action == "start":
                job.started.set()
            elif action == "abort":
                self.site.runner.abort(job)
            elif action == "restart":
                self.site.runner.restart(job)
            else:
                raise HTTPFailureError(404, f"No such action: {action}")
            return Response(204)
        elif rest == ["details"] and method == "GET":
            return json_response(200, {"rawDetailsData": f"JobId={job.batch_id}"})
        elif rest == ["submitted"] and method == "GET":
            return json_response(200, job.description)
        raise HTTPFailureError(404, f"No such resource: {base}/{'/'.join(parts)}")

    def _job_list(self, base: str, query: dict[str, list[str]], user: User) -> Response:
        offset = int(query.get("offset", ["0"])[0])
        num = int(query.get("num", ["200"])[0])
        wanted = {t for t in ",".join(query.get("tags", [])).split(",") if t}
        with self.site.lock:
            mine = [j for j in self.site.jobs.values() if j.owner == user.uid
                    and (not wanted or wanted & set(j.tags))]
        mine.sort(key=lambda j: j.submitted)
        page = mine[offset:offset + num]
        links = {"self": self.link(base)}
        if offset + num < len(mine):
            links["next"] = self.link(f"{base}?offset={offset + num}&num={num}")
        if offset > 0:
            links["previous"] = self.link(f"{base}?offset={max(0, offset - num)}&num={num}")
        return json_response(200, {"jobs": [self.url(f"{base}/{j.job_id}") for j in page],
                                   "_links": links})

    def _update_tags(self, job: JobRecord, changes: dict[str, Any]) -> dict[str, str]:
        reply = {}
        for key, value in changes.items():
            if key == "tags":
                job.tags = [str(t) for t in value]
                reply[key] = "OK"
            else:
                reply[key] = "Property not found or cannot be modified!"
        return reply

    def _job_properties(self, job: JobRecord) -> dict[str, Any]:
        site = self.site.site_name
        jpath = f"/{site}/rest/core/jobs/{job.job_id}"
        props: dict[str, Any] = {
            "status": job.status, "statusMessage": job.status_message,
            "submissionTime": timestamp(job.submitted),
            "terminationTime": timestamp(job.termination), "name": job.name,
            "queue": job.queue, "batchSystemID": job.batch_id, "jobType": job.job_type,
            "log": list(job.log), "consumedTime": {"total": "0"},
            "submissionPreferences": {}, "owner": job.owner_dn, "acl": [],
            "tags": list(job.tags), "resourceStatus": "READY",
            "_links": {
                "self": self.link(jpath),
                "action:start": self.link(jpath + "/actions/start"),
                "action:abort": self.link(jpath + "/actions/abort"),
                "action:restart": self.link(jpath + "/actions/restart"),
                "details": self.link(jpath + "/details"),
                "submitted": self.link(jpath + "/submitted"),
                "workingDirectory": self.link(f"/{site}/rest/core/storages/"
                                              f"{job.job_id}-uspace"),
                "parentTSS": self.link(f"/{site}/rest/core/sites/default"),
            },
        }
        if job.exit_code is not None:
            props["exitCode"] = str(job.exit_code)
        return props

    # -- storages and files -----------------------------------------------------------------
    def _storages(self, method: str, parts: list[str], query: dict[str, list[str]],
                  raw: bytes, user: User) -> Response:
        base = f"/{self.site.site_name}/rest/core/storages"
        if not parts or parts == [""]:
            names = ["HOME"]
            if query.get("filter", [""])[0] == "all":
                with self.site.lock:
                    names += [f"{j.job_id}-uspace" for j in self.site.jobs.values()
                              if j.owner == user.uid]
            return json_response(200, {"storages": [self.url(f"{base}/{n}") for n in names],
                                       "_links": {"self": self.link(base)}})
        storage_id = parts[0]
        root = self.site.storage_root(user, storage_id)
        spath = f"{base}/{storage_id}"
        if len(parts) == 1 and method == "GET":
            return json_response(200, self._storage_properties(spath, storage_id, root))
        if parts[1] == "files":
            return self._files(method, spath, storage_id, root, "/".join(parts[2:]), raw)
        if parts[1] == "actions" and len(parts) == 3 and method == "POST":
            return self._storage_action(parts[2], root, self._json_body(raw))
        raise HTTPFailureError(404, f"No such resource: {spath}/{'/'.join(parts[1:])}")

    def _storage_properties(self, spath: str, storage_id: str, root: Path) -> dict[str, Any]:
        usage = shutil.disk_usage(root)
        links = {"self": self.link(spath), "files": self.link(spath + "/files"),
                 "action:copy": self.link(spath + "/actions/copy"),
                 "action:rename": self.link(spath + "/actions/rename")}
        if storage_id.endswith("-uspace"):
            job_id = storage_id[: -len("-uspace")]
            links["job"] = self.link(f"/{self.site.site_name}/rest/core/jobs/{job_id}")
        return {"resourceStatus": "READY", "resourceStatusMessage": "N/A",
                "mountPoint": str(root) + "/", "umask": "77", "protocols": ["BFT"],
                "description": "Job's workspace" if storage_id.endswith("-uspace")
                else "Home", "freeSpace": usage.free, "metadataSupported": False,
                "owner": "", "acl": [], "tags": [], "_links": links}

    def _resolve(self, root: Path, relative: str) -> Path:
        relative = relative.strip("/")
        target = (root / relative).resolve() if relative not in ("", ".") else root.resolve()
        if target != root.resolve() and root.resolve() not in target.parents:
            raise HTTPFailureError(403, f"Path '{relative}' is outside the storage")
        return target

    def _stat(self, path: Path) -> dict[str, Any]:
        info = path.stat()
        return {"isDirectory": path.is_dir(), "size": 0 if path.is_dir() else info.st_size,
                "owner": "demouser", "group": "users",
                "permissions": "rwx------" if path.is_dir() else "rw-------",
                "lastAccessed": timestamp(datetime.fromtimestamp(info.st_mtime))}

    def _files(self, method: str, spath: str, storage_id: str, root: Path, relative: str,
               raw: bytes) -> Response:
        target = self._resolve(root, relative)
        rel = target.relative_to(root.resolve()).as_posix()
        rel = "" if rel == "." else rel
        accept = self.headers.get("Accept", "application/json")
        content_type = self.headers.get("Content-Type", "")
        if method == "GET" and "application/octet-stream" in accept:
            if not target.exists():
                raise HTTPFailureError(404, "", bare=True)
            if target.is_dir():
                raise HTTPFailureError(406, f"'{rel}' is a directory")
            return self._download(target)
        if method in ("GET", "HEAD"):
            if not target.exists():
                raise HTTPFailureError(404, f"File '{rel}' not found")
            props = self._stat(target)
            props["metadata"] = {}
            props["_links"] = {"self": self.link(f"{spath}/files/{quote(rel)}".rstrip("/"))}
            if target.is_dir():
                props["content"] = self._listing(target, root.resolve(), storage_id)
                return json_response(200, props)
            return json_response(200, props, {"Accept-Ranges": "bytes"})
        if method == "PUT":
            if "application/json" in content_type:
                return json_response(200, {k: "Property not found or cannot be modified!"
                                           for k in self._json_body(raw)})
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(raw)
            return Response(204)
        if method == "POST":
            target.mkdir(parents=True, exist_ok=True)
            return Response(201, headers={"Location": self.url(f"{spath}/files/{quote(rel)}")})
        if method == "DELETE":
            if not target.exists():
                raise HTTPFailureError(404, f"File '{rel}' not found")
            if target.is_dir():
                shutil.rmtree(target)
            else:
                target.unlink()
            return Response(204)
        raise HTTPFailureError(405, f"{method} not allowed on files")

    def _listing(self, directory: Path, root: Path, storage_id: str) -> dict[str, Any]:
        content: dict[str, Any] = {}
        for entry in sorted(directory.iterdir()):
            key = "/" + entry.relative_to(root).as_posix() + ("/" if entry.is_dir() else "")
            content[key] = self._stat(entry)
        if storage_id.endswith("-uspace"):
            rel = directory.relative_to(root).as_posix()
            prefix = "/" if rel == "." else f"/{rel}/"
            for name in self.site.faults.hostile_names:
                content[prefix + name] = {"isDirectory": False, "size": 4, "owner": "demouser",
                                          "group": "users", "permissions": "rw-------",
                                          "lastAccessed": timestamp()}
        return content

    def _download(self, target: Path) -> Response:
        data = target.read_bytes()
        ctype = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        spec = self.headers.get("Range")
        if not spec:
            return Response(200, data, ctype, {"Accept-Ranges": "bytes"})
        match = re.fullmatch(r"bytes=(\d*)-(\d*)", spec.strip())
        if match is None or match.groups() == ("", ""):
            raise HTTPFailureError(416, f"Invalid range '{spec}'")
        first, last = match.groups()
        size = len(data)
        if first == "":
            start, end = max(0, size - int(last)), size - 1
        else:
            start = int(first)
            end = min(size - 1, int(last)) if last else size - 1
        if start >= size or start > end:
            raise HTTPFailureError(416, f"Range '{spec}' not satisfiable (size {size})")
        return Response(206, data[start:end + 1], ctype,
                        {"Accept-Ranges": "bytes",
                         "Content-Range": f"bytes {start}-{end}/{size}"})

    def _storage_action(self, action: str, root: Path, body: dict[str, Any]) -> Response:
        if not body.get("from") or not body.get("to"):
            raise HTTPFailureError(400, "Parameters 'from' and 'to' are required")
        source = self._resolve(root, str(body["from"]))
        dest = self._resolve(root, str(body["to"]))
        if not source.exists():
            raise HTTPFailureError(404, f"File '{body['from']}' not found")
        dest.parent.mkdir(parents=True, exist_ok=True)
        if action == "rename":
            source.rename(dest)
        elif action == "copy":
            if source.is_dir():
                shutil.copytree(source, dest)
            else:
                shutil.copy2(source, dest)
        else:
            raise HTTPFailureError(404, f"No such action: {action}")
        return Response(204)

    # -- test controls ----------------------------------------------------------------------
    def _admin(self, method: str, path: str, raw: bytes) -> Response:
        site = self.site
        if path == "/__admin__/faults" and method == "POST":
            body = self._json_body(raw)
            with site.faults.lock:
                site.faults.rules = list(body.get("rules", []))
                site.faults.hostile_names = list(body.get("hostile_names", []))
                site.faults.reject_tokens = bool(body.get("reject_tokens", False))
                site.faults.login_failures = list(body.get("login_failures", []))
            if body.get("drop_sessions"):
                with site.lock:
                    site.sessions.clear()
            return Response(204)
        if path == "/__admin__/requests" and method == "GET":
            with site.lock:
                return json_response(200, {"requests": list(site.requests)})
        if path == "/__admin__/reset" and method == "POST":
            with site.faults.lock:
                site.faults.rules, site.faults.hostile_names = [], []
                site.faults.reject_tokens = False
                site.faults.login_failures = []
            with site.lock:
                site.requests.clear()
            return Response(204)
        if path == "/__admin__/jobs" and method == "GET":
            with site.lock:
                return json_response(200, {"jobs": [
                    {"id": j.job_id, "status": j.status, "tags": j.tags,
                     "batchSystemID": j.batch_id} for j in site.jobs.values()]})
        raise HTTPFailureError(404, f"No such control: {path}")


def serve(config: dict[str, Any]) -> None:
    """Listen on an http and an https port until SIGTERM, then abort running jobs."""
    site = UnicoreSite(config)
    host = config.get("host", "127.0.0.1")
    servers = []
    for scheme, port in (("http", config.get("http_port", 0)),
                         ("https", config.get("https_port", 0))):
        handler = type(f"{scheme.title()}Handler", (Handler,), {"site": site,
                                                               "scheme": scheme})
        server = ThreadingHTTPServer((host, int(port)), handler)
        server.daemon_threads = True
        if scheme == "https":
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(config["cert"], config["key"])
            server.socket = context.wrap_socket(server.socket, server_side=True,
                                                do_handshake_on_connect=False)
        servers.append((scheme, server))
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for _, s in servers]
    for thread in threads:
        thread.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    ready = {f"{scheme}_port": s.server_address[1] for scheme, s in servers}
    ready["pid"] = os.getpid()
    tmp = site.root / "ready.json.part"
    tmp.write_text(json.dumps(ready))
    tmp.rename(site.root / "ready.json")
    stop.wait()
    for _, server in servers:
        server.shutdown()
    site.shutdown()
    site.log.close()


def main() -> None:
    """Entry point: ``python -m tests.servers.unicore_server CONFIG.json``."""
    config = json.loads(Path(sys.argv[1]).read_text())
    serve(config)


if __name__ == "__main__":
    main()
