"""A local InvenioRDM records API (the API Zenodo runs on) on 127.0.0.1, for deposit tests.

It keeps drafts and published records in memory and uploaded file contents on disk, and
follows the InvenioRDM REST API closely enough for the unmodified ``inveniordm-py`` client:

* ``POST /api/records`` creates a draft (201; incomplete metadata is accepted into a draft
  with an ``errors`` list, as InvenioRDM does), ``GET``/``PUT /api/records/{id}/draft``;
* ``POST /api/records/{id}/draft/files`` starts uploads (``[{"key": ...}]``),
  ``PUT .../files/{key}/content`` stores the bytes, ``POST .../files/{key}/commit`` checks
  them in (``checksum: md5:...``), ``GET .../draft/files`` lists them;
* ``POST /api/records/{id}/draft/actions/publish`` validates the metadata (title, creators
  with a family name, publication date, resource type, known rights ids) and that every
  file was committed, then publishes (202) with a test DOI ``10.5072/...``; validation
  errors answer 400 with InvenioRDM's ``{"status", "message", "errors": [{field, messages}]}``;
* ``GET /api/records/{id}`` and ``GET /api/records/{id}/files/{key}/content`` read published
  records (so a test can download what was deposited and compare checksums).

Every request needs ``Authorization: Bearer <token>`` (401 without, 403 for a wrong one).
``GET /_admin/requests`` (header ``x-admin-key``) lists the request lines the server saw, so
tests can check that no token travelled in a URL. Standard library only: run it as
``python invenio_server.py --port 0 --token T --admin-key K --data DIR``; it prints one JSON
line ``{"url": ..., "pid": ...}`` when ready.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import secrets
import signal
import sys
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

RIGHTS = {"cc-by-4.0", "cc0-1.0", "cc-by-sa-4.0", "mit", "apache-2.0", "bsd-3-clause"}
RESOURCE_TYPES = {"dataset", "software", "publication-article", "other"}
_KEY = re.compile(r"^[^/\\\x00]{1,255}$")


class Store:
    """Drafts, records and files of the server (one lock guards everything)."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.lock = threading.Lock()
        self.drafts: dict[str, dict[str, Any]] = {}
        self.records: dict[str, dict[str, Any]] = {}
        self.requests: list[str] = []

    def new_id(self) -> str:
        alphabet = "abcdefghjkmnpqrstvwxyz0123456789"
        return "-".join("".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(2))


def metadata_errors(metadata: Any) -> list[dict[str, Any]]:
    """InvenioRDM-style validation errors of a record's metadata."""
    errors = []

    def error(field: str, message: str) -> None:
        errors.append({"field": field, "messages": [message]})

    if not isinstance(metadata, dict):
        return [{"field": "metadata", "messages": ["Missing data for required field."]}]
    if not str(metadata.get("title") or "").strip():
        error("metadata.title", "Missing data for required field.")
    if not re.match(r"^\d{4}(-\d{2}(-\d{2})?)?$", str(metadata.get("publication_date") or "")):
        error("metadata.publication_date", "Missing data for required field.")
    if (metadata.get("resource_type") or {}).get("id") not in RESOURCE_TYPES:
        error("metadata.resource_type", "Missing data for required field.")
    creators = metadata.get("creators")
    if not isinstance(creators, list) or not creators:
        error("metadata.creators", "Missing data for required field.")
    else:
        for index, creator in enumerate(creators):
            person = (creator or {}).get("person_or_org") or {}
            if person.get("type") not in ("personal", "organizational"):
                error(f"metadata.creators.{index}.person_or_org.type", "Invalid value.")
            if person.get("type") == "personal" and not person.get("family_name"):
                error(f"metadata.creators.{index}.person_or_org.family_name",
                      "Family name must be filled.")
            for ident in person.get("identifiers", []):
                if ident.get("scheme") == "orcid" and not re.match(
                        r"^\d{4}-\d{4}-\d{4}-\d{3}[\dX]$", str(ident.get("identifier"))):
                    error(f"metadata.creators.{index}.person_or_org.identifiers",
                          "Invalid ORCID identifier.")
    for index, right in enumerate(metadata.get("rights") or []):
        if right.get("id") and right["id"] not in RIGHTS:
            error(f"metadata.rights.{index}.id", f"Unknown license {right['id']!r}.")
    return errors


class Handler(BaseHTTPRequestHandler):
    """The API."""

    server_version = "InvenioRDM-test/12"
    store: Store
    token: str
    admin_key: str

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        return

    # ------------------------------------------------------------------ helpers
    def _send(self, status: int, body: Any, content_type: str = "application/json") -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, errors: list | None = None) -> None:
        body: dict[str, Any] = {"status": status, "message": message}
        if errors:
            body["errors"] = errors
        self._send(status, body)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _json(self) -> Any:
        raw = self._body()
        return json.loads(raw) if raw else {}

    def _base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/api"

    def _authorised(self) -> bool:
        header = self.headers.get("Authorization", "")
        if not header:
            self._error(401, "The server could not verify that you are authorized to access "
                             "the URL requested.")
            return False
        if header != f"Bearer {self.token}":
            self._error(403, "Permission denied.")
            return False
        return True

    def _links(self, ident: str, draft: bool) -> dict[str, str]:
        base = f"{self._base()}/records/{ident}"
        return {"self": f"{base}/draft" if draft else base,
                "self_html": f"{self._base()[:-4]}/uploads/{ident}" if draft
                else f"{self._base()[:-4]}/records/{ident}",
                "files": f"{base}/draft/files" if draft else f"{base}/files",
                "publish": f"{base}/draft/actions/publish"}

    def _file_entry(self, ident: str, entry: dict[str, Any], draft: bool) -> dict[str, Any]:
        base = f"{self._base()}/records/{ident}{'/draft' if draft else ''}/files/{entry['key']}"
        out = {k: v for k, v in entry.items() if k != "path"}
        out["links"] = {"self": base, "content": f"{base}/content", "commit": f"{base}/commit"}
        return out

    def _draft_view(self, ident: str) -> dict[str, Any]:
        draft = self.store.drafts[ident]
        return {"id": ident, "status": "draft", "is_published": False, "is_draft": True,
                "created": draft["created"], "updated": draft["updated"],
                "metadata": draft["metadata"], "access": draft["access"],
                "files": {"enabled": draft["files_enabled"],
                          "entries": {e["key"]: self._file_entry(ident, e, True)
                                      for e in draft["files"].values()}},
                "errors": metadata_errors(draft["metadata"]) or None,
                "links": self._links(ident, True)}

    def _record_view(self, ident: str) -> dict[str, Any]:
        record = self.store.records[ident]
        return {"id": ident, "status": "published", "is_published": True, "is_draft": False,
                "created": record["created"], "updated": record["updated"],
                "metadata": record["metadata"], "access": record["access"],
                "pids": {"doi": {"identifier": record["doi"], "provider": "datacite",
                                 "client": "datacite"}},
                "files": {"enabled": True,
                          "entries": {e["key"]: self._file_entry(ident, e, False)
                                      for e in record["files"].values()}},
                "links": self._links(ident, False)}

    # ------------------------------------------------------------------ routing
    def _route(self, method: str) -> None:
        path = unquote(urlsplit(self.path).path)
        with self.store.lock:
            self.store.requests.append(f"{method} {self.path}")
        if path == "/_admin/requests":
            if self.headers.get("x-admin-key") != self.admin_key:
                self._error(403, "Permission denied.")
                return
            with self.store.lock:
                self._send(200, list(self.store.requests))
            return
        if not self._authorised():
            return
        parts = [p for p in path.split("/") if p]
        if parts[:2] != ["api", "records"]:
            self._error(404, "The requested URL was not found on the server.")
            return
        rest = parts[2:]
        with self.store.lock:
            try:
                self._dispatch(method, rest)
            except (ValueError, KeyError) as exc:
                self._error(400, f"Bad request: {exc}")

    def _dispatch(self, method: str, rest: list[str]) -> None:
        store = self.store
        if not rest:
            if method != "POST":
                self._error(405, "Method not allowed.")
                return
            self._create(self._json())
            return
        ident = rest[0]
        tail = rest[1:]
        if tail == [] and method == "GET":
            if ident not in store.records:
                self._error(404, "The persistent identifier does not exist.")
                return
            self._send(200, self._record_view(ident))
            return
        if len(tail) == 3 and tail[0] == "files" and tail[2] == "content" and method == "GET":
            record = store.records.get(ident)
            if record is None or tail[1] not in record["files"]:
                self._error(404, "File not found.")
                return
            self._send(200, Path(record["files"][tail[1]]["path"]).read_bytes(),
                       "application/octet-stream")
            return
        if not tail or tail[0] != "draft":
            self._error(404, "The requested URL was not found on the server.")
            return
        draft = store.drafts.get(ident)
        if draft is None:
            self._error(404, "The persistent identifier does not exist.")
            return
        self._draft_route(method, ident, draft, tail[1:])

    def _draft_route(self, method: str, ident: str, draft: dict[str, Any],
                     tail: list[str]) -> None:
        if tail == [] and method == "GET":
            self._send(200, self._draft_view(ident))
        elif tail == [] and method == "PUT":
            body = self._json()
            draft["metadata"] = body.get("metadata", draft["metadata"])
            draft["updated"] = _now()
            self._send(200, self._draft_view(ident))
        elif tail == ["actions", "publish"] and method == "POST":
            self._publish(ident, draft)
        elif tail == ["files"] and method == "GET":
            self._send(200, {"enabled": True, "entries": [
                self._file_entry(ident, e, True) for e in draft["files"].values()]})
        elif tail == ["files"] and method == "POST":
            entries = self._json()
            if not isinstance(entries, list) or not all(
                    isinstance(e, dict) and _KEY.match(str(e.get("key", ""))) for e in entries):
                self._error(400, "A validation error occurred.",
                            [{"field": "key", "messages": ["Invalid file key."]}])
                return
            for entry in entries:
                if entry["key"] in draft["files"]:
                    self._error(400, f"File with key {entry['key']} already exists.")
                    return
            for entry in entries:
                draft["files"][entry["key"]] = {"key": entry["key"], "status": "pending",
                                                "path": "", "size": None, "checksum": None}
            self._send(201, {"enabled": True, "entries": [
                self._file_entry(ident, draft["files"][e["key"]], True) for e in entries]})
        elif len(tail) in (2, 3) and tail[0] == "files":
            self._file_route(method, ident, draft, tail[1], tail[2] if len(tail) == 3 else "")
        else:
            self._error(404, "The requested URL was not found on the server.")

    def _file_route(self, method: str, ident: str, draft: dict[str, Any], key: str,
                    action: str) -> None:
        entry = draft["files"].get(key)
        if entry is None:
            self._error(404, "File not found.")
            return
        if action == "content" and method == "PUT":
            if self.headers.get("Content-Type", "") != "application/octet-stream":
                self._error(400, "Content-Type must be application/octet-stream.")
                return
            data = self._body()
            path = self.store.data / ident / hashlib.sha256(key.encode()).hexdigest()
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            entry.update(path=str(path), size=len(data), status="pending")
            self._send(200, self._file_entry(ident, entry, True))
        elif action == "commit" and method == "POST":
            if not entry["path"]:
                self._error(400, "File has no content.")
                return
            data = Path(entry["path"]).read_bytes()
            entry.update(status="completed", checksum="md5:" + hashlib.md5(data).hexdigest())
            self._send(200, self._file_entry(ident, entry, True))
        elif action == "" and method == "GET":
            self._send(200, self._file_entry(ident, entry, True))
        elif action == "" and method == "DELETE":
            del draft["files"][key]
            self._send(204, b"")
        else:
            self._error(405, "Method not allowed.")

    def _create(self, body: Any) -> None:
        if not isinstance(body, dict):
            self._error(400, "Bad request: expected a JSON object.")
            return
        ident = self.store.new_id()
        now = _now()
        self.store.drafts[ident] = {
            "metadata": body.get("metadata") or {}, "created": now, "updated": now,
            "access": body.get("access") or {"record": "public", "files": "public"},
            "files_enabled": bool((body.get("files") or {}).get("enabled", True)),
            "files": {}}
        self._send(201, self._draft_view(ident))

    def _publish(self, ident: str, draft: dict[str, Any]) -> None:
        errors = metadata_errors(draft["metadata"])
        if draft["files_enabled"]:
            if not draft["files"]:
                errors.append({"field": "files.enabled",
                               "messages": ["Missing uploaded files. To disable files for "
                                            "this record please mark it as metadata-only."]})
            for key, entry in draft["files"].items():
                if entry["status"] != "completed":
                    errors.append({"field": "files", "messages": [
                        f"File {key} has not been committed."]})
        if errors:
            self._error(400, "A validation error occurred.", errors)
            return
        now = _now()
        self.store.records[ident] = {**draft, "updated": now,
                                     "doi": f"10.5072/repro-test.{ident}"}
        del self.store.drafts[ident]
        self._send(202, self._record_view(ident))

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self._route("GET")

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        self._route("POST")

    def do_PUT(self) -> None:  # noqa: N802 - stdlib name
        self._route("PUT")

    def do_DELETE(self) -> None:  # noqa: N802 - stdlib name
        self._route("DELETE")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def main() -> None:
    """Serve until SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", required=True)
    parser.add_argument("--admin-key", required=True)
    parser.add_argument("--data", type=Path, required=True)
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    handler = type("BoundHandler", (Handler,), {"store": Store(args.data), "token": args.token,
                                                "admin_key": args.admin_key})
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    host, port = server.server_address[:2]
    print(json.dumps({"url": f"http://{host}:{port}", "pid": os.getpid()}), flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    sys.exit(0)


if __name__ == "__main__":
    main()
