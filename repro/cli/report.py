"""``repro report`` and ``repro publish``: the validation report, the publishable zip, deposit."""

from __future__ import annotations

from pathlib import Path

import typer

from repro.cli.common import (
    STORE_OPTION,
    ExperimentOption,
    JsonOption,
    console,
    err_console,
    experiment_file,
    open_store,
    print_json,
)
from repro.errors import InputError

CAMPAIGN_ARGUMENT = typer.Argument(
    ..., help="Campaign crate: a directory, a campaign id (or unique prefix) in the store's "
              "campaigns/, or 'latest'.", show_default=False)
PUBLISH_ARGUMENT = typer.Argument(
    ..., help="Campaign crate (directory, campaign id or prefix, 'latest'), or a zip that "
              "repro publish wrote (then only the deposit step runs).", show_default=False)


def report(
    campaign: str = CAMPAIGN_ARGUMENT,
    as_json: JsonOption = False,
    store: Path | None = STORE_OPTION,
) -> None:
    """Write the HTML validation report of a campaign into its crate.

    A campaign is what `repro compare`, `repro regress` or `repro campaign` recorded under
    crates/campaigns/<id>/. The report is one self-contained HTML file (figures embedded, no
    network needed): the overall verdict and what moved on top, the verdict table (R,
    distances, margins, corrected p-values per population and statistic), overlaid
    distributions and run-level means per target, raster excerpts, the environment
    difference and drift class, provenance (model hash, environments, sites, containers,
    job ids, timings) and links to every run crate. It is recorded in the campaign crate as
    report.html, and ro-crate-preview.html links to it.

    Examples:

      repro compare -e balanced_random -t local,spinnaker_emulator

      repro report latest

      chromium crates/campaigns/<id>/report.html
    """
    from repro.publish.package import resolve_campaign
    from repro.report import write_report

    run_store = open_store(store)
    directory = resolve_campaign(run_store, campaign)
    path = write_report(directory, run_store)
    if as_json:
        print_json({"report": str(path), "campaign": str(directory)})
        return
    console.print(f"report: {path}", highlight=False)


def publish(
    campaign: str = PUBLISH_ARGUMENT,
    experiment: ExperimentOption = None,
    title: str | None = typer.Option(None, "--title", help="Title of the publication."),
    description: str | None = typer.Option(None, "--description", help="What it shows."),
    license_id: str | None = typer.Option(None, "--license",
                                          help="SPDX licence id, e.g. CC-BY-4.0 or CC0-1.0."),
    authors: list[str] = typer.Option([], "--author", help="Author name (repeat per author; "
                                                          "pair each with --orcid)."),
    orcids: list[str] = typer.Option([], "--orcid", help="ORCID iD of the author given at "
                                                        "the same position."),
    affiliations: list[str] = typer.Option([], "--affiliation",
                                           help="Affiliation of the author at the same "
                                                "position (optional)."),
    keywords: list[str] = typer.Option([], "--keyword", help="Keyword (repeatable)."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Zip file to write (default: "
                                     "crates/publications/<campaign id>.zip)."),
    deposit_to: str | None = typer.Option(
        None, "--deposit", help="Then deposit the zip: 'zenodo' or 'invenio' (any InvenioRDM "
                                "instance). The token comes from $REPRO_DEPOSIT_TOKEN "
                                "(or $ZENODO_TOKEN / $INVENIO_TOKEN), never from a flag."),
    url: str | None = typer.Option(None, "--url", help="Base URL of the repository "
                                                       "(default for zenodo: "
                                                       "https://zenodo.org)."),
    publish_record: bool = typer.Option(
        False, "--publish-record",
        help="Publish the deposit (mints a DOI, cannot be undone). Without it the upload "
             "stays a draft to review on the repository's site."),
    as_json: JsonOption = False,
    store: Path | None = STORE_OPTION,
) -> None:
    """Package a campaign with all its run crates as one validated zip, optionally deposit it.

    The zip is an RO-Crate: the campaign crate (Provenance Run Crate 0.5) at its root, with
    title, description, licence and authors (name + ORCID) added and the report linking to
    the run crates, which are included unchanged under runs/<run_id>/ (Process Run Crate
    0.5). Checksums are verified and every crate is validated with roc-validator against
    the profile it claims BEFORE the zip is written; when metadata is missing or a crate
    does not validate, nothing is written and the reason is printed.

    Metadata comes from the experiment's [publish] table, flags override it:

      [publish]
      title = "balanced_random on NEST and the SpiNNaker emulator"
      description = "Cross-platform validation of the reference network"
      license = "CC-BY-4.0"
      authors = [{ name = "Ada Lovelace", orcid = "0000-0002-1825-0097" }]

    Examples:

      repro publish latest

      repro publish latest --author "Ada Lovelace" --orcid 0000-0002-1825-0097 --license CC0-1.0

      REPRO_DEPOSIT_TOKEN=... repro publish latest --deposit zenodo

      REPRO_DEPOSIT_TOKEN=... repro publish crates/publications/<id>.zip --deposit zenodo

      REPRO_DEPOSIT_TOKEN=... repro publish latest --deposit invenio --url https://repo.example.org
    """
    from repro.publish.package import (
        experiment_publish_section,
        publication_metadata,
        publish_campaign,
        recorded_publish_section,
        resolve_campaign,
    )

    run_store = open_store(store)
    if campaign.endswith(".zip") and Path(campaign).is_file():
        _deposit_existing(Path(campaign), deposit_to, url, publish_record, as_json)
        return
    directory = resolve_campaign(run_store, campaign)
    if experiment is not None:
        section, source = experiment_publish_section(experiment_file(experiment))
    else:
        section, source, name = _recorded_section(directory, run_store,
                                                  recorded_publish_section)
        local = Path("experiments") / name / "experiment.toml"
        if not section and name and local.is_file():
            section, source = experiment_publish_section(local)
    meta = publication_metadata(section, {
        "title": title, "description": description, "license": license_id,
        "keywords": list(keywords) or None,
        "authors": _flag_authors(authors, orcids, affiliations)}, source)
    if deposit_to is not None:  # check the deposit options before the slow part
        from repro.publish.deposit import base_url, deposit_token

        base_url(deposit_to, url)
        deposit_token(deposit_to)
    err_console.print("verifying checksums, re-rendering the report and validating every "
                      "crate (a few seconds per crate)...", highlight=False)
    result = publish_campaign(directory, meta, run_store, output)
    deposited = None
    if deposit_to is not None:
        from repro.publish.deposit import deposit

        deposited = deposit(result.zip_path, meta, deposit_to, url, publish=publish_record)
    if as_json:
        print_json({"zip": str(result.zip_path), "sha256": result.sha256,
                    "size": result.size, "runs": result.runs,
                    "validation": result.validations,
                    "deposit": deposited.__dict__ if deposited else None})
        return
    console.print(f"zip: {result.zip_path} ({result.size / 1e6:.1f} MB, sha256 "
                  f"{result.sha256[:16]}…)", highlight=False)
    for line in result.validations:
        console.print(f"  [green]✔[/] {line}", highlight=False)
    _print_deposit(deposited)


def _deposit_existing(zip_path: Path, deposit_to: str | None, url: str | None,
                      publish_record: bool, as_json: bool) -> None:
    """Second step: deposit a zip that ``repro publish`` already wrote (and validated)."""
    from repro.publish.deposit import base_url, deposit, deposit_token
    from repro.publish.package import metadata_from_zip
    from repro.records.validation import validate_crate

    if deposit_to is None:
        raise InputError(f"{zip_path} is already a publication zip; add --deposit zenodo "
                         "(or invenio --url ...) to upload it", field="--deposit")
    meta = metadata_from_zip(zip_path)
    base_url(deposit_to, url)
    deposit_token(deposit_to)
    outcome = validate_crate(zip_path, "provenance-run-crate-0.5")
    if not outcome.passed:
        raise InputError("not a valid Provenance Run Crate any more: "
                         + "; ".join(outcome.issues[:3]), path=zip_path)
    deposited = deposit(zip_path, meta, deposit_to, url, publish=publish_record)
    if as_json:
        print_json({"zip": str(zip_path), "deposit": deposited.__dict__})
        return
    _print_deposit(deposited)


def _print_deposit(deposited) -> None:
    if deposited is None:
        return
    if deposited.state == "published":
        console.print(f"deposited and published: {deposited.html_url} (DOI "
                      f"{deposited.doi})", highlight=False)
    else:
        console.print(f"deposited as a draft: {deposited.html_url} — review and publish "
                      "it there, or rerun with --publish-record", highlight=False)


def _recorded_section(directory: Path, store, reader) -> tuple[dict, str, str]:
    """The publish table recorded with the baseline's first run, its file, and the
    experiment's name."""
    import json

    from repro.report.view import find_run_crate, run_view, store_root_of

    summary = json.loads((directory / "summary.json").read_text())
    first = (summary.get("baseline") or [{}])[0]
    if not first:
        return {}, str(directory), ""
    crate = find_run_crate(directory, str(first["run_id"]), first,
                           store_root_of(directory, store), store)
    if crate is None:
        return {}, str(directory), ""
    section, source = reader(crate)
    return section, source, run_view("baseline", first, crate).experiment


def _flag_authors(names: list[str], orcids: list[str], affiliations: list[str]
                  ) -> list[dict[str, str]] | None:
    if not names and not orcids:
        return None
    if len(names) != len(orcids):
        raise InputError(f"give one --orcid per --author ({len(names)} authors, "
                         f"{len(orcids)} ORCID iDs)", field="--orcid")
    if len(affiliations) > len(names):
        raise InputError("more --affiliation than --author options", field="--affiliation")
    padded = [*affiliations, *[""] * (len(names) - len(affiliations))]
    return [{"name": n, "orcid": o, "affiliation": a}
            for n, o, a in zip(names, orcids, padded, strict=True)]


def register(app: typer.Typer) -> None:
    """Add ``repro report`` and ``repro publish``."""
    app.command()(report)
    app.command()(publish)
