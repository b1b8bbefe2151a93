"""Validate crates against the RO-Crate profiles they claim, with roc-validator.

roc-validator resolves the JSON-LD contexts a crate names over HTTP through its own cache.
Where the network is closed (CI, compute nodes), :func:`seed_context_cache` puts the two
documents repro's crates need into that cache first, built from installed data:

* ``https://w3id.org/ro/crate/1.1/context``: the context bundled with ro-crate-py (the 1.3
  document, which maps every 1.1 term to the same IRI and adds newer ones);
* ``https://w3id.org/ro/terms/workflow-run/context``: the Workflow Run terms repro uses,
  written out here from the Workflow Run RO-Crate specification.

Entries that are already cached (for example from an online run) are left alone.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path

from repro.crate import WFRUN_CONTEXT

RO_CRATE_11_CONTEXT = "https://w3id.org/ro/crate/1.1/context"
PROCESS_RUN_CRATE = "process-run-crate-0.5"
PROVENANCE_RUN_CRATE = "provenance-run-crate-0.5"
_WFRUN = "https://w3id.org/ro/terms/workflow-run#"
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

    bundled = Path(rocrate.__file__).parent / "data" / "ro-crate.jsonld"
    wfrun = {"@context": {term: _WFRUN + term for term in WFRUN_TERMS}}
    return {RO_CRATE_11_CONTEXT: bundled.read_bytes(),
            WFRUN_CONTEXT: json.dumps(wfrun).encode()}


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
            if session.cache.contains(request=request):
                continue
            headers = {"Content-Type": "application/ld+json"}
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
