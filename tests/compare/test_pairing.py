"""Connectivity and noise seeds apart, fingerprints in every crate, pairing proven from them.

Real NEST (and emulator) runs of a small copy of the reference network (100 neurons, 400 ms):
connectivity seeds 1-3 with two noise replicates each, a variant with recurrent excitatory
weights x 1.10 on the same connectivity seeds, and seeds 4-6 (other connectivity).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from repro.config.experiment import load_experiment, noise_seed
from repro.config.hashes import request_key
from tests.fixtures.runs import variant_experiment

SMALL = {"n_neurons = 500": "n_neurons = 100", "duration = 1000.0": "duration = 400.0"}


def test_noise_seed_replicate_zero_is_the_plain_run() -> None:
    assert noise_seed(3, 0) is None
    assert len({noise_seed(3, r) for r in range(1, 20)}) == 19
    assert request_key("m", {"t": 1}, 3) == request_key("m", {"t": 1}, 3, None)
    assert request_key("m", {"t": 1}, 3) != request_key("m", {"t": 1}, 3, noise_seed(3, 1))


def test_noise_seeds_option_is_validated(tmp_path: Path) -> None:
    from repro.errors import ExperimentError

    exp = variant_experiment(tmp_path / "e", "e", {"seeds = [1, 2, 3, 4, 5]":
                                                   "seeds = [1, 2]\nnoise_seeds = 0"})
    with pytest.raises(ExperimentError, match="noise_seeds"):
        load_experiment(exp)


@pytest.fixture(scope="module")
def paired_runs(tmp_path_factory):
    """Small network: seeds 1-3 x 2 noise replicates, weights x 1.10 on seeds 1-3 (noise
    replicate 1), seeds 4-6; and seed 1 on the emulator."""
    from repro.execution.dispatch import run_experiment
    from repro.records.store import Store
    from repro.targets.tables import resolve_targets

    root = tmp_path_factory.mktemp("paired")
    store = Store(root / "store")
    base = variant_experiment(root / "base", "small", {
        **SMALL, "seeds = [1, 2, 3, 4, 5]": "seeds = [1, 2, 3]\nnoise_seeds = 2"})
    weights = variant_experiment(root / "w110", "small_w110", {
        **SMALL, "w_exc = 1.0 ": "w_exc = 1.1 "})
    groups: dict[str, list[Path]] = {}

    def go(directory, targets, seeds, replicates=None):
        experiment = load_experiment(directory)
        outcomes = run_experiment(experiment, resolve_targets(targets, experiment), seeds,
                                  store, replicates=replicates)
        assert all(o.ok for o in outcomes), [o.record.extra for o in outcomes]
        return [store.crate_dir(o.record) for o in outcomes]

    groups["base"] = go(base, ["local"], [1, 2, 3])
    groups["w110"] = go(weights, ["local"], [1, 2, 3], replicates=[1])
    groups["other"] = go(base, ["local"], [4, 5, 6], replicates=[0])
    groups["emulator"] = go(base, ["spinnaker_emulator"], [1], replicates=[0])
    return groups


def _connectivity(crate: Path) -> dict:
    return json.loads((crate / "connectivity.json").read_text())


@pytest.mark.slow
def test_every_crate_records_connectivity_fingerprints(paired_runs) -> None:
    base = paired_runs["base"]
    assert len(base) == 6
    documents = [_connectivity(c) for c in base]
    first = documents[0]
    assert first["format"] == "repro.connectivity/1"
    assert len(first["projections"]) == 6  # 4 recurrent + 2 drive projections
    assert {(i["population"], i["variable"]) for i in first["initial_values"]} >= {
        ("exc", "v"), ("inh", "v")}
    # noise replicates share the connectivity but not the spikes
    seeds = [json.loads((c / "run_spec.json").read_text()) for c in base]
    assert [(s["seed"], s["noise_seed"] is None) for s in seeds] == [
        (1, True), (1, False), (2, True), (2, False), (3, True), (3, False)]
    assert documents[0]["combined"] == documents[1]["combined"]
    assert documents[0]["combined"]["topology"] != documents[2]["combined"]["topology"]
    spikes = [(c / "spikes.npz").read_bytes() for c in base[:2]]
    assert spikes[0] != spikes[1]
    # the emulator realises the same connectivity from the same seed, before its quantisation
    assert _connectivity(paired_runs["emulator"][0])["combined"] == first["combined"]
    # weights x 1.10: same topology and delays, other weights
    scaled = _connectivity(paired_runs["w110"][0])["combined"]
    assert scaled["topology"] == first["combined"]["topology"]
    assert scaled["delay"] == first["combined"]["delay"]
    assert scaled["weight"] != first["combined"]["weight"]
