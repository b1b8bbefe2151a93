"""Files a run produces, from the harness to the crate: one table of names, one lenient reader.

The harness writes its outputs under these names, targets fetch them, the dispatcher reads
them and the run crate describes them with the descriptions here; files a target kind adds
(its launcher log, a batch system's output) are described by the kind itself
(``Target.output_files``). Site-side module: standard library only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SPIKES = "spikes.npz"
ENVIRONMENT = "environment.json"
RESULT = "result.json"
HARNESS_LOG = "harness.log"
PROVENANCE = "provenance.json"
PORTABILITY = "portability.json"
CONNECTIVITY = "connectivity.json"
FROZEN_INPUT = "frozen_input.npz"
JOB = "job.json"
RUN_SPEC = "run_spec.json"

#: What a completed run that recorded no spikes says about itself (result, crate, CLI).
NO_SPIKES = f"recorded no spikes: its {SPIKES} holds no population, so there is nothing to compare"


@dataclass(frozen=True)
class OutputFile:
    """One file a run can leave behind.

    Attributes
    ----------
    name : str
        File name inside the run's output directory and its crate.
    description : str
        What it holds (the crate's ``description`` of the file).
    writer : str
        Who writes it: ``harness`` (at the site) or ``recorder`` (into the run crate).
    always : bool
        True if every finished harness run writes it (a fetch without it is incomplete).
    """

    name: str
    description: str
    writer: str
    always: bool = False


OUTPUT_FILES = (
    OutputFile(SPIKES, "Spike times per population (repro.spikes/1: CSR arrays, ms)",
               "harness", always=True),
    OutputFile(ENVIRONMENT, "Environment manifest captured at the execution site", "harness",
               always=True),
    OutputFile(RESULT, "Harness result: status, timings, warnings, error", "harness",
               always=True),
    OutputFile(HARNESS_LOG, "Everything the harness process printed", "harness", always=True),
    OutputFile(PROVENANCE, "Hardware provenance counters reported by the backend", "harness"),
    OutputFile(CONNECTIVITY, "Connectivity fingerprints (repro.connectivity/1): sha256 of each "
               "projection's topology, weights and delays and of the initial values, as the "
               "script asked for them", "harness"),
    OutputFile(FROZEN_INPUT, "Frozen input (repro.frozen-input/1): input spike trains and "
               "connection lists of this run, for replay on other targets", "harness"),
    OutputFile(PORTABILITY, "Portability notes: what the script asked for, what the target did "
               "instead, and why (feature, script line, action, numerical effect)", "recorder"),
    OutputFile(JOB, "Facts the target reported about the job", "recorder"),
)
#: Files every finished harness run writes.
HARNESS_OUTPUTS = tuple(f.name for f in OUTPUT_FILES if f.writer == "harness" and f.always)
#: ``{name: description}`` of every known output, in table order.
DESCRIPTIONS = {f.name: f.description for f in OUTPUT_FILES}


def run_completed(result: dict[str, Any], directory: Path) -> bool:
    """True if the harness ``result`` says completed and its spike file is in ``directory``."""
    return result.get("status") == "completed" and (Path(directory) / SPIKES).is_file()


def recorded_spikes(result: dict[str, Any]) -> bool:
    """False if the harness ``result`` says the run recorded no spikes (see ``NO_SPIKES``)."""
    return result.get("spikes_recorded") is not False


def read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``; None if it is missing, unreadable or not an object.

    For files a run may or may not have written; where a missing file is an error, read it
    strictly instead.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
