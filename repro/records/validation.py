"""Validate crates against the RO-Crate profiles they claim, with roc-validator.

roc-validator resolves the JSON-LD contexts a crate names over HTTP through its own cache.
Where the network is closed (CI, compute nodes), :func:`seed_context_cache` puts the two
documents repro's crates need into that cache first, built from installed data:

* ``https://w3id.org/ro/crate/1.1/context``: the context bundled with ro-crate-py (the 1.3
  document) with the four Bioschemas terms whose IRIs changed after 1.1 set back to their
  1.1 values; every other 1.1 term maps to the same IRI there;
* ``https://w3id.org/ro/terms/workflow-run/context``: the Workflow Run terms repro uses,
  written out here from the Workflow Run RO-Crate specification.

Entries that are already cached from the network are left alone; entries repro wrote
(marked with a header) are refreshed when repro's document changes.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

from repro.records.entities import WFRUN_CONTEXT

RO_CRATE_11_CONTEXT = "https://w3id.org/ro/crate/1.1/context"
PROCESS_RUN_CRATE = "process-run-crate-0.5"
PROVENANCE_RUN_CRATE = "provenance-run-crate-0.5"
_WFRUN = "https://w3id.org/ro/terms/workflow-run#"
#: Terms whose IRIs differ between the RO-Crate 1.1 and 1.3 contexts (1.1 values).
RO_CRATE_11_TERMS = {
    "ComputationalWorkflow": "https://bioschemas.org/ComputationalWorkflow",
    "FormalParameter": "https://bioschemas.org/FormalParameter",
    "input": "https://bioschemas.org/properties/input",
    "output": "https://bioschemas.org/properties/output",
}
STAND_IN_HEADER = "X-Repro-Stand-In"
WFRUN_TERMS = ("ContainerImage", "DockerImage", "SIFImage", "containerImage", "environment",
               "resourceUsage", "sha256", "tag", "ParameterConnection", "connection",
               "sourceParameter", "targetParameter")


@dataclass
class ValidationOutcome:
    """Result of validating one crate against one profile."""

    crate: Path
    profile: str
    passed: bool
    issues: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line (plus the issues) for people."""
        head = f"{self.crate}: {'valid' if self.passed else 'NOT valid'} {self.profile}"
        return "\n  ".join([head, *self.issues])


def _context_documents() -> dict[str, bytes]:
    import rocrate

    bundled = json.loads((Path(rocrate.__file__).parent / "data" / "ro-crate.jsonld")
                         .read_text(encoding="utf-8"))
    bundled["@context"].update(RO_CRATE_11_TERMS)
    wfrun = {"@context": {term: _WFRUN + term for term in WFRUN_TERMS}}
    return {RO_CRATE_11_CONTEXT: json.dumps(bundled, sort_keys=True).encode(),
            WFRUN_CONTEXT: json.dumps(wfrun, sort_keys=True).encode()}


def default_cache_path() -> Path:
    """roc-validator's persistent HTTP cache (without the ``.sqlite`` suffix)."""
    from rocrate_validator.utils.paths import get_default_http_cache_path

    path = Path(get_default_http_cache_path())
    return path.with_suffix("") if path.suffix == ".sqlite" else path


def seed_context_cache(cache_path: Path | None = None) -> list[str]:
    """Add the contexts repro's crates need to roc-validator's cache; return those added."""
    import requests
    from requests_cache import CachedSession
    from urllib3 import HTTPResponse

    cache = cache_path or default_cache_path()
    cache.parent.mkdir(parents=True, exist_ok=True)
    session = CachedSession(cache_name=str(cache), backend="sqlite", expire_after=-1,
                            allowable_methods=("GET",), allowable_codes=(200, 302, 404))
    added = []
    try:
        for url, body in _context_documents().items():
            request = requests.Request("GET", url).prepare()
            version = hashlib.sha256(body).hexdigest()[:16]
            cached = session.cache.get_response(session.cache.create_key(request))
            if cached is not None and cached.headers.get(STAND_IN_HEADER) in (None, version):
                continue  # fetched from the network, or our current document
            headers = {"Content-Type": "application/ld+json", STAND_IN_HEADER: version}
            response = requests.Response()
            response.status_code = 200
            response.url = url
            response.request = request
            response.raw = HTTPResponse(body=io.BytesIO(body), headers=headers, status=200,
                                        preload_content=False, request_url=url)
            response._content = body
            response.encoding = "utf-8"
            response.headers.update(headers)
            session.cache.save_response(response)
            added.append(url)
    finally:
        session.close()
    return added


def validate_crate(crate: Path, profile: str, *, severity: str = "REQUIRED") -> ValidationOutcome:
    """Validate ``crate`` against ``profile`` offline (after seeding the context cache).

    Parameters
    ----------
    crate : Path
        Crate directory or zip file.
    profile : str
        roc-validator profile identifier (``process-run-crate-0.5``).
    severity : str
        Lowest requirement level checked: ``REQUIRED``, ``RECOMMENDED`` or ``OPTIONAL``.
    """
    from rocrate_validator import services

    seed_context_cache()
    result = services.validate({
        "rocrate_uri": str(Path(crate).resolve()),
        "profile_identifier": profile,
        "requirement_severity": severity,
        "offline": True,
        "cache_path": str(default_cache_path()),
    })
    issues = [f"[{issue.severity.name}] {issue.check.identifier}: {issue.message}"
              for issue in result.get_issues()]
    return ValidationOutcome(Path(crate), profile, result.passed(), issues)
