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

    exp = variant_experiment(tmp_path / "e", "e", {"seeds = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]":
                                                   "seeds = [1, 2]\nnoise_seeds = 0"})
    with pytest.raises(ExperimentError, match="noise_seeds"):
        load_experiment(exp)


@pytest.fixture(scope="module")
def paired_runs(tmp_path_factory):
    """Small network: seeds 1-3 x 2 noise replicates, weights x 1.10 on seeds 1-3 (noise
    replicate 1), seeds 4-6; and seeds 1-2 on the emulator."""
    from repro.execution.dispatch import run_experiment
    from repro.records.store import Store
    from repro.targets.tables import resolve_targets

    root = tmp_path_factory.mktemp("paired")
    store = Store(root / "store")
    base = variant_experiment(root / "base", "small", {
        **SMALL, "seeds = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]": "seeds = [1, 2, 3]\nnoise_seeds = 2"})
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
    groups["emulator"] = go(base, ["spinnaker_emulator"], [1, 2], replicates=[0])
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


@pytest.mark.slow
def test_pairing_accepted_for_scaled_weights_with_the_difference_named(paired_runs) -> None:
    from repro.compare.pairing import PAIRED, pair_runs
    from repro.compare.spikes import load_runs

    base = load_runs(paired_runs["base"][0::2])
    scaled = load_runs(paired_runs["w110"])
    pairing = pair_runs(base, scaled)
    assert pairing.design == PAIRED and pairing.k == 3
    assert set(pairing.differs) == {"weight"}
    # w_inh = -g * w_exc: all four recurrent projections change, the drive does not
    assert pairing.differs["weight"] == ["0:exc->exc:excitatory", "1:exc->inh:excitatory",
                                         "2:inh->exc:inhibitory", "3:inh->inh:inhibitory"]
    assert "the sides differ in weights (0:exc->exc:excitatory, " in pairing.describe()


@pytest.mark.slow
def test_pairing_refused_for_another_connectivity_seed(paired_runs) -> None:
    from repro.compare.pairing import UNPAIRED, pair_runs
    from repro.compare.spikes import load_runs

    pairing = pair_runs(load_runs(paired_runs["base"][0::2]), load_runs(paired_runs["other"]))
    assert pairing.design == UNPAIRED
    assert "has a connectivity (topology fingerprint" in pairing.reason


@pytest.mark.slow
def test_compare_uses_the_paired_design_when_the_record_allows(paired_runs) -> None:
    from repro.compare.profiles import load_profile
    from repro.compare.runs import compare_runs
    from repro.compare.spikes import load_runs

    profile = load_profile("default")
    paired = compare_runs(load_runs(paired_runs["base"]), load_runs(paired_runs["w110"]),
                          profile).summary()
    assert paired["design"] == "paired"
    assert paired["pairing"]["pairs"] == 3
    assert len(paired["pairing"]["noise_pairs"]) == 3  # the baseline's noise replicates
    assert paired["global_test"]["null"].startswith("normal samples with the cells")
    assert any(note.startswith("paired design: 3 pairs") for note in paired["notes"])
    assert all(c["noise_sd"] is not None for c in paired["cells"] if c["statistic"] == "rate")
    unpaired = compare_runs(load_runs(paired_runs["base"][0::2]),
                            load_runs(paired_runs["other"]), profile).summary()
    assert unpaired["design"] == "unpaired"
    assert any("unpaired design" in note for note in unpaired["notes"])


@pytest.fixture(scope="module")
def noise_only_runs(tmp_path_factory):
    """30 connectivity seeds x 2 noise seeds of a 100-neuron copy, built in one NEST process."""
    import subprocess
    import sys

    import numpy as np

    from repro.compare.spikes import RunSpikes
    from repro.site.spikefile import PopulationSpikes

    out = tmp_path_factory.mktemp("noise") / "pairs.npz"
    script = Path(__file__).parent / "data" / "noise_pairs.py"
    subprocess.run([sys.executable, str(script), str(out), "30", "100", "500"], check=True,
                   capture_output=True)
    data = np.load(out)
    runs = {}
    for seed in range(1, 31):
        for replicate in (0, 1):
            pops = tuple(PopulationSpikes(
                name, int(data[f"{seed}/{replicate}/{name}/indptr"].size - 1), "IF_curr_exp",
                0.0, 500.0, data[f"{seed}/{replicate}/{name}/indptr"].astype(np.int64),
                data[f"{seed}/{replicate}/{name}/times"]) for name in ("exc", "inh"))
            runs[(seed, replicate)] = RunSpikes(f"s{seed}r{replicate}", "local", seed, pops)
    return runs


@pytest.mark.slow
def test_paired_false_alarm_rate_on_noise_only_pairs(noise_only_runs) -> None:
    """Same connectivity, other noise seed: the paired test must reject at most at its level."""
    import numpy as np

    from repro.compare.comparison import cell_inputs
    from repro.compare.dataset import statistics_dataset
    from repro.compare.paired import paired_test
    from repro.compare.paired_verdict import judge_paired
    from repro.compare.pairing import PAIRED, Pairing
    from repro.compare.profiles import load_profile

    profile = load_profile("default")
    runs = list(noise_only_runs.values())
    ids = [r.run_id for r in runs]
    stats = statistics_dataset(runs, profile.statistics)
    cells = cell_inputs(stats, ids, profile.compare)
    means = np.array([c.run_means for c in cells.values()]).T
    position = {key: i for i, key in enumerate(noise_only_runs)}
    d = np.array([means[position[(s, 1)]] - means[position[(s, 0)]] for s in range(1, 31)])
    rng = np.random.default_rng(5)
    rejected, tested, any_fail = 0, 0, 0
    n_subsets = 100
    for _ in range(n_subsets):
        seeds = sorted(rng.choice(np.arange(1, 31), 5, replace=False).tolist())
        for j in range(d.shape[1]):
            column = d[[s - 1 for s in seeds], j]
            if np.isfinite(column).all() and column.std() > 0:
                tested += 1
                rejected += paired_test(column, needed_p=0.0).p_value <= 0.05
        base = [f"s{s}r0" for s in seeds]
        cand = [f"s{s}r1" for s in seeds]
        index = [ids.index(i) for i in (*base, *cand)]
        subset = {key: data.subset(index) for key, data in cells.items()}
        pairing = Pairing(PAIRED, "test", [(str(s), [b], [c]) for s, b, c in
                                           zip(seeds, base, cand, strict=True)])
        verdicts = judge_paired(subset, 5, profile, base, cand, pairing)
        any_fail += verdicts.attrs["overall"] == "fail"
    assert tested > 1000
    # nominal 5 % per cell; the subsets share the pool's 30 seeds, whose own chance offsets
    # (measured: |t| up to 2.9 over 30 pairs in one cell) add to the rate: 5.8 % measured
    assert rejected / tested <= 0.08, rejected / tested
    # the verdict (significant after BH / max-|t| and beyond the margin): nominal q = 5 %
    assert any_fail / n_subsets <= 0.05, any_fail / n_subsets


@pytest.mark.slow
def test_nest_and_emulator_runs_of_one_connectivity_are_paired(paired_runs) -> None:
    """Cross-target: same connectivity seed -> paired; SpiNNaker numerics named with counters."""
    from repro.compare.profiles import load_profile
    from repro.compare.runs import compare_runs
    from repro.compare.spikes import load_runs

    summary = compare_runs(load_runs(paired_runs["base"][0:4:2]),
                           load_runs(paired_runs["emulator"]), load_profile("default")).summary()
    assert summary["design"] == "paired"
    assert summary["pairing"]["differs"] == {}
    numerics = [n for n in summary["notes"] if "SpiNNaker numerics" in n
                or n.startswith(("(2) delays", "(3) weight quantisation"))]
    assert len(numerics) == 3
    assert "one-step-earlier delivery" in numerics[0]
    assert "ring-buffer saturations 0" in numerics[2]
