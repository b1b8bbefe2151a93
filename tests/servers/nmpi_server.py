"""A local EBRAINS NMPI job queue (API v3) on 127.0.0.1 that really runs the jobs it accepts.

Follows ``remote-apis.md`` part B closely enough for the unmodified ``nmpi`` 0.11.2 client:
bearer-token users checked against a userinfo endpoint, ``POST /jobs/`` (201 AcceptedJob),
``GET /jobs/{id}`` with every Job field present, the list endpoint (newest first, ``size``
defaulting to 10, ``removed`` hidden), ``DELETE /jobs/{id}`` (status ``removed``), log,
output_data and tag endpoints, FastAPI-style error bodies (403 "Not authenticated", 401
"Token may have expired", 404, 422 with a list-valued ``detail``) and a file server for
the results that needs no authentication.

One runner thread plays the hardware: it takes the oldest ``submitted`` job, moves it to
``running``, writes the inline code to the first word of ``command`` (or unpacks a
``.zip``/``.tar.gz`` code URL), replaces ``{system}`` by the configured system name
(``spinnaker_emulator`` in the repro tests) and runs ``python <command>`` in
``<data>/<collab>/job_<id>/``. Every new file there becomes an ``output_data`` entry with
size, content type and sha1; the job ends ``finished`` or ``error`` with a log,
``resource_usage`` in core-hours and a ``provenance`` object.

Fault injection for tests goes through ``/_admin/*`` (header ``x-admin-key``): answer a
matching request with a 5xx, drop the connection before or after handling it, remove jobs
when they start, fail them on the provider side when they start, hold jobs in the queue,
expire tokens, and add hostile file names to the output list. Standard library only, so it
runs as ``python nmpi_server.py --port 0 ...`` and prints one JSON line
``{"url": ..., "pid": ...}`` when it is ready.
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import io
import json
import mimetypes
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import threading
import time
import urllib.request
import zipfile
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

PLATFORMS = ("SpiNNaker", "BrainScaleS-2", "BrainScaleS", "BrainScaleS-ESS", "Spikey",
             "TestPlatform", "Test", "Demo")
UNITS = {"SpiNNaker": "core-hours", "BrainScaleS-2": "chip-hours", "BrainScaleS": "wafer-hours"}
JOB_FIELDS = ("id", "user_id", "status", "timestamp_submission", "timestamp_completion",
              "code", "command", "collab", "hardware_platform", "hardware_config",
              "input_data", "output_data", "provenance", "resource_usage", "tags", "comments",
              "log", "resource_uri")
REPOSITORY = "Fake repository used for testing"


def now_iso() -> str:
    """Current UTC time as FastAPI would print it."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Reply:
    """One HTTP answer: status, body and content type (``drop`` closes without answering)."""

    def __init__(self, status: int, body: Any = None, content_type: str = "application/json",
                 drop: bool = False) -> None:
        self.status = status
        self.body = body
        self.content_type = content_type
        self.drop = drop

    def payload(self) -> bytes:
        """The body as bytes."""
        if isinstance(self.body, bytes):
            return self.body
        if self.content_type == "application/json":
            return json.dumps(self.body).encode()
        return str(self.body).encode()


def detail(status: int, text: Any) -> Reply:
    """A FastAPI error reply ``{"detail": text}``."""
    return Reply(status, {"detail": text})


def validation_error(loc: list[Any], kind: str, msg: str, given: Any) -> Reply:
    """A pydantic v2 style 422 reply."""
    return Reply(422, {"detail": [{"type": kind, "loc": loc, "msg": msg, "input": given}]})


class JobQueue:
    """State of the queue: users, jobs, faults; and the runner that executes jobs."""

    def __init__(self, data_root: Path, system: str, python: str, job_timeout: float,
                 admin_key: str) -> None:
        self.data_root = data_root
        self.system = system
        self.python = python
        self.job_timeout = job_timeout
        self.admin_key = admin_key
        self.base_url = ""
        self.lock = threading.Lock()
        self.wake = threading.Condition(self.lock)
        self.jobs: dict[int, dict[str, Any]] = {}
        self.next_id = 1
        self.users: dict[str, dict[str, Any]] = {}
        self.expired: set[str] = set()
        self.faults: list[dict[str, Any]] = []
        self.hold = False
        self.remove_on_start = False
        #: A provider-side failure: a job taken from the queue goes to ``error`` with this log
        #: line instead of running (what a hardware provider's kill looks like, B7).
        self.error_on_start = ""
        self.hostile_files: list[str] = []
        self.requests_seen: list[tuple[str, str]] = []
        self.processes: dict[int, subprocess.Popen] = {}
        self.stopping = False

    # -- users ---------------------------------------------------------------------------
    def add_user(self, token: str, username: str, collabs: list[str]) -> None:
        """Register a bearer token for ``username`` with editor rights in ``collabs``."""
        self.users[token] = {
            "sub": hashlib.sha1(username.encode()).hexdigest(),
            "preferred_username": username,
            "given_name": username.capitalize(), "family_name": "Tester",
            "roles": {"team": [f"collab-{c}-editor" for c in collabs]},
        }

    def user_for(self, token: str | None) -> dict[str, Any] | None:
        """The userinfo of a valid, unexpired token."""
        if token is None or token in self.expired:
            return None
        return self.users.get(token)

    @staticmethod
    def can_edit(user: dict[str, Any], collab: str) -> bool:
        """Editor or administrator of ``collab``, or the user's private space."""
        if collab == f"private-{user['preferred_username']}":
            return True
        roles = set(user["roles"]["team"])
        return f"collab-{collab}-editor" in roles or f"collab-{collab}-administrator" in roles

    def can_view(self, user: dict[str, Any], collab: str) -> bool:
        """Viewer or above (editors included)."""
        return self.can_edit(user, collab) or f"collab-{collab}-viewer" in user["roles"]["team"]

    # -- faults --------------------------------------------------------------------------
    def take_fault(self, method: str, path: str) -> dict[str, Any] | None:
        """Pop one use of the first fault rule matching this request."""
        with self.lock:
            for rule in self.faults:
                if rule.get("method", method) == method and fnmatch.fnmatch(path, rule["path"]):
                    rule["count"] = rule.get("count", 1) - 1
                    if rule["count"] <= 0:
                        self.faults.remove(rule)
                    return dict(rule)
        return None

    # -- jobs ----------------------------------------------------------------------------
    def public(self, job: dict[str, Any], with_log: bool, with_comments: bool) -> dict[str, Any]:
        """The Job JSON shape: every field present, log and comments only on request."""
        out = {name: job.get(name) for name in JOB_FIELDS}
        out["log"] = job.get("log") or "" if with_log else None
        out["comments"] = list(job.get("comments", [])) if with_comments else None
        return out

    def submit(self, user: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        """Store an accepted job and wake the runner."""
        with self.wake:
            job_id = self.next_id
            self.next_id += 1
            job = {name: None for name in JOB_FIELDS}
            job.update(
                id=job_id, user_id=user["preferred_username"], status="submitted",
                timestamp_submission=now_iso(), code=body["code"],
                command=body.get("command") or "", collab=body["collab"],
                hardware_platform=body["hardware_platform"],
                hardware_config=body.get("hardware_config"),
                input_data=body.get("input_data") or [],
                tags=[t for t in body.get("tags") or [] if len(t) >= 2],
                comments=[], log="", resource_uri=f"/jobs/{job_id}")
            self.jobs[job_id] = job
            self.wake.notify_all()
            return job

    def remove(self, job_id: int) -> None:
        """Set a job to ``removed`` and stop its process if it runs."""
        with self.lock:
            job = self.jobs[job_id]
            job["status"] = "removed"
            process = self.processes.get(job_id)
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)

    def runner(self) -> None:
        """Take queued jobs one at a time (one board) and run them."""
        while True:
            with self.wake:
                job = None
                while job is None and not self.stopping:
                    queued = [j for j in self.jobs.values() if j["status"] == "submitted"]
                    if queued and not self.hold:
                        job = min(queued, key=lambda j: j["id"])
                    else:
                        self.wake.wait(0.5)
                if self.stopping:
                    return
                job["status"] = "running"
                if self.remove_on_start:
                    job["status"] = "removed"
                    continue
                if self.error_on_start:
                    self._log(job, self.error_on_start)
                    job.update(status="error", timestamp_completion=now_iso())
                    continue
            try:
                self.execute(job)
            except Exception as exc:  # noqa: BLE001 - the job errors, the queue goes on
                with self.lock:
                    if job["status"] == "running":
                        job.update(status="error", timestamp_completion=now_iso(),
                                   log=(job["log"] or "") + f"runner failure: {exc!r}\n")

    def _log(self, job: dict[str, Any], line: str) -> None:
        job["log"] = (job["log"] or "") + f"{now_iso()}    {line}\n"

    def _stage_code(self, job: dict[str, Any], workdir: Path, script: str) -> None:
        code = job["code"]
        if code.startswith(("http://", "https://")):
            with urllib.request.urlopen(code, timeout=60) as response:  # noqa: S310 - loopback
                data = response.read()
            if code.endswith(".zip"):
                with zipfile.ZipFile(io.BytesIO(data)) as archive:
                    archive.extractall(workdir)
            elif code.endswith((".tar.gz", ".tgz")):
                with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
                    archive.extractall(workdir, filter="data")
            else:
                (workdir / script).write_bytes(data)
        else:
            (workdir / script).write_text(code, encoding="utf-8")

    def execute(self, job: dict[str, Any]) -> None:
        """Run one job as the reference runner does and record the outcome."""
        workdir = self.data_root / job["collab"] / f"job_{job['id']}"
        workdir.mkdir(parents=True, exist_ok=True)
        command = (job["command"] or "run.py {system}").replace("{system}", self.system)
        argv = shlex.split(command)
        with self.lock:
            self._log(job, f"Job {job['id']} started on {self.system} (repro local NMPI queue)")
        self._stage_code(job, workdir, argv[0])
        before = {p for p in workdir.rglob("*") if p.is_file()}
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(workdir),
               "LANG": "C.UTF-8", "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1",
               "PYTHONUNBUFFERED": "1", "REPRO_SITE": "nmpi-local-queue"}
        started = time.perf_counter()
        process = subprocess.Popen([self.python, *argv], cwd=workdir, env=env,
                                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, start_new_session=True)
        with self.lock:
            self.processes[job["id"]] = process
        timed_out = False
        try:
            stdout, stderr = process.communicate(timeout=self.job_timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
            timed_out = True
        wall = time.perf_counter() - started
        outputs = sorted(p for p in workdir.rglob("*") if p.is_file() and p not in before)
        files = [self._data_item(job, workdir, path) for path in outputs]
        if files:
            files += [{**files[0], "path": name} for name in self.hostile_files]
        out_text = stdout.decode(errors="replace")
        err_text = stderr.decode(errors="replace")
        with self.lock:
            self.processes.pop(job["id"], None)
            if job["status"] != "running":  # removed meanwhile
                return
            ok = process.returncode == 0 and not timed_out
            if timed_out:
                self._log(job, f"Job exceeded the time limit of {self.job_timeout:.0f} s")
            self._log(job, f"Job {'completed' if ok else 'failed'} with exit code "
                      f"{process.returncode} after {wall:.2f} s")
            if ok:
                job["log"] += out_text + ("\nstderr:\n" + err_text if err_text else "")
            else:
                job["log"] += err_text + "\nstdout:\n" + out_text
            job.update(
                status="finished" if ok else "error", timestamp_completion=now_iso(),
                output_data={"repository": REPOSITORY, "files": files},
                resource_usage={"value": round(wall / 3600.0, 9),
                                "units": UNITS.get(job["hardware_platform"], "hours")},
                provenance={"runner": "repro tests/servers/nmpi_server.py",
                            "system": self.system, "emulated": True,
                            "hostname": socket.gethostname(),
                            "python": sys.version.split()[0], "exit_code": process.returncode,
                            "wall_time_s": round(wall, 3)})

    def _data_item(self, job: dict[str, Any], workdir: Path, path: Path) -> dict[str, Any]:
        relative = f"{job['collab']}/job_{job['id']}/{path.relative_to(workdir).as_posix()}"
        data = path.read_bytes()
        return {"url": f"{self.base_url}/data/{relative}", "path": relative,
                "content_type": mimetypes.guess_type(path.name)[0], "size": len(data),
                "hash": hashlib.sha1(data).hexdigest()}


class Handler(BaseHTTPRequestHandler):
    """Routes one request to the queue; every answer goes through :meth:`answer`."""

    protocol_version = "HTTP/1.1"
    queue: JobQueue

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        if os.environ.get("NMPI_SERVER_VERBOSE"):
            super().log_message(format, *args)

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self.dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self.dispatch("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self.dispatch("PUT")

    def do_DELETE(self) -> None:  # noqa: N802
        self.dispatch("DELETE")

    # -- plumbing ------------------------------------------------------------------------
    def dispatch(self, method: str) -> None:
        """Apply faults, route, answer."""
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        query = parse_qs(parts.query)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        fault = None
        if not path.startswith("/_admin/"):
            with self.queue.lock:
                self.queue.requests_seen.append((method, path))
            fault = self.queue.take_fault(method, path)
            if fault is not None and fault["action"] == "drop_before":
                self.close_connection = True
                return
            if fault is not None and fault["action"] == "status":
                self.answer(self.fault_reply(int(fault.get("status", 500))))
                return
        try:
            reply = self.route(method, path, query, raw)
        except Exception as exc:  # noqa: BLE001 - an unexpected bug answers 500 like FastAPI
            reply = Reply(500, f"Internal Server Error ({exc!r})", "text/plain")
        if fault is not None and fault["action"] == "drop_after":
            self.close_connection = True
            return
        self.answer(reply)

    @staticmethod
    def fault_reply(status: int) -> Reply:
        """What a sick server or its proxy answers."""
        if status == 503:
            return Reply(503, {"error": "The job queue is in maintenance mode"})
        if status == 502:
            return Reply(502, b"<html><body><h1>502 Bad Gateway</h1></body></html>",
                         "text/html")
        return Reply(status, "Internal Server Error", "text/plain")

    def answer(self, reply: Reply) -> None:
        """Send ``reply`` (or close the connection silently)."""
        if reply.drop:
            self.close_connection = True
            return
        data = reply.payload()
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def bearer(self) -> tuple[str | None, bool]:
        """(token, header present)."""
        header = self.headers.get("Authorization")
        if not header:
            return None, False
        scheme, _, token = header.partition(" ")
        return (token.strip() if scheme.lower() == "bearer" else None), True

    def authenticate(self) -> tuple[dict[str, Any] | None, Reply | None]:
        """The user behind the bearer token, or the error reply."""
        token, present = self.bearer()
        if not present:
            return None, detail(403, "Not authenticated")
        user = self.queue.user_for(token)
        if user is None:
            return None, detail(401, "Token may have expired")
        return user, None

    # -- routes --------------------------------------------------------------------------
    def route(self, method: str, path: str, query: dict[str, list[str]], raw: bytes) -> Reply:
        """Pick the handler for ``method path``."""
        q = self.queue
        if path.startswith("/_admin/"):
            if self.headers.get("x-admin-key") != q.admin_key:
                return detail(403, "Could not validate API key")
            return self.admin(method, path[len("/_admin/"):], raw)
        if path.startswith("/data/") and method == "GET":
            return self.serve_file(path[len("/data/"):])
        if path == "/userinfo":
            token, _ = self.bearer()
            user = q.user_for(token)
            if user is None:
                return Reply(401, {"error": "invalid_token",
                                   "error_description": "Token verification failed"})
            return Reply(200, user)
        if path == "/" and method == "GET":
            return Reply(200, {"about": "This is the EBRAINS Neuromorphic Computing Job Queue "
                                        "API (repro local test instance).",
                               "version": "3", "status": "ok",
                               "links": {"documentation": "/docs"},
                               "authentication": {"server": self.queue.base_url,
                                                  "endpoint": "/userinfo"}})
        user, error = self.authenticate()
        if error is not None:
            return error
        if path == "/jobs/" and method == "POST":
            return self.submit(user, raw)
        if path == "/jobs/" and method == "GET":
            return self.list_jobs(user, query)
        if path == "/projects/" and method == "GET":
            return Reply(200, [])
        match = re.fullmatch(r"/jobs/([^/]+)(/log|/output_data|/tags/?)?", path)
        if not match:
            return detail(404, "Not Found")
        try:
            job_id = int(match.group(1))
        except ValueError:
            return validation_error(["path", "job_id"], "int_parsing",
                                    "Input should be a valid integer, unable to parse string "
                                    "as an integer", match.group(1))
        with q.lock:
            job = q.jobs.get(job_id)
            visible = job is not None and job["status"] != "removed" and \
                q.can_view(user, job["collab"])
        if not visible:
            return detail(404, f"Either there is no job with id {job_id}, "
                               "or you do not have access to it")
        return self.job_route(method, match.group(2) or "", job, query, raw, user)

    def job_route(self, method: str, sub: str, job: dict[str, Any],
                  query: dict[str, list[str]], raw: bytes, user: dict[str, Any]) -> Reply:
        """Routes below ``/jobs/{id}``."""
        q = self.queue
        if sub == "" and method == "GET":
            with q.lock:
                return Reply(200, q.public(
                    job, query.get("with_log", ["false"])[0] == "true",
                    query.get("with_comments", ["false"])[0] == "true"))
        if sub == "" and method == "DELETE":
            if not q.can_edit(user, job["collab"]):
                return detail(403, "You do not have permission to delete this job")
            q.remove(job["id"])
            return Reply(200, None)
        if sub == "/log" and method == "GET":
            return Reply(200, job["log"] or "", "text/plain")
        if sub == "/output_data" and method == "GET":
            return Reply(200, job["output_data"] or {"repository": REPOSITORY, "files": []})
        if sub.startswith("/tags"):
            if method == "GET":
                return Reply(200, list(job["tags"]))
            tags = json.loads(raw or b"[]")
            with q.lock:
                if method == "POST":
                    job["tags"] = job["tags"] + [t for t in tags if t not in job["tags"]]
                    return Reply(200, list(job["tags"]))
                if method == "DELETE":
                    job["tags"] = [t for t in job["tags"] if t not in tags]
                    return Reply(200, None)
        return detail(405, "Method Not Allowed")

    def submit(self, user: dict[str, Any], raw: bytes) -> Reply:
        """``POST /jobs/``: validate a SubmittedJob and queue it."""
        try:
            body = json.loads(raw or b"null")
        except ValueError as exc:
            return validation_error(["body", exc.pos if hasattr(exc, "pos") else 0],
                                    "json_invalid", "JSON decode error", {})
        if not isinstance(body, dict):
            return validation_error(["body"], "model_attributes_type",
                                    "Input should be a valid dictionary or object to extract "
                                    "fields from", body)
        for name in ("code", "collab", "hardware_platform"):
            if name not in body:
                return validation_error(["body", name], "missing", "Field required", body)
            if not isinstance(body[name], str):
                return validation_error(["body", name], "string_type",
                                        "Input should be a valid string", body[name])
        if body["hardware_platform"] not in PLATFORMS:
            allowed = ", ".join(f"'{p}'" for p in PLATFORMS)
            return validation_error(["body", "hardware_platform"], "enum",
                                    f"Input should be {allowed}", body["hardware_platform"])
        tags = body.get("tags")
        if tags is not None and (not isinstance(tags, list) or
                                 any(not isinstance(t, str) or len(t) > 100 for t in tags)):
            return validation_error(["body", "tags"], "string_too_long",
                                    "String should have at most 100 characters", tags)
        config = body.get("hardware_config")
        if config is not None and not isinstance(config, dict):
            return validation_error(["body", "hardware_config"], "dict_type",
                                    "Input should be a valid dictionary", config)
        for index, item in enumerate(body.get("input_data") or []):
            url = item.get("url") if isinstance(item, dict) else None
            if not isinstance(url, str) or not re.match(r"^https?://[^/\s]+", url):
                return validation_error(["body", "input_data", index, "url"], "url_parsing",
                                        "Input should be a valid URL", url)
        if not self.queue.can_edit(user, body["collab"]):
            return detail(404, "You do not have access to this collab or there is no collab "
                               "with this id")
        job = self.queue.submit(user, body)
        accepted = {k: job[k] for k in ("code", "command", "collab", "hardware_platform",
                                        "hardware_config", "input_data", "tags", "id",
                                        "user_id", "status", "timestamp_submission",
                                        "resource_uri")}
        return Reply(201, accepted)

    def list_jobs(self, user: dict[str, Any], query: dict[str, list[str]]) -> Reply:
        """``GET /jobs/``: filtered, newest first, ``size`` defaults to 10."""
        q = self.queue
        statuses = set(query.get("status", []))
        collab = query.get("collab", [None])[0]
        if collab is not None and not q.can_view(user, collab):
            return detail(404, "You do not have access to this collab or there is no collab "
                               "with this id")
        size = int(query.get("size", ["10"])[0])
        start = int(query.get("from_index", ["0"])[0])
        wanted_tags = set(query.get("tags", []))
        with q.lock:
            jobs = [j for j in q.jobs.values() if j["status"] != "removed"]
            if collab is None:
                jobs = [j for j in jobs if j["user_id"] == user["preferred_username"]]
            else:
                jobs = [j for j in jobs if j["collab"] == collab]
            if statuses:
                jobs = [j for j in jobs if j["status"] in statuses]
            for key in ("user_id", "hardware_platform"):
                if key in query:
                    jobs = [j for j in jobs if j[key] in query[key]]
            if wanted_tags:
                jobs = [j for j in jobs if wanted_tags & set(j["tags"])]
            jobs.sort(key=lambda j: j["id"], reverse=True)
            page = [q.public(j, False, False) for j in jobs[start:start + size]]
        return Reply(200, page)

    def serve_file(self, relative: str) -> Reply:
        """Plain GET of a result file; no authentication (urlretrieve sends none)."""
        root = self.queue.data_root.resolve()
        target = (root / relative).resolve()
        if not target.is_relative_to(root) or not target.is_file():
            return detail(404, "Not Found")
        return Reply(200, target.read_bytes(),
                     mimetypes.guess_type(target.name)[0] or "application/octet-stream")

    def admin(self, method: str, action: str, raw: bytes) -> Reply:
        """Test controls: faults, tokens, hold/release, removal, provider errors, hostile names,
        state.

        ``reset`` forgets every job (killing a running one) and clears faults, expired
        tokens and settings, so each test starts from an empty queue.
        """
        q = self.queue
        body = json.loads(raw or b"{}")
        with q.wake:
            if action == "faults" and method == "POST":
                q.faults.extend(body.get("rules", []))
            elif action == "expire" and method == "POST":
                q.expired.add(body["token"])
            elif action == "user" and method == "POST":
                q.add_user(body["token"], body["username"], body.get("collabs", []))
            elif action == "config" and method == "POST":
                q.hold = bool(body.get("hold", q.hold))
                q.remove_on_start = bool(body.get("remove_on_start", q.remove_on_start))
                q.hostile_files = list(body.get("hostile_files", q.hostile_files))
                q.error_on_start = str(body.get("error_on_start", q.error_on_start))
                q.wake.notify_all()
            elif action == "reset" and method == "POST":
                for job in q.jobs.values():
                    job["status"] = "removed"
                for process in q.processes.values():
                    if process.poll() is None:
                        os.killpg(process.pid, signal.SIGKILL)
                q.jobs.clear()
                q.faults.clear()
                q.expired.clear()
                q.hold = q.remove_on_start = False
                q.hostile_files = []
                q.error_on_start = ""
                q.requests_seen.clear()
                q.wake.notify_all()
            elif action == "state" and method == "GET":
                return Reply(200, {
                    "jobs": [q.public(j, True, False) for j in q.jobs.values()],
                    "requests": q.requests_seen, "faults": q.faults})
            else:
                return detail(404, f"no admin action {action!r}")
        return Reply(200, {"ok": True})


def serve(args: argparse.Namespace) -> None:
    """Start the queue, print the ready line, serve until SIGTERM."""
    data_root = Path(args.data).resolve()
    data_root.mkdir(parents=True, exist_ok=True)
    queue = JobQueue(data_root, args.system, args.python or sys.executable, args.job_timeout,
                     args.admin_key)
    for spec in args.user:
        token, username, *collabs = spec.split(":")
        queue.add_user(token, username, collabs)
    handler = type("BoundHandler", (Handler,), {"queue": queue})
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler)
    server.daemon_threads = True
    queue.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=queue.runner, daemon=True).start()

    def stop(*_: Any) -> None:
        with queue.wake:
            queue.stopping = True
            queue.wake.notify_all()
            running = list(queue.processes.values())
        for process in running:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(json.dumps({"url": queue.base_url, "pid": os.getpid(), "data": str(data_root)}),
          flush=True)
    server.serve_forever(poll_interval=0.2)
    server.server_close()
    if args.clean:
        shutil.rmtree(data_root, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    """Command line: ``python nmpi_server.py --port 0 --data DIR --user TOKEN:USER:COLLAB``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--data", required=True, help="directory for job working dirs/results")
    parser.add_argument("--system", default="spinnaker_emulator",
                        help="what {system} in a job's command becomes")
    parser.add_argument("--python", default="", help="interpreter that runs jobs")
    parser.add_argument("--job-timeout", type=float, default=600.0)
    parser.add_argument("--admin-key", required=True)
    parser.add_argument("--user", action="append", default=[],
                        help="TOKEN:USERNAME[:COLLAB...] (editor of each collab)")
    parser.add_argument("--clean", action="store_true", help="delete --data on exit")
    serve(parser.parse_args(argv))


if __name__ == "__main__":
    main()
