"""The network of the emulator's plasticity tests: spike sources one-to-one onto cells that a
second set of sources, the teacher, makes fire at chosen times."""

from __future__ import annotations

from typing import Any

import repro.spinnaker.pynn_backend as sim


def taught_cells(pre_times: list, teacher_times: list, summed: float) -> tuple[Any, Any]:
    """Pre sources and post cells (``IF_curr_exp``, 20 ms refractory) for a plastic projection.

    Each post cell fires one step after each of its teacher's spikes (weight 15 nA); the
    ring-buffer shift of both receptors is set by ``summed`` (max_expected_summed_weight).
    Call between ``sim.setup()`` and the plastic projection.
    """
    n = len(pre_times)
    pre = sim.Population(n, sim.SpikeSourceArray(spike_times=pre_times))
    teacher = sim.Population(n, sim.SpikeSourceArray(spike_times=teacher_times))
    post = sim.Population(n, sim.IF_curr_exp(tau_refrac=20.0), additional_parameters={
        "max_expected_summed_weight": [summed, summed]})
    sim.Projection(teacher, post, sim.OneToOneConnector(),
                   sim.StaticSynapse(weight=15.0, delay=1.0))
    return pre, post
