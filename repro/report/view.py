"""Read a campaign crate (and the run crates it cites) into what the report shows.

This is the report's adapter to the campaign crate layout of :mod:`repro.records.campaign_crate`
(``summary.json``, ``statistics.nc``, ``verdicts.nc``, ``profile.toml`` and ``#run-<id>``
entities whose ``url`` is the run crate's path relative to the store root). Run crates are
found, in this order, inside the campaign crate (the layout of a published zip:
``runs/<run_id>/``), below the store root, at the recorded absolute path, or by run id in
the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xarray as xr

from repro.errors import InputError, IntegrityError, SelectionError
from repro.records.run_crate import METADATA_FILE, read_metadata
from repro.records.store import CAMPAIGNS_DIR, RUNS_DIR, Store
from repro.site.files import ENVIRONMENT, JOB, PROVENANCE, RESULT, RUN_SPEC, read_json

SUMMARY_FILE = "summary.json"
STATISTICS_FILE = "statistics.nc"
VERDICTS_FILE = "verdicts.nc"
SIDES = ("baseline", "candidate")


@dataclass
class RunView:
    """What the report shows about one run.

    Attributes
    ----------
    run_id, side, target, experiment : str
        Identity; ``side`` is ``baseline`` or ``candidate``.
    seed : int
        Seed.
    crate : Path or None
        Run crate directory (None if it cannot be found any more).
    facts : dict
        Site, target kind, simulator, threads, time step, container, ESD release, hashes.
    job : dict
        Facts the target reported (job ids of NMPI, UNICORE, SLURM, ...).
    timings : dict
        Harness timings (start, end, wall, build, simulate seconds).
    hardware : dict
        Hardware provenance counters (SpiNNaker), if any.
    """

    run_id: str
    side: str
    target: str
    seed: int
    experiment: str = ""
    model_hash: str = ""
    env_digest: str = ""
    crate: Path | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    job: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, Any] = field(default_factory=dict)
    hardware: dict[str, Any] = field(default_factory=dict)


@dataclass
class CampaignView:
    """Everything the report needs from one campaign crate.

    Attributes
    ----------
    directory : Path
        The campaign crate.
    summary : dict
        ``summary.json`` (overall verdict, cells, notes, profile, runs).
    statistics : xarray.Dataset
        Per-run statistics (loaded into memory).
    runs : list of RunView
        Baseline runs first, then candidate runs.
    metadata : dict
        The campaign crate's metadata graph ``{@id: entity}``.
    verdict_attrs : dict
        Attributes of ``verdicts.nc`` (FDR level, k per side, profile identity).
    problems : list of str
        Things the report must mention (run crates that could not be found or read).
    """

    directory: Path
    summary: dict[str, Any]
    statistics: xr.Dataset
    runs: list[RunView]
    metadata: dict[str, Any]
    verdict_attrs: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def campaign_id(self) -> str:
        """Directory name of the campaign crate."""
        return self.directory.name

    @property
    def title(self) -> str:
        """The campaign's name as recorded."""
        return str(self.metadata.get("./", {}).get("name") or self.campaign_id)

    @property
    def overall(self) -> str:
        """``pass``, ``warn`` or ``fail`` (``none`` when the campaign has no verdict)."""
        return str(self.summary.get("overall") or "none")

    @property
    def cells(self) -> list[dict[str, Any]]:
        """Verdict cells as recorded in the summary."""
        return list(self.summary.get("cells", []))

    def side_runs(self, side: str) -> list[RunView]:
        """Runs of one side, in recorded order."""
        return [r for r in self.runs if r.side == side]

    def side_labels(self) -> dict[str, str]:
        """A readable, distinct label per side: targets, else experiments, else seeds."""
        def describe(attribute: str, side: str) -> str:
            return ", ".join(dict.fromkeys(getattr(r, attribute) for r in self.side_runs(side)))

        for attribute in ("target", "experiment"):
            labels = {side: describe(attribute, side) for side in SIDES}
            if labels["baseline"] != labels["candidate"] and all(labels.values()):
                return labels
        return {side: f"{side} ({describe('target', side)}, seeds "
                      f"{seed_ranges([r.seed for r in self.side_runs(side)])})"
                for side in SIDES}


def seed_ranges(seeds: Sequence[int]) -> str:
    """``[1, 2, 3, 5]`` -> ``"1-3, 5"``."""
    values = sorted(set(seeds))
    parts: list[str] = []
    start = prev = None
    for seed in [*values, None]:
        if seed is not None and prev is not None and seed == prev + 1:
            prev = seed
            continue
        if start is not None:
            parts.append(str(start) if start == prev else f"{start}-{prev}")
        start = prev = seed
    return ", ".join(parts)


def store_root_of(campaign_dir: Path, store: Store | None) -> Path | None:
    """The store holding a campaign crate: ``store`` if given, else the crate's grandparent
    when that looks like a store (``campaigns/<id>`` beside ``runs/``)."""
    if store is not None:
        return store.root
    parent = campaign_dir.resolve().parent
    if parent.name == CAMPAIGNS_DIR and (parent.parent / RUNS_DIR).is_dir():
        return parent.parent
    return None


def find_run_crate(campaign_dir: Path, run_id: str, recorded: dict[str, Any],
                   store_root: Path | None, store: Store | None) -> Path | None:
    """Locate the crate of ``run_id`` (see the module docstring for the search order)."""
    entity = recorded.get("entity") or {}
    url = str(entity.get("url") or "")
    candidates = [campaign_dir / RUNS_DIR / run_id]
    if url:
        candidates.append(campaign_dir / url)
        if store_root is not None:
            candidates.append(store_root / url)
        candidates.append(Path(url))
    if recorded.get("crate"):
        candidates.append(Path(recorded["crate"]))
    for candidate in candidates:
        if (candidate / METADATA_FILE).is_file() and candidate.name == run_id:
            return candidate.resolve()
    if store is not None:
        record = store.get(run_id)
        if record is not None and (store.crate_dir(record) / METADATA_FILE).is_file():
            return store.crate_dir(record)
    return None


def run_view(side: str, recorded: dict[str, Any], crate: Path | None) -> RunView:
    """Collect what a run crate records (or only what the campaign recorded, if it is gone)."""
    view = RunView(run_id=str(recorded["run_id"]), side=side, target=str(recorded.get(
        "target", "")), seed=int(recorded.get("seed", -1)),
        model_hash=str(recorded.get("model_hash", "")),
        env_digest=str(recorded.get("env_digest", "")), crate=crate)
    if crate is None:
        return view
    spec = read_json(crate / RUN_SPEC) or {}
    environment = read_json(crate / ENVIRONMENT) or {}
    result = read_json(crate / RESULT) or {}
    simulator = environment.get("simulator") or {}
    container = environment.get("container") or {}
    view.experiment = str(spec.get("experiment", ""))
    view.job = read_json(crate / JOB) or {}
    view.timings = dict(result.get("timings") or {})
    view.hardware = read_json(crate / PROVENANCE) or {}
    view.facts = {
        "status": result.get("status", "unknown"),
        "site": environment.get("site") or spec.get("site", ""),
        "hostname": environment.get("hostname", ""),
        "simulator": f"{simulator.get('name', '')} {simulator.get('version', '')}".strip(),
        "threads": simulator.get("threads", spec.get("threads", "")),
        "mpi_processes": simulator.get("mpi_processes", ""),
        "timestep_ms": simulator.get("resolution_ms", spec.get("timestep_ms", "")),
        "container_image": container.get("image", ""),
        "container_digest": container.get("digest", ""),
        "esd_release": environment.get("esd_release") or "",
        "scheduler": environment.get("scheduler") or {},
        "python": (environment.get("python") or {}).get("version", ""),
        "backend": spec.get("backend", ""),
    }
    return view


def load_campaign_view(campaign_dir: str | Path, store: Store | None = None) -> CampaignView:
    """Read a campaign crate for the report.

    Parameters
    ----------
    campaign_dir : str or Path
        Campaign crate directory.
    store : Store, optional
        Store the run crates live in (default: the campaign's own store, if any).

    Raises
    ------
    InputError
        If the directory is not a campaign crate written by ``repro compare``.
    IntegrityError
        If its summary or statistics file is unreadable.
    """
    directory = Path(campaign_dir).resolve()
    if not (directory / METADATA_FILE).is_file():
        raise InputError("not a crate (no ro-crate-metadata.json)", path=directory)
    if not (directory / SUMMARY_FILE).is_file() or not (directory / STATISTICS_FILE).is_file():
        raise InputError(f"not a campaign crate ({SUMMARY_FILE} or {STATISTICS_FILE} missing; "
                         "campaigns are written by repro compare / regress / campaign)",
                         path=directory)
    metadata = read_metadata(directory)
    summary = read_json(directory / SUMMARY_FILE) or {}
    if not summary:
        raise IntegrityError(f"{directory / SUMMARY_FILE}: unreadable campaign summary")
    try:
        with xr.open_dataset(directory / STATISTICS_FILE) as opened:
            statistics = opened.load()
    except (OSError, ValueError) as exc:
        raise IntegrityError(f"{directory / STATISTICS_FILE}: unreadable ({exc})") from None
    verdict_attrs: dict[str, Any] = {}
    if (directory / VERDICTS_FILE).is_file():
        try:
            with xr.open_dataset(directory / VERDICTS_FILE) as opened:
                verdict_attrs = dict(opened.attrs)
        except (OSError, ValueError) as exc:
            raise IntegrityError(f"{directory / VERDICTS_FILE}: unreadable ({exc})") from None
    root = store_root_of(directory, store)
    runs, problems = [], []
    for side in SIDES:
        for recorded in summary.get(side, []):
            entity = metadata.get(f"#run-{recorded.get('run_id')}")
            crate = find_run_crate(directory, str(recorded["run_id"]),
                                   {**recorded, "entity": entity}, root, store)
            if crate is None:
                problems.append(f"run crate {recorded['run_id']} ({side}) was not found; "
                                "the report shows only what the campaign recorded about it")
            runs.append(run_view(side, recorded, crate))
    return CampaignView(directory, summary, statistics, runs, metadata, verdict_attrs, problems)


def load_spikes(view: CampaignView, run: RunView):
    """The spikes of one run (checked against the crate's recorded sha256).

    Raises
    ------
    SelectionError
        If the run's crate is missing.
    IntegrityError
        If its spike file is missing or corrupt.
    """
    from repro.compare.spikes import load_crate

    if run.crate is None:
        raise SelectionError(f"run crate {run.run_id} not found")
    return load_crate(run.crate)


def campaign_runs(view: CampaignView) -> dict[str, list]:
    """Loaded :class:`~repro.compare.spikes.RunSpikes` per side.

    Runs that cannot be read are skipped and named in ``view.problems``.
    """
    from repro.compare.spikes import load_crate

    loaded: dict[str, list] = {side: [] for side in SIDES}
    for run in view.runs:
        if run.crate is None:
            continue
        try:
            loaded[run.side].append(load_crate(run.crate))
        except (IntegrityError, SelectionError) as exc:
            view.problems.append(f"run {run.run_id}: {exc}")
    return loaded
