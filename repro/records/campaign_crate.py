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
from repro.records.entities import (
    METADATA_FILE,
    PROCESS_PROFILE,
    PROVENANCE_PROFILE,
    REPRO_URL,
    add_agent,
    add_context,
    add_file,
    add_parameter,
    add_software,
    bind,
    file_properties,
    new_crate,
)
from repro.records.run_crate import atomic_directory
from repro.site.clock import utc_now
from repro.site.envinfo import sha256_file

if TYPE_CHECKING:  # the comparison layer sits above records: types only
    from rocrate.rocrate import ROCrate

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


def _run_entity(crate: ROCrate, run: RunSpikes, store_root: Path | None) -> Any:
    """A run crate compared, cited by run id, location and the sha256 of its metadata."""
    props: dict[str, Any] = {
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
    return add_context(crate, f"#run-{run.run_id}", "CreativeWork", **props)


@dataclass
class _Io:
    """Inputs and outputs of a campaign crate: data entities and their formal parameters."""

    collections: list[Any]
    run_params: list[Any]
    profile_file: Any
    profile_param: Any
    files: dict[str, tuple[Any, Any]]

    @property
    def input_params(self) -> list[Any]:
        return [*self.run_params, self.profile_param]

    @property
    def inputs(self) -> list[Any]:
        return [*self.collections, self.profile_file]

    def output(self, name: str) -> Any:
        return self.files[name][0]

    def verdict_outputs(self, part: int) -> list[Any]:
        """Entities (``part=0``) or parameters (``part=1``) of the verdict step's outputs."""
        return [pair[part] for name, pair in self.files.items() if name != STATISTICS_FILE]


def _build_metadata(root: Path, campaign: Campaign, store_root: Path | None,
                    outputs: Sequence[str]) -> None:
    """Describe the campaign in ``root/ro-crate-metadata.json``: workflow, tools, actions."""
    crate = _campaign_crate(campaign)
    agent = add_agent(crate)
    io = _Io(*_run_inputs(crate, campaign, store_root), *_profile_input(crate, root, campaign),
             _output_files(crate, root, campaign, outputs))
    tools = _tools(crate, io)
    steps = [add_context(crate, f"#step-{ident}", "HowToStep", name=ident,
                         position=str(position), workExample=tool)
             for position, (ident, tool) in enumerate(zip(("statistics", "verdict"), tools,
                                                           strict=True))]
    workflow = _workflow(crate, root, campaign, io, tools, steps)
    crate.root_dataset["mainEntity"] = workflow
    actions = _actions(crate, campaign, io, tools, workflow)
    for action in actions:
        action["agent"] = agent
    controls = [add_context(crate, f"#control-{step['name']}", "ControlAction",
                            name=f"orchestrate {step['name']}", instrument=step, object=action)
                for step, action in zip(steps, actions[:2], strict=True)]
    engine = add_software(crate, REPRO_URL, "repro", __version__)
    add_context(crate, "#organize", "OrganizeAction", name=f"repro {campaign.kind}",
                instrument=engine, object=controls, result=actions[2], agent=agent,
                **_times(campaign))
    crate.root_dataset["mentions"] = [actions[2], *actions[:2], *io.collections]
    crate.metadata.write(root)


def _campaign_crate(campaign: Campaign) -> ROCrate:
    """The empty campaign crate: name, description, profiles, publication date."""
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
    crate.root_dataset["datePublished"] = _times(campaign)["endTime"]
    return crate


def _times(campaign: Campaign) -> dict[str, str]:
    """Start, end and status shared by every action of the campaign."""
    ended = campaign.ended or utc_now()
    return {"startTime": campaign.started or ended, "endTime": ended,
            "actionStatus": "http://schema.org/CompletedActionStatus"}


def _run_inputs(crate: ROCrate, campaign: Campaign,
                store_root: Path | None) -> tuple[list[Any], list[Any]]:
    """One Collection of run crates per side, each bound to its formal parameter."""
    collections, params = [], []
    for side, runs in campaign.inputs.items():
        param = add_parameter(crate, f"runs-{side}", f"{side} runs", "Collection", required=True)
        members = [_run_entity(crate, run, store_root) for run in runs]
        collections.append(bind(add_context(crate, f"#runs-{side}", "Collection",
                                            name=f"{side} runs ({len(runs)})", hasPart=members),
                                param))
        params.append(param)
    return collections, params


def _profile_input(crate: ROCrate, root: Path, campaign: Campaign) -> tuple[Any, Any]:
    """The copied tolerance profile bound to its formal parameter."""
    param = add_parameter(crate, "profile", "tolerance profile", "File", required=True)
    entity = add_file(crate, root, PROFILE_FILE,
                      name=f"tolerance profile {campaign.profile.name} {campaign.profile.version}",
                      description=f"Copy of {Path(campaign.profile.source).name}")
    return bind(entity, param), param


def _output_files(crate: ROCrate, root: Path, campaign: Campaign,
                  outputs: Sequence[str]) -> dict[str, tuple[Any, Any]]:
    """``{file name: (file entity, formal parameter)}`` of every result file."""
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
        param = add_parameter(crate, ident, ident, "File")
        files[name] = (bind(add_file(crate, root, name, description=text), param), param)
    return files


def _tools(crate: ROCrate, io: _Io) -> tuple[Any, Any]:
    """The two steps' software: statistics, then verdict."""
    statistics = add_software(
        crate, "#tool-statistics", "repro statistics", __version__, url=REPRO_URL,
        description="Vectorised spike statistics, property-tested equal to Elephant",
        input=io.input_params, output=io.files[STATISTICS_FILE][1])
    verdict = add_software(
        crate, "#tool-verdict", "repro verdict", __version__, url=REPRO_URL,
        description="Seed-aware equivalence verdicts",
        input=[io.files[STATISTICS_FILE][1], io.profile_param], output=io.verdict_outputs(1))
    return statistics, verdict


def _workflow(crate: ROCrate, root: Path, campaign: Campaign, io: _Io, tools: Sequence[Any],
              steps: list[Any]) -> Any:
    """``workflow.json`` as the crate's ComputationalWorkflow with its steps and parameters."""
    from rocrate.model.computerlanguage import ComputerLanguage

    language = crate.add(ComputerLanguage(crate, "#repro-campaign-language", properties={
        "name": "repro campaign workflow (JSON)", "identifier": CAMPAIGN_FORMAT, "version": "1"}))
    workflow = crate.add_workflow(
        root / WORKFLOW_FILE, dest_path=WORKFLOW_FILE, lang=language, properties={
            "@type": ["File", "SoftwareSourceCode", "ComputationalWorkflow", "HowTo"],
            "name": f"repro {campaign.kind} workflow",
            "description": "The comparison procedure and its settings",
            **file_properties(root / WORKFLOW_FILE), "version": __version__})
    workflow["hasPart"] = list(tools)
    workflow["step"] = steps
    workflow["input"] = io.input_params
    workflow["output"] = [param for _, param in io.files.values()]
    return workflow


def _actions(crate: ROCrate, campaign: Campaign, io: _Io, tools: Sequence[Any],
             workflow: Any) -> list[Any]:
    """The statistics, verdict and whole-campaign CreateActions, in that order."""
    times = _times(campaign)
    overall = campaign.summary.get("overall")
    return [
        crate.add_action(tools[0], identifier="#action-statistics", object=io.inputs,
                         result=io.output(STATISTICS_FILE), properties={
                             "name": "compute statistics", **times,
                             "description": "statistics of every population of every run"}),
        crate.add_action(tools[1], identifier="#action-verdict",
                         object=[io.output(STATISTICS_FILE), io.profile_file],
                         result=io.verdict_outputs(0), properties={
                             "name": "judge", **times,
                             "description": "verdict per population and statistic"}),
        crate.add_action(workflow, identifier="#campaign", object=io.inputs,
                         result=[entity for entity, _ in io.files.values()], properties={
                             "name": campaign.title, **times,
                             "description": f"overall verdict: {overall}" if overall
                             else campaign.kind}),
    ]
