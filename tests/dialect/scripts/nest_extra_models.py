"""sPyNNaker extra models that NEST runs: Vogels 2011, Pfister triplet, IF_curr_dual_exp.

Written for repro's tests (not taken from any corpus). It checks the weight changes against
the rules computed by hand and raises AssertionError when a translation is wrong.
"""

import math

import numpy as np
import pyNN.spiNNaker as p

p.setup(timestep=1.0, min_delay=1.0)
pre = p.Population(1, p.SpikeSourceArray(spike_times=[10.0, 20.0, 30.0]), label="pre")
drive = p.Population(1, p.SpikeSourceArray(spike_times=[14.0]), label="drive")
silent = p.Population(1, p.IF_curr_exp(), label="silent")
post = p.Population(1, p.IF_curr_exp(tau_refrac=2.0), label="post")
dual = p.Population(1, p.extra_models.IF_curr_dual_exp(tau_syn_E2=10.0), label="dual")

# Vogels 2011: a post neuron that never fires; each pre spike depresses by A_plus * alpha
vogels = p.STDPMechanism(
    timing_dependence=p.extra_models.Vogels2011Rule(alpha=0.12, tau=20.0, A_plus=0.05),
    weight_dependence=p.AdditiveWeightDependence(w_min=0.0, w_max=1.0), weight=0.5, delay=1.0)
inhibitory = p.Projection(pre, silent, p.AllToAllConnector(), vogels,
                          receptor_type="inhibitory")

# Triplet: one post spike after the first pre spike; no depression (A_minus = A3_minus = 0)
triplet = p.STDPMechanism(
    timing_dependence=p.extra_models.PfisterSpikeTriplet(
        tau_plus=16.8, tau_minus=33.7, tau_x=101.0, tau_y=114.0, A_plus=0.1, A_minus=0.0),
    weight_dependence=p.extra_models.WeightDependenceAdditiveTriplet(
        w_min=0.0, w_max=2.0, A3_plus=0.05, A3_minus=0.0), weight=0.01, delay=1.0)
plastic = p.Projection(pre, post, p.AllToAllConnector(), triplet)
p.Projection(drive, post, p.AllToAllConnector(), p.StaticSynapse(weight=8.0, delay=1.0))

p.Projection(drive, dual, p.AllToAllConnector(), p.StaticSynapse(weight=1.0, delay=1.0),
             receptor_type="excitatory2")
post.record("spikes")
dual.record(["v", "gsyn_exc", "spikes"])
p.run(40)

w_vogels = abs(float(np.ravel(inhibitory.get("weight", format="array"))[0]))
assert math.isclose(w_vogels, 0.5 - 3 * 0.05 * 0.12, abs_tol=1e-9), w_vogels

post_times = np.asarray(post.get_data("spikes").segments[0].spiketrains[0].magnitude)
assert len(post_times) == 1, post_times
# NEST counts delays as dendritic: the post spike reaches the synapse delay ms later
gap_ms = post_times[0] + 1.0 - 10.0
expected = 0.01 + 0.1 * 2.0 * math.exp(-gap_ms / 16.8)  # first post spike: o2 = 0
w_triplet = float(np.ravel(plastic.get("weight", format="array"))[0])
assert math.isclose(w_triplet, expected, rel_tol=1e-6), (w_triplet, expected, post_times)

segment = dual.get_data(["v", "gsyn_exc"]).segments[0]
current = np.asarray(segment.filter(name="gsyn_exc")[0]).ravel()
assert current.max() > 0.5 and current[:15].max() == 0.0, current
# the second excitatory receptor decays with tau_syn_E2 = 10 ms
peak = int(np.argmax(current))
assert math.isclose(current[peak + 10] / current[peak], math.exp(-1.0), rel_tol=1e-6)
assert not segment.filter(name="excitatory2.isyn")
p.end()
