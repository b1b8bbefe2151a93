"""Record a comparison as a campaign crate (Provenance Run Crate 0.5, RO-Crate 1.1).

The crate describes the comparison as a two-step workflow run by repro:

1. *statistics*: the runs' spikes -> per-population statistics (``statistics.nc``);
2. *verdict*: statistics + tolerance profile -> verdicts (``verdicts.nc``) and a JSON summary.

Its actions link the run crates compared (by run id, path in the store and the sha256 of
their metadata), the tolerance profile (copied in, with its hash) and the result files. Any
further outputs (a drift report, a calibration table) are attached to the verdict step. The
crate is written to a temporary directory and renamed into place when complete.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import xarray as xr

from repro import __version__
from repro.records.run_crate import (
    METADATA_FILE,
    PROCESS_PROFILE,
    PROVENANCE_PROFILE,
    REPRO_URL,
    add_file,
    atomic_directory,
    current_agent,
    new_crate,
    sha256_file,
)

if TYPE_CHECKING:  # the comparison layer sits above records: types only
    from repro.compare.profiles import Profile
    from repro.compare.spikes import RunSpikes

WORKFLOW_PROFILE = "https://w3id.org/ro/wfrun/workflow/0.5"
WORKFLOW_RO_CRATE = "https://w3id.org/workflowhub/workflow-ro-crate/1.0"
CAMPAIGN_FORMAT = "repro.campaign/1"
STATISTICS_FILE = "statistics.nc"
VERDICTS_FILE = "verdicts.nc"
SUMMARY_FILE = "summary.json"
PROFILE_FILE = "profile.toml"
WORKFLOW_FILE = "workflow.json"
BIOSCHEMAS_11_TERMS = {"ComputationalWorkflow": "https://bioschemas.org/ComputationalWorkflow",
                       "FormalParameter": "https://bioschemas.org/FormalParameter"}


@dataclass
class Campaign:
    """What a campaign crate records.

    Attributes
    ----------
    kind : str
        ``comparison``, ``regression``, ``drift`` or ``calibration``.
    title : str
        One-line name of the campaign.
    inputs : dict
        ``{side name: runs}``, e.g. ``{"baseline": [...], "candidate": [...]}``.
    profile : Profile
        Tolerance profile used.
    statistics : xarray.Dataset
        Per-run statistics.
    verdicts : xarray.Dataset or None
        Verdicts (None for campaigns without a verdict, e.g. calibration).
    summary : dict
        JSON summary (written as ``summary.json``).
    extra_outputs : dict
        ``{file name: (description, bytes)}`` attached to the verdict step.
    started, ended : str
        ISO 8601 times of the comparison.
    """

    kind: str
    title: str
    inputs: dict[str, list[RunSpikes]]
    profile: Profile
    statistics: xr.Dataset
    verdicts: xr.Dataset | None
    summary: dict[str, Any]
    extra_outputs: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    started: str = ""
    ended: str = ""


def new_campaign_id(kind: str) -> str:
    """Sortable campaign identifier: UTC time, kind, random suffix."""
    import secrets

    return f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}-{kind}-{secrets.token_hex(3)}"


def write_campaign_crate(dest: Path, campaign: Campaign, store_root: Path | None = None) -> Path:
    """Write ``campaign`` atomically as a crate at ``dest`` (which must not exist).

    Parameters
    ----------
    dest : Path
        Crate directory to create.
    campaign : Campaign
        Content.
    store_root : Path, optional
        Store root; run crates below it are cited by their path relative to it.

    Returns
    -------
    Path
        ``dest``.
    """
    with atomic_directory(dest) as tmp:
        campaign.statistics.to_netcdf(tmp / STATISTICS_FILE, engine="netcdf4")
        outputs = [STATISTICS_FILE]
        if campaign.verdicts is not None:
            campaign.verdicts.to_netcdf(tmp / VERDICTS_FILE, engine="netcdf4")
        (tmp / SUMMARY_FILE).write_text(json.dumps(campaign.summary, indent=1, sort_keys=True,
                                                   default=_json_default))
        (tmp / PROFILE_FILE).write_bytes(Path(campaign.profile.source).read_bytes())
        for name, (_, data) in campaign.extra_outputs.items():
            (tmp / name).write_bytes(data)
        (tmp / WORKFLOW_FILE).write_text(json.dumps(_workflow_document(campaign), indent=1,
                                                    sort_keys=True))
        _build_metadata(tmp, campaign, store_root, outputs)
    return dest


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def _workflow_document(campaign: Campaign) -> dict[str, Any]:
    config = campaign.profile.statistics.as_dict()
    return {
        "format": CAMPAIGN_FORMAT,
        "kind": campaign.kind,
        "engine": f"repro {__version__}",
        "steps": [
            {"id": "statistics", "position": 0,
             "function": "repro.compare.dataset.statistics_dataset",
             "description": "per population and run: rate, CV ISI, LV, Fano factor, pairwise "
                            "correlation, population rate, excluded fraction (vectorised path, "
                            "property-tested equal to Elephant)",
             "settings": config,
             "inputs": sorted(campaign.inputs), "outputs": [STATISTICS_FILE]},
            {"id": "verdict", "position": 1,
             "function": "repro.compare.comparison.compare_statistics",
             "description": "scaled Wasserstein + KS distances between runs, R = median "
                            "between / median within, permutation (or Welch) test, "
                            "Benjamini-Hochberg, equivalence margins",
             "inputs": [STATISTICS_FILE, PROFILE_FILE],
             "outputs": ([VERDICTS_FILE] if campaign.verdicts is not None else [])
             + [SUMMARY_FILE, *campaign.extra_outputs]},
        ],
        "profile": campaign.profile.identity(),
    }


def _run_entity(crate, run: RunSpikes, store_root: Path | None) -> Any:
    from rocrate.model.contextentity import ContextEntity

    props: dict[str, Any] = {
        "@type": "CreativeWork",
        "name": f"run crate {run.run_id}",
        "identifier": run.run_id,
        "description": (f"Run of model {run.model_hash[:12]} on target {run.target}, seed "
                        f"{run.seed}, environment {run.env_digest[:12]}"),
        "conformsTo": {"@id": PROCESS_PROFILE},
    }
    if run.crate is not None:
        crate_dir = Path(run.crate).resolve()
        props["sha256"] = sha256_file(crate_dir / METADATA_FILE)
        location = str(crate_dir)
        if store_root is not None and Path(store_root).resolve() in crate_dir.parents:
            location = str(crate_dir.relative_to(Path(store_root).resolve()))
        props["url"] = location
    return crate.add(ContextEntity(crate, f"#run-{run.run_id}", properties=props))


def _build_metadata(root: Path, campaign: Campaign, store_root: Path | None,
                    outputs: Sequence[str]) -> None:
    from rocrate.model.contextentity import ContextEntity

    crate = new_crate(
        name=campaign.title,
        description=(f"repro {campaign.kind} campaign: "
                     + "; ".join(f"{side}: {len(runs)} runs" for side, runs in
                                 campaign.inputs.items())
                     + f". Tolerance profile {campaign.profile.name} "
                       f"{campaign.profile.version} (sha256 {campaign.profile.sha256[:12]}…)."),
        profiles=[PROCESS_PROFILE, WORKFLOW_PROFILE, PROVENANCE_PROFILE, WORKFLOW_RO_CRATE])
    # The RO-Crate 1.1 context maps these Bioschemas types to https://bioschemas.org/<Type>;
    # stating it locally keeps the meaning whatever copy of the context a validator holds.
    crate.metadata.extra_terms.update(BIOSCHEMAS_11_TERMS)
    ended = campaign.ended or datetime.now(UTC).isoformat(timespec="seconds")
    crate.root_dataset["datePublished"] = ended
    agent = crate.add(ContextEntity(crate, "#agent", properties={"@type": "Person",
                                                                 **current_agent()}))
    crate.root_dataset["author"] = agent
    engine = crate.add(ContextEntity(crate, REPRO_URL, properties={
        "@type": "SoftwareApplication", "name": "repro", "softwareVersion": __version__,
        "url": REPRO_URL}))
    language = crate.add(ContextEntity(crate, "#repro-campaign-language", properties={
        "@type": "ComputerLanguage", "name": "repro campaign workflow (JSON)",
        "identifier": CAMPAIGN_FORMAT, "version": "1"}))

    def parameter(ident: str, name: str, kind: str) -> Any:
        return crate.add(ContextEntity(crate, f"#param-{ident}", properties={
            "@type": "FormalParameter", "name": name, "additionalType": kind,
            "conformsTo": {"@id": "https://bioschemas.org/profiles/FormalParameter/1.0-RELEASE"},
        }))

    run_params, collections = [], []
    for side, runs in campaign.inputs.items():
        param = parameter(f"runs-{side}", f"{side} runs", "Collection")
        members = [_run_entity(crate, run, store_root) for run in runs]
        collection = crate.add(ContextEntity(crate, f"#runs-{side}", properties={
            "@type": "Collection", "name": f"{side} runs ({len(runs)})", "hasPart": members,
            "exampleOfWork": param}))
        param["workExample"] = collection
        run_params.append(param)
        collections.append(collection)
    profile_param = parameter("profile", "tolerance profile", "File")
    profile_file = add_file(crate, root, PROFILE_FILE, name=(
        f"tolerance profile {campaign.profile.name} {campaign.profile.version}"),
        description=f"Copy of {Path(campaign.profile.source).name}")
    profile_file["exampleOfWork"] = profile_param
    profile_param["workExample"] = profile_file

    described = {
        STATISTICS_FILE: ("statistics", "Per-run, per-population statistics (xarray, NetCDF)"),
        VERDICTS_FILE: ("verdicts", "Verdict per population and statistic (xarray, NetCDF)"),
        SUMMARY_FILE: ("summary", "JSON summary of the comparison"),
    }
    described.update({name: (Path(name).stem, text)
                      for name, (text, _) in campaign.extra_outputs.items()})
    files = {}
    for name in [*outputs, *([VERDICTS_FILE] if campaign.verdicts is not None else []),
                 SUMMARY_FILE, *campaign.extra_outputs]:
        ident, text = described[name]
        param = parameter(ident, ident, "File")
        entity = add_file(crate, root, name, description=text)
        entity["exampleOfWork"] = param
        param["workExample"] = entity
        files[name] = (entity, param)

    stat_tool = crate.add(ContextEntity(crate, "#tool-statistics", properties={
        "@type": "SoftwareApplication", "name": "repro statistics", "url": REPRO_URL,
        "description": "Vectorised spike statistics, property-tested equal to Elephant",
        "softwareVersion": __version__,
        "input": [*run_params, profile_param], "output": files[STATISTICS_FILE][1]}))
    verdict_outputs = [files[n][1] for n in files if n != STATISTICS_FILE]
    verdict_tool = crate.add(ContextEntity(crate, "#tool-verdict", properties={
        "@type": "SoftwareApplication", "name": "repro verdict", "url": REPRO_URL,
        "description": "Seed-aware equivalence verdicts", "softwareVersion": __version__,
        "input": [files[STATISTICS_FILE][1], profile_param], "output": verdict_outputs}))
    steps = []
    for position, (ident, tool) in enumerate((("statistics", stat_tool),
                                              ("verdict", verdict_tool))):
        steps.append(crate.add(ContextEntity(crate, f"#step-{ident}", properties={
            "@type": "HowToStep", "name": ident, "position": str(position),
            "workExample": tool})))
    workflow_path = root / WORKFLOW_FILE
    workflow = crate.add_file(workflow_path, dest_path=WORKFLOW_FILE, properties={
        "@type": ["File", "SoftwareSourceCode", "ComputationalWorkflow", "HowTo"],
        "name": f"repro {campaign.kind} workflow",
        "description": "The comparison procedure and its settings",
        "sha256": sha256_file(workflow_path), "contentSize": str(workflow_path.stat().st_size),
        "encodingFormat": "application/json", "version": __version__})
    workflow["programmingLanguage"] = language
    workflow["hasPart"] = [stat_tool, verdict_tool]
    workflow["step"] = steps
    workflow["input"] = [*run_params, profile_param]
    workflow["output"] = [param for _, param in files.values()]
    crate.root_dataset["mainEntity"] = workflow

    started = campaign.started or ended
    common = {"startTime": started, "endTime": ended,
              "actionStatus": "http://schema.org/CompletedActionStatus"}
    stat_run = crate.add_action(stat_tool, identifier="#action-statistics",
                                object=[*collections, profile_file],
                                result=files[STATISTICS_FILE][0],
                                properties={"name": "compute statistics", **common,
                                            "description": "statistics of every population "
                                                           "of every run"})
    verdict_run = crate.add_action(verdict_tool, identifier="#action-verdict",
                                   object=[files[STATISTICS_FILE][0], profile_file],
                                   result=[files[n][0] for n in files if n != STATISTICS_FILE],
                                   properties={"name": "judge", **common,
                                               "description": "verdict per population and "
                                                              "statistic"})
    overall = campaign.summary.get("overall")
    campaign_run = crate.add_action(
        workflow, identifier="#campaign", object=[*collections, profile_file],
        result=[entity for entity, _ in files.values()],
        properties={"name": campaign.title, **common,
                    "description": f"overall verdict: {overall}" if overall else campaign.kind})
    for action in (stat_run, verdict_run, campaign_run):
        action["agent"] = agent
    controls = []
    for step, action in zip(steps, (stat_run, verdict_run), strict=True):
        controls.append(crate.add(ContextEntity(crate, f"#control-{step['name']}", properties={
            "@type": "ControlAction", "name": f"orchestrate {step['name']}",
            "instrument": step, "object": action})))
    crate.add(ContextEntity(crate, "#organize", properties={
        "@type": "OrganizeAction", "name": f"repro {campaign.kind}", "instrument": engine,
        "object": controls, "result": campaign_run, "agent": agent, **common}))
    crate.root_dataset["mentions"] = [campaign_run, stat_run, verdict_run, *collections]
    crate.metadata.write(root)

