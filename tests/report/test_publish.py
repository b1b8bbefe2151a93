"""repro publish: a zip that roc-validator accepts for the profiles it claims, refusals that
name what is missing, and deposit to a local InvenioRDM (never a real repository)."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from repro.publish.package import RUNS_DIR, orcid_checksum_ok, publication_metadata
from repro.records.run_crate import read_metadata, verify_crate
from repro.records.validation import validate_crate

pytestmark = pytest.mark.slow

ORCID = "0000-0002-1825-0097"
PUBLISH_TABLE = f"""
[publish]
title = "balanced_random: weights x 1.5 against the reference"
description = "A failing comparison kept as a reference for the report."
license = "CC0-1.0"
keywords = ["spiking networks", "reproducibility"]
authors = [{{ name = "Josiah Carberry", orcid = "{ORCID}", affiliation = "Brown University" }}]
"""


def repro(*args: str, env: dict | None = None, cwd: Path | None = None
          ) -> subprocess.CompletedProcess:
    import os

    environment = {k: v for k, v in os.environ.items()
                   if k not in ("REPRO_DEPOSIT_TOKEN", "ZENODO_TOKEN", "INVENIO_TOKEN")}
    environment.update(env or {})
    return subprocess.run([sys.executable, "-m", "repro", *args], capture_output=True,
                          text=True, env=environment, cwd=cwd, timeout=600)


@pytest.fixture(scope="module")
def experiment_file(tmp_path_factory, report_store) -> Path:
    """A copy of the reference experiment with a [publish] table."""
    directory = tmp_path_factory.mktemp("publish-exp") / "balanced_random"
    shutil.copytree(report_store.experiments["reference"], directory)
    with (directory / "experiment.toml").open("a") as handle:
        handle.write(PUBLISH_TABLE)
    return directory / "experiment.toml"


@pytest.fixture(scope="module")
def published(report_store, experiment_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("published") / "campaign.zip"
    result = repro("publish", str(report_store.campaigns["small"]), "--experiment",
                   str(experiment_file), "--output", str(out), "--json",
                   "--store", str(report_store.store))
    assert result.returncode == 0, result.stderr
    return out, json.loads(result.stdout)


def test_zip_is_valid_for_the_profiles_it_claims(published, tmp_path):
    zip_path, printed = published
    assert printed["zip"] == str(zip_path) and zip_path.is_file()
    outcome = validate_crate(zip_path, "provenance-run-crate-0.5")
    assert outcome.passed, outcome.summary()
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(tmp_path)
    graph = read_metadata(tmp_path)
    runs = sorted(p for p in (tmp_path / RUNS_DIR).iterdir())
    assert [p.name for p in runs] == sorted(printed["runs"]) and len(runs) == 4
    for crate in runs:
        outcome = validate_crate(crate, "process-run-crate-0.5")
        assert outcome.passed, outcome.summary()
        assert verify_crate(crate) == []
        recorded = graph[f"#run-{crate.name}"]
        assert recorded["url"] == f"{RUNS_DIR}/{crate.name}/"
        assert recorded["sha256"] == hashlib.sha256(
            (crate / "ro-crate-metadata.json").read_bytes()).hexdigest()
        assert {"@id": f"{RUNS_DIR}/{crate.name}/"} in graph["./"]["hasPart"]
    assert verify_crate(tmp_path) == []


def test_zip_carries_the_publication_metadata(published, tmp_path):
    zip_path, _ = published
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(tmp_path)
    graph = read_metadata(tmp_path)
    root = graph["./"]
    assert root["name"] == "balanced_random: weights x 1.5 against the reference"
    assert root["license"] == {"@id": "https://spdx.org/licenses/CC0-1.0"}
    assert root["author"] == {"@id": f"https://orcid.org/{ORCID}"}
    person = graph[f"https://orcid.org/{ORCID}"]
    assert person["name"] == "Josiah Carberry"
    assert graph[person["affiliation"]["@id"]]["name"] == "Brown University"
    assert root["keywords"] == ["spiking networks", "reproducibility"]


def test_report_in_the_zip_links_to_the_included_run_crates(published, tmp_path):
    zip_path, printed = published
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(tmp_path)
    report = (tmp_path / "report.html").read_text()
    for run_id in printed["runs"]:
        assert f'href="{RUNS_DIR}/{run_id}/"' in report
        assert f'href="{RUNS_DIR}/{run_id}/ro-crate-metadata.json"' in report
    assert "/tmp/" not in report.split("<footer>")[0].replace(str(tmp_path), "")


def test_missing_metadata_is_refused_with_one_message_and_nothing_written(report_store,
                                                                          tmp_path):
    out = tmp_path / "campaign.zip"
    result = repro("publish", str(report_store.campaigns["small"]), "--output", str(out),
                   "--title", "only a title", "--store", str(report_store.store),
                   cwd=tmp_path)
    assert result.returncode == 2
    message = " ".join(result.stderr.split())
    assert "publish.description" in message and "publish.license" in message
    assert "publish.authors" in message and "publish.title" not in message
    assert len(result.stderr.strip().splitlines()) <= 6
    assert not out.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("orcid", "problem"), [("0000-0002-1825-0098", "checksum"),
                                                 ("1234", "malformed")])
def test_bad_orcid_is_refused(report_store, tmp_path, orcid, problem):
    result = repro("publish", str(report_store.campaigns["small"]), "--output",
                   str(tmp_path / "x.zip"), "--title", "t", "--description", "d",
                   "--license", "CC-BY-4.0", "--author", "A Person", "--orcid", orcid,
                   "--store", str(report_store.store))
    assert result.returncode == 2 and problem in result.stderr
    assert "publish.authors[0].orcid" in result.stderr
    assert not (tmp_path / "x.zip").exists()


def test_a_crate_that_does_not_validate_is_refused(report_store, experiment_file, tmp_path):
    store = tmp_path / "crates"
    shutil.copytree(report_store.store, store)
    campaign = store / "campaigns" / report_store.campaigns["small"].name
    metadata = json.loads((campaign / "ro-crate-metadata.json").read_text())
    for entity in metadata["@graph"]:
        if entity["@type"] == "ControlAction":
            del entity["instrument"]  # a Provenance Run Crate MUST name the step
    (campaign / "ro-crate-metadata.json").write_text(json.dumps(metadata))
    out = tmp_path / "out" / "campaign.zip"
    result = repro("publish", str(campaign), "--experiment", str(experiment_file),
                   "--output", str(out), "--store", str(store))
    assert result.returncode == 1
    assert "refusing to publish" in result.stderr and "provenance-run-crate" in result.stderr
    assert not out.exists() and list(out.parent.iterdir()) == []


def test_metadata_rules():
    assert orcid_checksum_ok("0000-0001-5109-3700") and orcid_checksum_ok("0000-0002-1694-233X")
    meta = publication_metadata(
        {"title": "t", "description": "d", "license": "MIT",
         "authors": [{"name": "Carberry, Josiah", "orcid": f"https://orcid.org/{ORCID}"}]},
        {"title": "flag title"}, "experiment.toml")
    assert meta.title == "flag title" and meta.authors[0].orcid == ORCID
    assert (meta.authors[0].given_name, meta.authors[0].family_name) == ("Josiah", "Carberry")


def test_deposit_uploads_the_zip_and_publishes(published, report_store, experiment_file,
                                               invenio_server):
    zip_path, _ = published
    env = {"REPRO_DEPOSIT_TOKEN": invenio_server.token}
    result = repro("publish", str(zip_path), "--deposit", "invenio", "--url",
                   invenio_server.url, "--publish-record", "--json", env=env)
    assert result.returncode == 0, result.stderr
    deposit = json.loads(result.stdout)["deposit"]
    assert deposit["state"] == "published" and deposit["doi"].startswith("10.5072/")
    import requests

    headers = {"Authorization": f"Bearer {invenio_server.token}"}
    record = requests.get(f"{invenio_server.url}/api/records/{deposit['record_id']}",
                          headers=headers, timeout=10).json()
    metadata = record["metadata"]
    assert metadata["title"] == "balanced_random: weights x 1.5 against the reference"
    assert metadata["rights"] == [{"id": "cc0-1.0"}]
    person = metadata["creators"][0]["person_or_org"]
    assert person["family_name"] == "Carberry"
    assert person["identifiers"] == [{"scheme": "orcid", "identifier": ORCID}]
    content = requests.get(f"{invenio_server.url}/api/records/{deposit['record_id']}/files/"
                           f"{zip_path.name}/content", headers=headers, timeout=30).content
    assert content == zip_path.read_bytes()
    assert deposit["checksum"] == "md5:" + hashlib.md5(content).hexdigest()
    seen = invenio_server.requests_seen()
    assert not [line for line in seen if invenio_server.token in line]
    assert invenio_server.token not in result.stdout + result.stderr
    with zipfile.ZipFile(zip_path) as archive:
        assert not [n for n in archive.namelist()
                    if invenio_server.token.encode() in archive.read(n)]


def test_deposit_without_publish_leaves_a_draft(published, report_store, experiment_file,
                                                invenio_server):
    from repro.publish.deposit import deposit

    zip_path, _ = published
    meta = publication_metadata({"title": "t", "description": "d", "license": "CC-BY-4.0",
                                 "authors": [{"name": "J C", "orcid": ORCID}]}, {}, "flags")
    import os

    os.environ["REPRO_DEPOSIT_TOKEN"] = invenio_server.token
    try:
        result = deposit(zip_path, meta, "invenio", invenio_server.url)
    finally:
        del os.environ["REPRO_DEPOSIT_TOKEN"]
    assert result.state == "draft" and result.doi == "" and "/uploads/" in result.html_url


def test_deposit_with_a_wrong_token_fails_clearly(published, report_store, experiment_file,
                                                  invenio_server):
    zip_path, _ = published
    wrong = "wrong-token-0123456789"
    result = repro("publish", str(zip_path), "--deposit", "invenio", "--url",
                   invenio_server.url, env={"REPRO_DEPOSIT_TOKEN": wrong})
    assert result.returncode == 1
    assert "rejected the access token" in result.stderr and wrong not in result.stderr


def test_deposit_without_a_token_stops_before_any_work(report_store, experiment_file,
                                                       invenio_server, tmp_path):
    out = tmp_path / "campaign.zip"
    result = repro("publish", str(report_store.campaigns["small"]), "--experiment",
                   str(experiment_file), "--output", str(out), "--deposit", "invenio",
                   "--url", invenio_server.url, "--store", str(report_store.store))
    assert result.returncode == 1 and "REPRO_DEPOSIT_TOKEN" in result.stderr
    assert not out.exists()
