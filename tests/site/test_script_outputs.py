"""Files a script writes in its working directory: what is kept, what is skipped and why,
and what the run crate says when a target did not bring a kept file back."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from repro.records.run_crate import RunFacts, read_metadata, verify_crate, write_run_crate
from repro.site.script_outputs import LIMIT_VARIABLES, Snapshot, collect


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_new_and_changed_files_are_kept_repro_files_and_unchanged_ones_are_not(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work, out = tmp_path / "work", tmp_path / "work" / "output"
    (work / "network").mkdir(parents=True)
    (work / "network" / "script.py").write_text("pass\n")
    (work / "data.csv").write_text("1,2\n")
    (work / "launcher.log").write_text("")
    (work / "site" / "repro").mkdir(parents=True)
    snapshot = Snapshot.take(work, out)
    (work / "data.csv").write_text("1,2,3\n")  # changed by the script
    (work / "plots").mkdir()
    (work / "plots" / "v.png").write_bytes(b"\x89PNG" + bytes(300))
    (work / "network" / "beside_script.pkl").write_bytes(b"x" * 10)
    (work / "big.npy").write_bytes(bytes(2000))
    (work / "link.txt").symlink_to(work / "data.csv")
    for own in ("launcher.log", "site/repro/x.py", "network/__pycache__/s.cpython-311.pyc",
                "output/harness.log", "repro.exitcode", "slurm-12.out"):
        (work / own).parent.mkdir(parents=True, exist_ok=True)
        (work / own).write_text("repro's own")
    monkeypatch.setenv(LIMIT_VARIABLES["max_file_bytes"], "1000")
    monkeypatch.setenv(LIMIT_VARIABLES["max_total_bytes"], "300")
    collected = collect(snapshot, out)
    kept = {item["path"]: item for item in collected["files"]}
    assert list(kept) == ["data.csv", "network/beside_script.pkl"]
    assert kept["data.csv"]["sha256"] == _sha(b"1,2,3\n") and kept["data.csv"]["size"] == 6
    assert (out / "script_outputs" / "network" / "beside_script.pkl").read_bytes() == b"x" * 10
    skipped = {item["path"]: item["reason"] for item in collected["skipped"]}
    assert skipped == {
        "big.npy": "larger than the per-file cap of 1000 bytes",
        "link.txt": "not a regular file (a symbolic link or special file)",
        "plots/v.png": "would pass the total cap of 300 bytes"}
    assert collected["limits"]["max_file_bytes"] == 1000
    assert sorted(os.listdir(out / "script_outputs")) == ["data.csv", "network"]


def test_a_kept_file_the_target_did_not_bring_back_is_named_in_the_crate(
        tmp_path: Path) -> None:
    """A partial fetch loses no file silently: the run's description names it."""
    outputs, bundle = tmp_path / "outputs", tmp_path / "bundle"
    (outputs / "script_outputs").mkdir(parents=True)
    (outputs / "script_outputs" / "here.txt").write_text("here")
    files = [{"path": name, "size": 4, "sha256": _sha(b"here")} for name in
             ("here.txt", "lost.txt")]
    (outputs / "result.json").write_text(json.dumps({
        "status": "failed", "error": {"type": "RuntimeError", "message": "boom"},
        "script_outputs": {"files": files, "skipped": []}}))
    (bundle / "network").mkdir(parents=True)
    (bundle / "network" / "script.py").write_text("pass\n")
    (bundle / "run_spec.json").write_text(json.dumps({"script": "network/script.py"}))
    facts = RunFacts(run_id="r1", experiment="e", target="far", target_kind="elsewhere",
                     site="s", seed=1, model_hash="m", run_key="k", request_key="q",
                     env_digest="unknown", target_identity={}, job={}, params={})
    crate = write_run_crate(tmp_path / "crate", outputs, bundle, facts)
    graph = read_metadata(crate)
    action = graph["#run-r1"]
    assert ("1 file(s) the script wrote are kept in script_outputs/; 1 file(s) the script "
            "wrote at the site were not brought back by target kind elsewhere (not in this "
            "crate; their sizes and sha256 are in result.json): lost.txt"
            ) in action["description"]
    assert {"@id": "script_outputs/here.txt"} in action["result"]
    assert graph["script_outputs/here.txt"]["sha256"] == _sha(b"here")
    assert verify_crate(crate) == []
