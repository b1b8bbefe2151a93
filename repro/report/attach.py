"""Make the report part of its campaign crate: ``report.html`` as a data entity produced by a
``CreateAction`` of ``repro report``, and an ``ro-crate-preview.html`` that links to it.

Files are written beside their destination and renamed into place, the metadata last, so an
interrupted ``repro report`` leaves the crate as it was (at worst with a stray ``.partial``
file, never with metadata that does not match its files).
"""

from __future__ import annotations

import json
import os
import tempfile
from html import escape
from pathlib import Path
from typing import Any

from repro import __version__
from repro.records.run_crate import METADATA_FILE, sha256_file

REPORT_FILE = "report.html"
PREVIEW_FILE = "ro-crate-preview.html"
REPORT_ACTION = "#action-report"
REPORT_TOOL = "#tool-report"
#: Campaign files the report is computed from (those present are cited as its objects).
REPORT_INPUTS = ("summary.json", "statistics.nc", "verdicts.nc", "profile.toml")


def _write_beside(dest: Path, data: str) -> Path:
    handle, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(data)
    os.chmod(name, 0o644)
    return Path(name)


def _refs(value: Any) -> list[dict[str, str]]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _upsert(graph: list[dict[str, Any]], entity: dict[str, Any]) -> None:
    for index, existing in enumerate(graph):
        if existing.get("@id") == entity["@id"]:
            graph[index] = entity
            return
    graph.append(entity)


def _add_ref(entity: dict[str, Any], key: str, ident: str) -> None:
    refs = _refs(entity.get(key))
    if all(ref.get("@id") != ident for ref in refs):
        refs.append({"@id": ident})
    entity[key] = refs[0] if len(refs) == 1 else refs


def updated_metadata(document: dict[str, Any], report_sha256: str, report_size: int,
                     overall: str, started: str, ended: str, present: set[str]) -> dict:
    """The campaign crate's metadata document with the report entities added or replaced.

    Parameters
    ----------
    document : dict
        Parsed ``ro-crate-metadata.json``.
    report_sha256 : str
        Hash of the report file.
    report_size : int
        Its size in bytes.
    overall : str
        The campaign's overall verdict (for the report's description).
    started, ended : str
        ISO 8601 times of the rendering.
    present : set of str
        Files present in the crate (inputs that exist are cited).
    """
    graph = document["@graph"]
    by_id = {e["@id"]: e for e in graph}
    root = by_id["./"]
    _upsert(graph, {
        "@id": REPORT_FILE, "@type": "File", "name": "validation report",
        "description": (f"Self-contained HTML validation report (overall verdict: {overall}): "
                        "verdict table, distributions, rasters, environment difference, "
                        "provenance and links to the run crates"),
        "encodingFormat": "text/html", "sha256": report_sha256,
        "contentSize": str(report_size)})
    _add_ref(root, "hasPart", REPORT_FILE)
    _upsert(graph, {
        "@id": REPORT_TOOL, "@type": "SoftwareApplication", "name": "repro report",
        "description": "Renders a campaign crate as an HTML validation report (matplotlib "
                       "figures embedded as PNG)", "softwareVersion": __version__})
    action: dict[str, Any] = {
        "@id": REPORT_ACTION, "@type": "CreateAction", "name": "render validation report",
        "instrument": {"@id": REPORT_TOOL},
        "object": [{"@id": name} for name in REPORT_INPUTS if name in present and name in by_id],
        "result": {"@id": REPORT_FILE}, "startTime": started, "endTime": ended,
        "actionStatus": "http://schema.org/CompletedActionStatus"}
    if "#agent" in by_id:
        action["agent"] = {"@id": "#agent"}
    _upsert(graph, action)
    _add_ref(root, "mentions", REPORT_ACTION)
    return document


def preview_html(document: dict[str, Any], overall: str) -> str:
    """A small ``ro-crate-preview.html``: the crate's name, description, verdict and files,
    linking to the full report."""
    by_id = {e["@id"]: e for e in document["@graph"]}
    root = by_id.get("./", {})
    files = []
    for ref in _refs(root.get("hasPart")):
        entity = by_id.get(ref.get("@id"), {})
        files.append(f'<li><a href="{escape(ref["@id"])}">{escape(ref["@id"])}</a> — '
                     f'{escape(str(entity.get("description") or entity.get("name") or ""))}'
                     "</li>")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{escape(str(root.get('name', 'campaign')))}</title>"
        "<style>body{font-family:'DejaVu Sans',Arial,sans-serif;max-width:60em;margin:2em auto;"
        "line-height:1.45}code{font-family:'DejaVu Sans Mono',monospace}</style></head><body>"
        f"<h1>{escape(str(root.get('name', 'campaign')))}</h1>"
        f"<p>{escape(str(root.get('description', '')))}</p>"
        f"<p><strong>Overall verdict: {escape(overall.upper())}</strong> — "
        f'<a href="{REPORT_FILE}">open the validation report</a>.</p>'
        f"<h2>Files</h2><ul>{''.join(files)}</ul>"
        f"<p>Machine-readable description: <a href=\"{METADATA_FILE}\"><code>{METADATA_FILE}"
        "</code></a> (RO-Crate 1.1, Workflow Run profiles).</p></body></html>\n")


def attach_report(campaign_dir: Path, html: str, overall: str, started: str,
                  ended: str) -> Path:
    """Write ``html`` as the campaign's ``report.html`` and record it in the crate.

    Returns
    -------
    Path
        The report file.
    """
    campaign_dir = Path(campaign_dir)
    metadata_path = campaign_dir / METADATA_FILE
    document = json.loads(metadata_path.read_text(encoding="utf-8"))
    report_tmp = _write_beside(campaign_dir / REPORT_FILE, html)
    staged = [report_tmp]
    try:
        present = {p.name for p in campaign_dir.iterdir() if p.is_file()}
        document = updated_metadata(document, sha256_file(report_tmp),
                                    report_tmp.stat().st_size, overall, started, ended, present)
        preview_tmp = _write_beside(campaign_dir / PREVIEW_FILE, preview_html(document, overall))
        staged.append(preview_tmp)
        metadata_tmp = _write_beside(metadata_path, json.dumps(document, indent=4) + "\n")
        staged.append(metadata_tmp)
        os.replace(report_tmp, campaign_dir / REPORT_FILE)
        os.replace(preview_tmp, campaign_dir / PREVIEW_FILE)
        os.replace(metadata_tmp, metadata_path)
    finally:
        for path in staged:
            path.unlink(missing_ok=True)
    return campaign_dir / REPORT_FILE
