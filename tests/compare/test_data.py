"""Loading runs: flat arrays, the spikes Dataset, neo export, validity gates, crate checks."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from repro.compare.spikes import (
    RunSpikes,
    check_comparable,
    flat_arrays,
    load_crate,
    spikes_dataset,
    to_neo,
)
from repro.errors import IntegrityError, SelectionError
from repro.site.spikefile import PopulationSpikes


def make_run(run_id: str, seed: int, sizes=(("exc", 4), ("inh", 2)), t_stop=1000.0):
    rng = np.random.default_rng(seed)
    pops = tuple(PopulationSpikes.from_trains(
        name, [np.sort(rng.uniform(0, t_stop, rng.integers(0, 6))) for _ in range(size)],
        celltype="IF_curr_exp", t_start=0.0, t_stop=t_stop) for name, size in sizes)
    return RunSpikes(run_id, "local", seed, pops, model_hash="m" * 64, env_digest="e" * 64)


def test_flat_arrays_are_sorted_by_neuron_then_time():
    pop = make_run("a", 1).populations[0]
    ids, times = flat_arrays(pop)
    order = np.lexsort((times, ids))
    np.testing.assert_array_equal(order, np.arange(ids.size))
    np.testing.assert_array_equal(np.bincount(ids, minlength=pop.size), np.diff(pop.indptr))


def test_spikes_dataset_is_labelled_by_run_target_seed_and_population():
    runs = [make_run("a", 1), make_run("b", 2)]
    ds = spikes_dataset(runs)
    assert ds["spike_count"].dims == ("run", "population", "neuron")
    assert ds["time"].dims == ("run", "population", "spike")
    assert ds["seed"].sel(run="b") == 2 and ds["target"].sel(run="a") == "local"
    assert list(ds["population"].values) == ["exc", "inh"]
    inh = ds["spike_count"].sel(run="a", population="inh").values
    assert inh[2:].tolist() == [-1, -1]          # padding beyond the 2 inhibitory neurons
    exc = runs[0].populations[0]
    times = ds["time"].sel(run="a", population="exc").values
    np.testing.assert_array_equal(times[: exc.n_spikes], exc.times)


def test_neo_export_has_one_train_per_neuron():
    run = make_run("a", 3)
    block = to_neo(run)
    assert [g.name for g in block.groups] == ["exc", "inh"]
    assert len(block.segments[0].spiketrains) == 6
    first = block.groups[0].spiketrains[0]
    np.testing.assert_allclose(first.magnitude, run.populations[0].train(0))


def test_no_runs_is_a_selection_error():
    with pytest.raises(SelectionError, match="no runs"):
        check_comparable([])


def test_different_populations_or_durations_are_refused_with_both_run_ids():
    with pytest.raises(SelectionError, match="a and b record different populations"):
        check_comparable([make_run("a", 1), make_run("b", 1, sizes=(("exc", 4),))])
    with pytest.raises(SelectionError, match="different durations"):
        check_comparable([make_run("a", 1), make_run("b", 1, t_stop=500.0)])


@pytest.mark.slow
def test_a_crate_loads_with_its_labels_and_facts(comparison_runs):
    crate = comparison_runs.crates("baseline")[0]
    run = load_crate(crate)
    assert run.run_id == crate.name and run.seed == 1 and run.target == "local"
    assert len(run.model_hash) == 64 and len(run.env_digest) == 64
    assert run.population_names == ("exc", "inh")
    assert run.facts["threads"] == 1 and run.facts["timestep_ms"] == 0.1
    assert run.facts["environment"]["packages"]


@pytest.mark.slow
def test_a_spike_file_that_differs_from_its_checksum_is_an_integrity_error(comparison_runs,
                                                                             tmp_path):
    crate = shutil.copytree(comparison_runs.crates("baseline")[0], tmp_path / "crate")
    spikes = crate / "spikes.npz"
    data = bytearray(spikes.read_bytes())
    data[-100] ^= 0xFF
    spikes.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="corrupt spike file"):
        load_crate(crate)
