"""Validity gates and notes of a comparison that do not need simulations."""

from __future__ import annotations

from repro.compare.runs import distinct_results, parameter_changes, validity_notes
from repro.compare.spikes import RunSpikes


def run(run_id: str, **facts) -> RunSpikes:
    return RunSpikes(run_id, "t", 1, (), facts=facts)


def test_nonzero_hardware_provenance_counters_are_reported():
    provenance = {"populations": [{"label": "exc", "ring_buffer_saturations": 3},
                                  {"label": "inh", "ring_buffer_saturations": 0}],
                  "dropped_packets": 0}
    notes = validity_notes([run("r1", provenance=provenance)])
    assert notes == ["run r1 reports hardware provenance populations.exc."
                     "ring_buffer_saturations = 3"]


def test_different_time_steps_are_reported():
    notes = validity_notes([run("a", timestep_ms=0.1), run("b", timestep_ms=1.0)])
    assert notes == ["runs use different time steps (0.1, 1 ms)"]


def test_parameter_changes_name_nested_parameters():
    old = run("a", params={"w_exc": 1.0, "neuron": {"tau_m": 20.0}})
    new = run("b", params={"w_exc": 1.0, "neuron": {"tau_m": 21.0}, "extra": 1})
    assert parameter_changes(old, new) == ["extra: (unset) -> 1", "neuron.tau_m: 20.0 -> 21.0"]


def test_bitwise_identical_reruns_count_once():
    runs = [run("a", spikes_sha256="x"), run("b", spikes_sha256="y"),
            run("c", spikes_sha256="x")]
    kept, dropped = distinct_results(runs)
    assert [r.run_id for r in kept] == ["a", "b"] and [r.run_id for r in dropped] == ["c"]
