"""An sPyNNaker script using the cell models repro runs on NEST from its shipped NESTML models.

Written for repro's tests (not taken from any corpus). PyNN's Izhikevich (sPyNNaker's
IzkCurrExpBase), extra_models.Izhikevich_cond, extra_models.IFCurrExpCa2Adaptive and
extra_models.IFCondExpStoc each get one input spike of 0.5 (nA or uS) at 10 ms; the script
checks sPyNNaker's names and units itself: the recorded gsyn_exc jumps by w * init with
init = tau/dt (1 - e^(-dt/tau)), and raises AssertionError when a translation did not do
what it should. Its delays are below its min_delay, which sPyNNaker accepts.
extra_models.IF_curr_exp_sEMD gets its three receptors: a facilitation on 'excitatory' at
4 ms (no current of its own), triggers on 'excitatory2' at 20 ms (a burst), 60 ms (exc2 not
yet back to 0: no response) and 150 ms after a second facilitation (a burst), and an
inhibitory spike (gsyn_inh its magnitude). extra_models.RecurrentRule (both builds, with
MultiplicativeWeightDependence) learns from 17 pairings, a post spike 3 ms after each pre
spike, onto IF_curr_exp cells (on NEST the NESTML synapse and the IF_curr_exp neuron NESTML
generates with it); the learned weights must read back in nA within [w_min, w_max] and
have moved.
"""

import math

import pyNN.spiNNaker as p

p.setup(timestep=1.0, min_delay=2.0)  # sPyNNaker still builds the 1 ms delays below
source = p.Population(1, p.SpikeSourceArray(spike_times=[10.0]), label="source")
izk = p.Population(1, p.Izhikevich(i_offset=5.0, tau_syn_E=5.0, v=-70.0), label="izk")
cond = p.Population(1, p.extra_models.Izhikevich_cond(i_offset=5.0), label="cond")
ca2 = p.Population(1, p.extra_models.IFCurrExpCa2Adaptive(i_offset=2.0), label="ca2")
stoc = p.Population(1, p.extra_models.IFCondExpStoc(i_offset=2.0, tau_refrac=2.0), label="stoc")
for population in (izk, cond, ca2, stoc):
    p.Projection(source, population, p.AllToAllConnector(),
                 p.StaticSynapse(weight=0.5, delay=1.0))
    population.record(["v", "gsyn_exc", "spikes"])
semd = p.Population(1, p.extra_models.IF_curr_exp_sEMD(
    cm=0.25, tau_m=10.0, tau_refrac=1.0, tau_syn_E=20.0, tau_syn_E2=5.0, tau_syn_I=20.0,
    v_rest=-60.0, v_reset=-85.0, v_thresh=-50.0, scaling_factor=100.0), label="semd")
semd.initialize(v=-60.0)
for receptor, times in (("excitatory", [4.0, 140.0]), ("excitatory2", [20.0, 60.0, 150.0]),
                        ("inhibitory", [30.0])):
    p.Projection(p.Population(1, p.SpikeSourceArray(spike_times=times)), semd,
                 p.OneToOneConnector(), p.StaticSynapse(weight=1.0, delay=1.0),
                 receptor_type=receptor)
semd.record(["v", "gsyn_exc", "gsyn_inh", "spikes"])
pairings = [20.0 + 10.0 * k for k in range(17)]
learner_source = p.Population(1, p.SpikeSourceArray(spike_times=pairings), label="pre")
teacher = p.Population(1, p.SpikeSourceArray(spike_times=[t + 2.0 for t in pairings]))
learned = []
for dual_fsm in (True, False):
    learner = p.Population(1, p.IF_curr_exp(tau_syn_E=0.5), label=f"learner_{dual_fsm}")
    p.Projection(teacher, learner, p.OneToOneConnector(),
                 p.StaticSynapse(weight=50.0, delay=1.0))
    learned.append(p.Projection(learner_source, learner, p.AllToAllConnector(), p.STDPMechanism(
        timing_dependence=p.extra_models.RecurrentRule(
            accumulator_depression=-2, accumulator_potentiation=2, mean_pre_window=20.0,
            mean_post_window=20.0, dual_fsm=dual_fsm, A_plus=0.1, A_minus=0.1),
        weight_dependence=p.MultiplicativeWeightDependence(w_min=0.0, w_max=1.0),
        weight=0.5, delay=1.0)))
    learner.record("spikes")
p.run(200.0)
for projection in learned:
    [weight] = projection.get("weight", "list", with_address=False)
    assert 0.05 <= weight <= 1.0 and weight != 0.5, weight  # in nA, not 1000 times less
init = 5.0 * (1.0 - math.exp(-1.0 / 5.0))
for population, unit in ((izk, "nA"), (cond, "uS"), (ca2, "nA"), (stoc, "uS")):
    segment = population.get_data().segments[0]
    gsyn = segment.filter(name="gsyn_exc")[0]
    assert str(gsyn.units.dimensionality) == unit, gsyn.units
    peak = float(gsyn.magnitude.max())
    assert abs(peak - 0.5 * init) < 1e-9, (population.label, peak)
    assert abs(float(segment.filter(name="v")[0][0, 0]) - (-65.0 if population in (ca2, stoc)
                                                          else -70.0)) < 1e-9
    assert len(segment.spiketrains[0]) > 2, population.label  # driven by i_offset (nA)
import numpy as np  # noqa: E402 - next to its one use

intervals = np.diff(ca2.get_data().segments[0].spiketrains[0].magnitude)
assert intervals[-1] > intervals[0], intervals  # the calcium current adapts the rate
segment = semd.get_data().segments[0]
gated = segment.filter(name="gsyn_exc")[0]
times_ms = np.asarray(gated.times.rescale("ms").magnitude)
gated = np.asarray(gated.magnitude)[:, 0]
assert str(segment.filter(name="gsyn_exc")[0].units.dimensionality) == "nA"
assert not gated[times_ms <= 20.0].any(), gated  # the facilitation alone gives no current
spikes = np.asarray(segment.spiketrains[0].magnitude)
assert ((spikes > 20.0) & (spikes < 60.0)).sum() > 2, spikes  # latched: a burst
assert not ((spikes >= 60.0) & (spikes < 150.0)).any(), spikes  # not re-armed: silent
assert (spikes > 150.0).sum() > 2, spikes  # re-armed: latched again
peak_inh = float(segment.filter(name="gsyn_inh")[0].magnitude.max())
assert abs(peak_inh - 20.0 * (1.0 - math.exp(-1.0 / 20.0))) < 1e-9, peak_inh
p.end()
