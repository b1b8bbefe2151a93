"""Package a campaign crate with all its run crates as one validated zip for a repository.

The zip is an RO-Crate: its root is a copy of the campaign crate (Provenance Run Crate 0.5)
with the publication metadata (title, description, licence, authors with ORCID) and the
report re-rendered so that it links to the run crates, which are included unchanged under
``runs/<run_id>/`` (each a Process Run Crate 0.5, still matching the checksums the campaign
recorded). Every crate is validated with roc-validator against the profile it claims before
the zip is written; nothing is written when metadata is missing or a crate does not validate.

Publication metadata comes from the ``[publish]`` table of the experiment file (the copy
recorded in the baseline's first run crate, or a file given explicitly) and from flags::

    [publish]
    title = "balanced_random on NEST and the SpiNNaker emulator"
    description = "Cross-platform validation campaign ..."
    license = "CC-BY-4.0"                       # SPDX identifier
    keywords = ["spiking neural networks", "reproducibility"]
    authors = [{ name = "Ada Lovelace", orcid = "0000-0002-1825-0097",
                 affiliation = "Analytical Engines Ltd" }]
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import tomllib
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from repro.errors import InputError, IntegrityError, ReproError
from repro.records.run_crate import METADATA_FILE, PROCESS_PROFILE, sha256_file, verify_crate
from repro.records.store import Store
from repro.site.clock import utc_now

PUBLICATIONS_DIR = "publications"
RUNS_DIR = "runs"
PROFILE_IDS = {"campaign": "provenance-run-crate-0.5", "run": "process-run-crate-0.5"}
REQUIRED = ("title", "description", "license", "authors")
_SPDX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+-]*$")
_ORCID = re.compile(r"^(?:https?://orcid\.org/)?(\d{4}-\d{4}-\d{4}-\d{3}[\dX])$")


class PublishError(ReproError):
    """A crate of the campaign does not validate against the profile it claims."""

    exit_code = 1


@dataclass(frozen=True)
class Author:
    """An author of the publication.

    Attributes
    ----------
    name : str
        Full name as it should be cited.
    orcid : str
        ORCID iD (``0000-0002-1825-0097``), checksum verified.
    affiliation : str
        Optional affiliation.
    given_name, family_name : str
        Name parts (derived from ``name`` when not given).
    """

    name: str
    orcid: str
    affiliation: str = ""
    given_name: str = ""
    family_name: str = ""

    @property
    def orcid_url(self) -> str:
        """``https://orcid.org/<iD>`` (the author's @id in the crate)."""
        return f"https://orcid.org/{self.orcid}"


@dataclass(frozen=True)
class PublicationMetadata:
    """Validated metadata of a publication."""

    title: str
    description: str
    license: str
    authors: tuple[Author, ...]
    keywords: tuple[str, ...] = ()
    source: str = ""

    @property
    def license_url(self) -> str:
        """SPDX URL of the licence."""
        return f"https://spdx.org/licenses/{self.license}"


def orcid_checksum_ok(orcid: str) -> bool:
    """True when the last character of an ORCID iD is its ISO 7064 MOD 11-2 check digit.

    Examples
    --------
    >>> orcid_checksum_ok("0000-0002-1825-0097")
    True
    >>> orcid_checksum_ok("0000-0002-1825-0098")
    False
    """
    digits = orcid.replace("-", "")
    if len(digits) != 16 or not digits[:15].isdigit():
        return False
    total = 0
    for char in digits[:15]:
        total = (total + int(char)) * 2
    check = (12 - total % 11) % 11
    return digits[15] == ("X" if check == 10 else str(check))


def _split_name(name: str) -> tuple[str, str]:
    if "," in name:
        family, _, given = name.partition(",")
        return given.strip(), family.strip()
    parts = name.split()
    return " ".join(parts[:-1]), parts[-1] if parts else ""


def publication_metadata(section: Mapping[str, Any], overrides: Mapping[str, Any],
                         source: str) -> PublicationMetadata:
    """Merge a ``[publish]`` table with flags (flags win) and validate the result.

    Parameters
    ----------
    section : mapping
        The ``[publish]`` table (may be empty).
    overrides : mapping
        Values from flags: ``title``, ``description``, ``license``, ``keywords`` and
        ``authors`` (list of ``{"name", "orcid", "affiliation"}``); None means not given.
    source : str
        Where ``section`` came from (named in errors).

    Raises
    ------
    InputError
        One message naming every missing or invalid field.
    """
    merged = dict(section)
    merged.update({k: v for k, v in overrides.items() if v not in (None, [], ())})
    unknown = sorted(set(section) - {*REQUIRED, "keywords"})
    if unknown:
        raise InputError(f"unknown key(s) {', '.join(unknown)} (known: "
                         f"{', '.join([*REQUIRED, 'keywords'])})", path=source,
                         field=f"publish.{unknown[0]}")
    missing = [key for key in REQUIRED if not merged.get(key)]
    if missing:
        raise InputError(
            "cannot publish: required publication metadata missing: "
            + ", ".join(f"publish.{k}" for k in missing)
            + ". Add them to the publish table of the experiment file (title, description, "
              "license = SPDX id, authors = [{ name = ..., orcid = ... }]) and pass it with "
              "--experiment, or give --title, --description, --license, --author NAME "
              "--orcid ID",
            path=source, field="publish")
    for key in ("title", "description", "license"):
        if not isinstance(merged[key], str) or not merged[key].strip():
            raise InputError("must be a non-empty string", path=source, field=f"publish.{key}")
    license_id = merged["license"].strip()
    if not _SPDX.match(license_id):
        raise InputError(f"{license_id!r} is not an SPDX licence identifier (e.g. CC-BY-4.0, "
                         "CC0-1.0, MIT)", path=source, field="publish.license")
    authors_raw = merged["authors"]
    if not isinstance(authors_raw, list):
        raise InputError("must be a list of { name = ..., orcid = ... } tables", path=source,
                         field="publish.authors")
    authors = []
    for index, raw in enumerate(authors_raw):
        where = f"publish.authors[{index}]"
        if not isinstance(raw, Mapping):
            raise InputError("must be a table { name = ..., orcid = ... }", path=source,
                             field=where)
        name = str(raw.get("name") or "").strip()
        if not name:
            raise InputError("author name missing", path=source, field=f"{where}.name")
        match = _ORCID.match(str(raw.get("orcid") or "").strip())
        if not match:
            raise InputError(f"author {name!r}: ORCID iD missing or malformed (expected "
                             "0000-0000-0000-0000)", path=source, field=f"{where}.orcid")
        if not orcid_checksum_ok(match.group(1)):
            raise InputError(f"author {name!r}: ORCID iD {match.group(1)} fails its checksum",
                             path=source, field=f"{where}.orcid")
        given, family = _split_name(name)
        authors.append(Author(name=name, orcid=match.group(1),
                              affiliation=str(raw.get("affiliation") or ""),
                              given_name=str(raw.get("given_name") or given),
                              family_name=str(raw.get("family_name") or family)))
    keywords = merged.get("keywords") or []
    if not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords):
        raise InputError("must be a list of strings", path=source, field="publish.keywords")
    return PublicationMetadata(title=merged["title"].strip(),
                               description=merged["description"].strip(), license=license_id,
                               authors=tuple(authors), keywords=tuple(keywords), source=source)


def recorded_publish_section(run_crate: Path) -> tuple[dict[str, Any], str]:
    """The ``[publish]`` table of the experiment file recorded in a run crate.

    Returns ``({}, path)`` when the crate recorded no experiment file or no such table.
    """
    path = run_crate / "network" / "experiment.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return {}, str(path)
    section = data.get("publish", {})
    return (section if isinstance(section, dict) else {}), str(path)


def experiment_publish_section(experiment_file: Path) -> tuple[dict[str, Any], str]:
    """The ``[publish]`` table of an experiment file (or directory).

    Raises
    ------
    InputError
        If the file cannot be read.
    """
    from repro.config.experiment import load_experiment

    experiment = load_experiment(experiment_file)
    return dict(experiment.publish), str(experiment.path)


def metadata_from_zip(zip_path: Path) -> PublicationMetadata:
    """Read the publication metadata back from a zip written by :func:`publish_campaign`.

    Raises
    ------
    InputError
        If the file is not such a zip.
    """
    try:
        with zipfile.ZipFile(zip_path) as archive:
            document = json.loads(archive.read(METADATA_FILE))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise InputError(f"not a zip written by repro publish ({exc})", path=zip_path) from None
    by_id = {e.get("@id"): e for e in document.get("@graph", [])}
    root = by_id.get("./", {})
    authors = []
    for ref in _refs(root.get("author")):
        person = by_id.get(ref.get("@id"), {})
        affiliation = by_id.get((person.get("affiliation") or {}).get("@id"), {})
        authors.append({"name": person.get("name", ""), "orcid": ref.get("@id", ""),
                        "affiliation": affiliation.get("name", "")})
    license_url = (root.get("license") or {}).get("@id", "")
    section = {"title": root.get("name"), "description": root.get("description"),
               "license": license_url.rsplit("/", 1)[-1], "authors": authors,
               "keywords": root.get("keywords") or []}
    return publication_metadata(section, {}, str(zip_path))


def resolve_campaign(store: Store, reference: str | Path) -> Path:
    """A campaign crate from a path, a campaign id (or unique prefix), or ``latest``.

    Raises
    ------
    InputError
        If nothing (or more than one campaign) matches.
    """
    path = Path(reference)
    if (path / METADATA_FILE).is_file():
        return path.resolve()
    campaigns = sorted(p for p in store.campaigns_dir.glob("*")
                       if (p / METADATA_FILE).is_file()) if store.campaigns_dir.is_dir() else []
    if str(reference) == "latest":
        if not campaigns:
            raise InputError(f"no campaign crates in {store.campaigns_dir}", field="CAMPAIGN")
        return campaigns[-1]
    matches = [p for p in campaigns if p.name.startswith(str(reference))]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise InputError(f"{reference!r} matches {len(matches)} campaigns; give more of the id",
                         field="CAMPAIGN")
    raise InputError(f"{reference}: neither a campaign crate directory nor a campaign id in "
                     f"{store.campaigns_dir} (use 'latest' for the newest)", field="CAMPAIGN")


@dataclass
class PublishResult:
    """What ``publish_campaign`` produced."""

    zip_path: Path
    sha256: str
    size: int
    runs: list[str]
    validations: list[str] = field(default_factory=list)
    metadata: PublicationMetadata | None = None


def _refs(value: Any) -> list[dict[str, str]]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _one_or_many(refs: list[dict[str, str]]) -> Any:
    return refs[0] if len(refs) == 1 else refs


def _referenced_ids(graph: Sequence[dict[str, Any]]) -> set[str]:
    """Every ``@id`` some entity refers to (not counting entities' own ids)."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if set(value) == {"@id"}:
                found.add(value["@id"])
            for key, item in value.items():
                if key != "@id":
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for entity in graph:
        walk({k: v for k, v in entity.items() if k != "@id"})
    return found


def published_metadata(document: dict[str, Any], meta: PublicationMetadata,
                       run_ids: Sequence[str], date: str) -> dict[str, Any]:
    """The campaign metadata document as published: publication metadata on the root, run
    crates as ``runs/<id>/`` data entities (Datasets conforming to Process Run Crate)."""
    graph = document["@graph"]
    by_id = {e["@id"]: e for e in graph}
    root = by_id["./"]
    root["name"] = meta.title
    root["description"] = meta.description
    root["datePublished"] = date
    if meta.keywords:
        root["keywords"] = list(meta.keywords)
    old_license = _refs(root.get("license"))
    root["license"] = {"@id": meta.license_url}
    people = []
    for author in meta.authors:
        person: dict[str, Any] = {"@id": author.orcid_url, "@type": "Person", "name": author.name,
                                  "identifier": author.orcid_url}
        if author.affiliation:
            org_id = f"#org-{re.sub(r'[^A-Za-z0-9]+', '-', author.affiliation).strip('-')}"
            person["affiliation"] = {"@id": org_id}
            by_id[org_id] = {"@id": org_id, "@type": "Organization", "name": author.affiliation}
        by_id[author.orcid_url] = person
        people.append({"@id": author.orcid_url})
    root["author"] = _one_or_many(people)
    by_id[meta.license_url] = {"@id": meta.license_url, "@type": "CreativeWork",
                               "name": meta.license, "identifier": meta.license}
    parts = _refs(root.get("hasPart"))
    for run_id in run_ids:
        ident = f"{RUNS_DIR}/{run_id}/"
        by_id[ident] = {"@id": ident, "@type": "Dataset", "name": f"run crate {run_id}",
                        "description": "Run crate (Process Run Crate 0.5), included unchanged",
                        "conformsTo": {"@id": PROCESS_PROFILE}}
        if all(ref.get("@id") != ident for ref in parts):
            parts.append({"@id": ident})
        entity = by_id.get(f"#run-{run_id}")
        if entity is not None:
            entity["url"] = ident
            entity["about"] = {"@id": ident}
    root["hasPart"] = parts
    used = _referenced_ids(list(by_id.values()))
    document["@graph"] = [e for ident, e in by_id.items()
                          if ident not in {r.get("@id") for r in old_license} or ident in used]
    return document


def stage(campaign_dir: Path, store: Store | None, meta: PublicationMetadata,
          staging: Path) -> list[str]:
    """Copy the campaign and its run crates into ``staging`` in the published layout.

    Returns
    -------
    list of str
        Run ids included.

    Raises
    ------
    IntegrityError
        If the campaign or a run crate does not match its recorded checksums, or a run
        crate cannot be found.
    """
    from repro.report import render_campaign
    from repro.report.attach import attach_report
    from repro.report.view import find_run_crate, store_root_of

    problems = verify_crate(campaign_dir)
    if problems:
        raise IntegrityError(f"{campaign_dir}: campaign crate differs from its record: "
                             + "; ".join(problems[:5]))
    summary = json.loads((campaign_dir / "summary.json").read_text())
    metadata = json.loads((campaign_dir / METADATA_FILE).read_text())
    by_id = {e["@id"]: e for e in metadata["@graph"]}
    shutil.copytree(campaign_dir, staging, ignore=shutil.ignore_patterns(
        "*.partial", RUNS_DIR))
    root = store_root_of(campaign_dir, store)
    run_ids = []
    for side in ("baseline", "candidate"):
        for recorded in summary.get(side, []):
            run_id = str(recorded["run_id"])
            entity = by_id.get(f"#run-{run_id}") or {}
            crate = find_run_crate(campaign_dir, run_id, {**recorded, "entity": entity}, root,
                                   store)
            if crate is None:
                raise IntegrityError(f"run crate {run_id} cited by {campaign_dir} was not "
                                     "found; it cannot be published")
            problems = verify_crate(crate)
            if problems:
                raise IntegrityError(f"{crate}: run crate differs from its record: "
                                     + "; ".join(problems[:5]))
            recorded_sha = entity.get("sha256")
            if recorded_sha and sha256_file(crate / METADATA_FILE) != recorded_sha:
                raise IntegrityError(f"{crate}: its metadata changed since the campaign "
                                     "recorded it (sha256 differs)")
            shutil.copytree(crate, staging / RUNS_DIR / run_id,
                            ignore=shutil.ignore_patterns("*.partial"))
            run_ids.append(run_id)
    date = utc_now()
    document = published_metadata(metadata, meta, run_ids, date)
    (staging / METADATA_FILE).write_text(json.dumps(document, indent=4) + "\n")
    started = utc_now()
    html = render_campaign(staging, None)
    attach_report(staging, html, str(summary.get("overall") or "none"), started,
                  utc_now())
    return run_ids


def _failure(outcome, name: str) -> str:
    return f"{name} is not a valid {outcome.profile}: " + "; ".join(outcome.issues[:3])


def validate_runs(staging: Path, run_ids: Sequence[str]) -> list[str]:
    """Validate every staged run crate as a Process Run Crate; one line per crate.

    Raises
    ------
    PublishError
        Naming every run crate that fails and its first issues.
    """
    from repro.records.validation import validate_crate

    outcomes = [validate_crate(staging / RUNS_DIR / run_id, PROFILE_IDS["run"])
                for run_id in run_ids]
    failed = [_failure(o, f"run crate {o.crate.name}") for o in outcomes if not o.passed]
    if failed:
        raise PublishError("refusing to publish: " + " | ".join(failed))
    return [f"runs/{o.crate.name}: valid {o.profile}" for o in outcomes]


def write_zip(staging: Path, dest: Path) -> str:
    """Zip ``staging`` (crate root at the zip root), validate the zip as a Provenance Run
    Crate, and only then move it to ``dest``.

    Returns
    -------
    str
        The validation line of the campaign crate.

    Raises
    ------
    PublishError
        If the zipped campaign crate does not validate (nothing is written).
    """
    from repro.records.validation import validate_crate

    dest.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{dest.stem}.", suffix=".zip", dir=dest.parent)
    os.close(handle)
    try:
        with zipfile.ZipFile(name, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(staging.rglob("*")):  # directories too: they are data entities
                archive.write(path, path.relative_to(staging).as_posix()
                              + ("/" if path.is_dir() else ""))
        outcome = validate_crate(Path(name), PROFILE_IDS["campaign"])
        if not outcome.passed:
            raise PublishError("refusing to publish: " + _failure(outcome, "the campaign crate"))
        os.chmod(name, 0o644)
        os.replace(name, dest)
    finally:
        Path(name).unlink(missing_ok=True)
    return f"campaign (zip): valid {outcome.profile}"


def publish_campaign(campaign_dir: str | Path, meta: PublicationMetadata,
                     store: Store | None = None, output: Path | None = None) -> PublishResult:
    """Stage, validate and zip a campaign with all its run crates.

    Parameters
    ----------
    campaign_dir : str or Path
        Campaign crate directory.
    meta : PublicationMetadata
        Validated publication metadata (see :func:`publication_metadata`).
    store : Store, optional
        Store holding the run crates (default: the campaign's own store).
    output : Path, optional
        Zip file to write (default ``<store>/publications/<campaign id>.zip``).

    Raises
    ------
    IntegrityError
        If a crate does not match its recorded checksums or a run crate is missing.
    PublishError
        If a crate does not validate against the profile it claims.
    """
    campaign_dir = Path(campaign_dir).resolve()
    if output is None:
        base = store.root if store is not None else campaign_dir.parent.parent
        output = base / PUBLICATIONS_DIR / f"{campaign_dir.name}.zip"
    work = Path(tempfile.mkdtemp(prefix="repro-publish-"))
    try:
        staging = work / campaign_dir.name
        run_ids = stage(campaign_dir, store, meta, staging)
        validations = validate_runs(staging, run_ids)
        validations.insert(0, write_zip(staging, Path(output)))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    output = Path(output).resolve()
    return PublishResult(output, sha256_file(output), output.stat().st_size, run_ids,
                         validations, meta)
