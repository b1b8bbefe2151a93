"""Frozen-input replay: export once, replay on NEST; NEST against itself is identical, a delay
change of one time step fails. Real NEST runs of a 100-neuron copy of the reference network."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fixtures.runs import variant_experiment
from tests.foundation.helpers import repro

pytestmark = pytest.mark.slow

SMALL = {"n_neurons = 500": "n_neurons = 100", "duration = 1000.0": "duration = 400.0",
         "seeds = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]": "seeds = [1, 2]"}
DELAYS = {"delay_mean = 1.5": "delay_mean = 1.6", "delay_min = 1.0": "delay_min = 1.1",
          "delay_max = 3.0": "delay_max = 3.1"}


@pytest.fixture(scope="module")
def replays(tmp_path_factory):
    """Export on seeds 1-2; replay the baseline twice (two noise seeds) and the delay variant."""
    from repro.config.experiment import load_experiment
    from repro.execution.dispatch import run_experiment
    from repro.records.store import Store
    from repro.targets.tables import resolve_targets

    root = tmp_path_factory.mktemp("frozen")
    store_dir = root / "store"
    base = variant_experiment(root / "base", "small", SMALL)
    delayed = variant_experiment(root / "delayed", "small_d", {**SMALL, **DELAYS})
    exported = repro("run", str(base), "--targets", "local", "--export-frozen", "--json",
                     store=store_dir)
    assert exported.returncode == 0, exported.stderr
    replayed = repro("run", str(base), "--targets", "local", "--json", "--frozen-from",
                     "experiment=small,target=local", store=store_dir)
    assert replayed.returncode == 0, replayed.stderr
    store = Store(store_dir)
    crates = {"export": [store.crate_dir(store.get(r["run_id"]))
                         for r in json.loads(exported.stdout)],
              "replay": [store.crate_dir(store.get(r["run_id"]))
                         for r in json.loads(replayed.stdout)]}
    frozen = {int(json.loads((c / "run_spec.json").read_text())["seed"]): c / "frozen_input.npz"
              for c in crates["export"]}

    def go(directory, replicates):
        experiment = load_experiment(directory)
        outcomes = run_experiment(experiment, resolve_targets(["local"], experiment), [1, 2],
                                  store, replicates=replicates, frozen_inputs=frozen)
        assert all(o.ok for o in outcomes), [o.record.extra for o in outcomes]
        return [store.crate_dir(o.record) for o in outcomes]

    crates["replay_noise"] = go(base, [1])
    crates["delayed"] = go(delayed, [0])
    return crates


def test_export_is_recorded_and_hashed(replays) -> None:
    crate = replays["export"][0]
    result = json.loads((crate / "result.json").read_text())
    assert (crate / "frozen_input.npz").is_file()
    assert "frozen_input.npz" in (crate / "ro-crate-metadata.json").read_text()
    replay = json.loads((replays["replay"][0] / "result.json").read_text())["frozen_replay"]
    assert replay["sha256"] == result["frozen_export"]
    assert replay["sources"] == 2 and replay["differs"] == []


def test_nest_replay_against_itself_gives_identical_spikes(replays) -> None:
    """Replays of one frozen input with different simulator noise seeds: bit-identical."""
    from repro.compare.profiles import load_profile
    from repro.compare.runs import compare_runs
    from repro.compare.spikes import load_runs

    for a, b in zip(replays["replay"], replays["replay_noise"], strict=True):
        assert (a / "spikes.npz").read_bytes() == (b / "spikes.npz").read_bytes()
    # and against the exporting run: every spike matched (equal to ~1e-12 ms)
    summary = compare_runs(load_runs(replays["export"]), load_runs(replays["replay"]),
                           load_profile("default")).summary()
    assert summary["design"] == "paired"  # the exporting runs replayed nothing


def test_one_step_delay_change_fails_under_replay(replays) -> None:
    from repro.compare.profiles import load_profile
    from repro.compare.runs import compare_runs
    from repro.compare.spikes import load_runs

    result = compare_runs(load_runs(replays["replay"]), load_runs(replays["delayed"]),
                          load_profile("default"))
    summary = result.summary()
    assert summary["design"] == "frozen"
    assert summary["overall"] == "fail"
    assert summary["pairing"]["differs"] == {"delay": [
        "0:exc->exc:excitatory", "1:exc->inh:excitatory", "2:inh->exc:inhibitory",
        "3:inh->inh:inhibitory", "4:drive_exc->exc:excitatory", "5:drive_inh->inh:excitatory"]}
    frozen = summary["frozen"]
    assert frozen["matched_pairs"] == 0
    for row in frozen["populations"].values():
        assert max(row["matched_fraction"]) < 0.5
        assert all(d is not None and d < 100.0 for d in row["first_divergence_ms"])
    assert any(n.startswith("frozen-input design: 0 of 2 replayed pairs match")
               for n in summary["notes"])


def test_replay_on_another_connectivity_is_refused(replays, tmp_path: Path) -> None:
    """A network whose topology differs from the exported one cannot replay its input."""
    from repro.config.experiment import load_experiment
    from repro.execution.dispatch import run_experiment
    from repro.records.store import Store
    from repro.targets.tables import resolve_targets

    exp = variant_experiment(tmp_path / "e", "small_p", {**SMALL, "p_connect = 0.1":
                                                         "p_connect = 0.12"})
    experiment = load_experiment(exp)
    outcomes = run_experiment(experiment, resolve_targets(["local"], experiment), [1],
                              Store(tmp_path / "s"),
                              frozen_inputs={1: replays["export"][0] / "frozen_input.npz"})
    assert not outcomes[0].ok
    assert "frozen replay needs the reference run's connectivity" in \
        outcomes[0].record.extra["error"]
