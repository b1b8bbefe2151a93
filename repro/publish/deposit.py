"""Deposit a published campaign zip in an InvenioRDM repository (Zenodo runs InvenioRDM).

The repository's records API is driven by ``inveniordm-py``, the InvenioRDM project's own
client: create a draft with the publication metadata, upload the zip, commit it, and (only
when asked) publish the draft, which mints a DOI and cannot be undone. The personal access
token is read from the environment at the moment it is needed; it travels only in the
``Authorization`` header and never appears in messages, files or crates.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from repro.errors import AuthenticationError, InputError, TargetError
from repro.publish.package import PublicationMetadata

#: Repositories ``--deposit`` knows: name -> default base URL (None: ``--url`` required).
REPOSITORIES: dict[str, str | None] = {"zenodo": "https://zenodo.org", "invenio": None}
#: Environment variables searched for the token, per repository.
TOKEN_VARIABLES = {"zenodo": ("REPRO_DEPOSIT_TOKEN", "ZENODO_TOKEN"),
                   "invenio": ("REPRO_DEPOSIT_TOKEN", "INVENIO_TOKEN")}


@dataclass(frozen=True)
class DepositResult:
    """Where the deposit went.

    Attributes
    ----------
    record_id : str
        Identifier of the draft or record.
    state : str
        ``draft`` (uploaded, waiting for review) or ``published``.
    html_url : str
        Page of the draft or record.
    doi : str
        DOI (empty for a draft).
    checksum : str
        The repository's checksum of the uploaded file (``md5:...``).
    """

    record_id: str
    state: str
    html_url: str
    doi: str
    checksum: str


def deposit_token(repository: str) -> str:
    """The access token for ``repository`` from the environment.

    Raises
    ------
    AuthenticationError
        If no variable holds one (the message names the variables, never a value).
    """
    names = TOKEN_VARIABLES[repository]
    for name in names:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    raise AuthenticationError(
        f"no access token for {repository}: set {' or '.join(names)} to a personal access "
        "token with deposit rights (tokens are never accepted as command-line arguments)")


def base_url(repository: str, url: str | None) -> str:
    """The repository's base URL (``--url`` wins over the default).

    Raises
    ------
    InputError
        For an unknown repository, a missing URL, or a URL that is not http(s).
    """
    if repository not in REPOSITORIES:
        raise InputError(f"unknown repository {repository!r} (known: "
                         f"{', '.join(REPOSITORIES)})", field="--deposit")
    chosen = url or REPOSITORIES[repository]
    if not chosen:
        raise InputError(f"--deposit {repository} needs --url (the repository's base URL)",
                         field="--url")
    if not chosen.startswith(("https://", "http://")):
        raise InputError(f"{chosen!r} is not an http(s) URL", field="--url")
    return chosen.rstrip("/")


def invenio_metadata(meta: PublicationMetadata, date: str | None = None) -> dict[str, Any]:
    """The InvenioRDM draft body for a publication."""
    creators = []
    for author in meta.authors:
        person: dict[str, Any] = {
            "type": "personal", "given_name": author.given_name,
            "family_name": author.family_name,
            "identifiers": [{"scheme": "orcid", "identifier": author.orcid}]}
        creator: dict[str, Any] = {"person_or_org": person}
        if author.affiliation:
            creator["affiliations"] = [{"name": author.affiliation}]
        creators.append(creator)
    metadata: dict[str, Any] = {
        "resource_type": {"id": "dataset"},
        "title": meta.title,
        "description": meta.description,
        "publication_date": date or datetime.now(UTC).date().isoformat(),
        "creators": creators,
        "rights": [{"id": meta.license.lower()}],
        "publisher": "repro",
    }
    if meta.keywords:
        metadata["subjects"] = [{"subject": k} for k in meta.keywords]
    return {"metadata": metadata, "files": {"enabled": True},
            "access": {"record": "public", "files": "public"}}


def _error_for(exc: Exception, url: str, token: str, step: str) -> TargetError:
    """The repro error for a failed request (the token is scrubbed from every message)."""
    import requests

    response = getattr(exc, "response", None)
    if isinstance(exc, requests.HTTPError) and response is not None:
        try:
            body = response.json()
        except ValueError:
            body = {}
        detail = str(body.get("message") or response.reason or "")
        errors = body.get("errors") or []
        if errors:
            detail += ": " + "; ".join(f"{e.get('field')}: {' '.join(e.get('messages', []))}"
                                       for e in errors[:5])
        detail = detail.replace(token, "***")
        if response.status_code in (401, 403):
            return AuthenticationError(f"{url} rejected the access token while trying to "
                                       f"{step} (HTTP {response.status_code}: {detail})")
        return TargetError(f"{url}: could not {step} (HTTP {response.status_code}: {detail})")
    message = str(exc).replace(token, "***")
    return TargetError(f"{url}: could not {step} ({type(exc).__name__}: {message})")


def deposit(zip_path: Path, meta: PublicationMetadata, repository: str = "zenodo",
            url: str | None = None, *, publish: bool = False) -> DepositResult:
    """Upload ``zip_path`` with ``meta`` to an InvenioRDM repository.

    Parameters
    ----------
    zip_path : Path
        The publication zip (from :func:`repro.publish.package.publish_campaign`).
    meta : PublicationMetadata
        Title, description, licence, authors, keywords.
    repository : str
        ``zenodo`` or ``invenio`` (any InvenioRDM instance, ``url`` required).
    url : str, optional
        Base URL of the repository (``https://zenodo.org`` for Zenodo).
    publish : bool
        Publish the draft (mints a DOI; irreversible). Default: leave it as a draft to
        review on the repository's site.

    Raises
    ------
    AuthenticationError
        If no token is set or the repository rejects it.
    TargetError
        If the repository refuses a step (its validation messages are included).
    """
    import requests
    from inveniordm_py.client import InvenioAPI
    from inveniordm_py.files.metadata import FilesListMetadata, OutgoingStream
    from inveniordm_py.records.metadata import DraftMetadata

    class _Upload(OutgoingStream):
        """An upload body: the open file itself (the client sends ``to_request()``)."""

        def __init__(self, handle: Any) -> None:
            self._data = handle

    root = base_url(repository, url)
    token = deposit_token(repository)
    zip_path = Path(zip_path)
    client = InvenioAPI(f"{root}/api", token)
    step = "create a draft"
    try:
        draft = client.records.create(data=DraftMetadata(**invenio_metadata(meta)))
        step = f"upload {zip_path.name}"
        draft.files.create(FilesListMetadata([{"key": zip_path.name}]))
        upload = draft.files(zip_path.name)
        with zip_path.open("rb") as handle:
            upload.set_contents(_Upload(handle))
        committed = upload.commit()
        checksum = str(committed.data["checksum"] or "")
        record_id = str(draft.data["id"])
        html_url = str(draft.data["links"].get("self_html", ""))
        if not publish:
            return DepositResult(record_id, "draft", html_url, "", checksum)
        step = "publish the draft"
        record = draft.publish()
        data = record.data
        doi = str(((data["pids"] or {}).get("doi") or {}).get("identifier", ""))
        return DepositResult(str(data["id"]), "published",
                             str(data["links"].get("self_html", "")), doi, checksum)
    except (requests.RequestException, KeyError, ValueError) as exc:
        raise _error_for(exc, root, token, step) from None
    finally:
        client.session.close()
