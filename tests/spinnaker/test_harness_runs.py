"""The emulator as a repro target: the reference network and a classic script, end to end."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from repro.config.experiment import load_experiment, script_experiment
from repro.execution.dispatch import run_experiment
from repro.records.run_crate import verify_crate
from repro.records.store import Store
from repro.site.spikefile import read_spikes
from repro.targets.tables import resolve_targets

REFERENCE = Path(__file__).resolve().parents[2] / "experiments" / "balanced_random"


def _run(experiment, store: Path, seeds: list[int]):
    outcomes = run_experiment(experiment, resolve_targets(["spinnaker_emulator"], experiment),
                              seeds, Store(store))
    assert all(o.ok for o in outcomes), [o.record.extra for o in outcomes]
    return [Store(store).crate_dir(o.record) for o in outcomes]


@pytest.mark.slow
def test_reference_network_runs_on_the_emulator_through_the_harness(tmp_path):
    (crate,) = _run(load_experiment(REFERENCE), tmp_path / "crates", [1])
    assert verify_crate(crate) == []
    environment = json.loads((crate / "environment.json").read_text())
    assert environment["simulator"]["name"] == "sPyNNaker-emulator"
    assert environment["simulator"]["emulates"] == "sPyNNaker 7.4.1"
    assert environment["simulator"]["timestep_ms"] == 1.0
    provenance = json.loads((crate / "provenance.json").read_text())
    assert provenance["emulation"] is True
    models = {p["label"]: p["model"] for p in provenance["populations"]}
    assert models["exc"] == models["inh"] == "IF_curr_exp"
    assert "SpikeSourcePoisson" in models.values()
    assert len(provenance["projections"]) == 6
    assert all("ring_buffer_saturations" in p and "weights_rounded_to_zero" in p
               for p in provenance["projections"])
    spikes = {p.name: p for p in read_spikes(crate / "spikes.npz")}
    for name in ("exc", "inh"):
        rate = spikes[name].n_spikes / spikes[name].size
        assert 5.0 < rate < 60.0, (name, rate)


def test_classic_spinnaker_script_runs_on_the_emulator(tmp_path):
    """Also a DistanceDependentProbabilityConnector between grids: "d < 0.5" connects each
    source only to the cell at its own position (3 ms later than the delay-1 relay)."""
    script = tmp_path / "relay.py"
    script.write_text(textwrap.dedent("""
        import pyNN.spiNNaker as sim
        from pyNN.space import Grid2D

        sim.setup(timestep=1.0)
        sim.set_number_of_neurons_per_core(sim.IF_curr_exp, 64)
        grid = Grid2D(dx=1.0, dy=1.0)
        src = sim.Population(4, sim.SpikeSourceArray(spike_times=[5.0, 15.0]), label="src",
                             structure=grid)
        cells = sim.Population(4, sim.IF_curr_exp(tau_syn_E=0.5), label="cells")
        echo = sim.Population(4, sim.IF_curr_exp(tau_syn_E=0.5), label="echo", structure=grid)
        sim.Projection(src, cells, sim.OneToOneConnector(),
                       sim.StaticSynapse(weight=40.0, delay=1.0))
        sim.Projection(src, echo, sim.DistanceDependentProbabilityConnector("d < 0.5"),
                       sim.StaticSynapse(weight=40.0, delay=3.0))
        cells.record("spikes")
        echo.record("spikes")
        sim.run(30.0)
        sim.end()
    """))
    (crate,) = _run(script_experiment(script), tmp_path / "crates", [1])
    spikes = {p.name: p for p in read_spikes(crate / "spikes.npz")}
    # Sent in ticks 5 and 15, delay 1: the crossing is found in ticks 6 and 16.
    assert sorted(set(spikes["cells"].times.tolist())) == [6.0, 16.0]
    assert sorted(spikes["echo"].times.tolist()) == [8.0] * 4 + [18.0] * 4
