"""Reward- (and punishment-) modulated STDP pairings (sPyNNaker's extra_models.Neuromodulation).

Written for repro's tests (not taken from any corpus); tests/dialect/test_neuromodulation.py
runs it through the sPyNNaker dialect on NEST (the shipped NESTML synapse) and on the
emulator and compares the learned weights. Pre spikes come from a spike source, post spikes
from cells a strong teacher input fires one tick after each teacher spike (the same tick on
both simulators). Each post cell has one plastic synapse: a pairing at lag L = t_post +
delay - t_pre (potentiation, L > 0) or a depression Delta = t_pre - (t_post + delay) > 0
after a potentiating pairing, so that the eligibility trace is positive, then dopamine:
the even cells from reward source 0 (two spikes), the odd ones from reward source 1 (one
spike, later), so NEST needs one volume transmitter per source. A last pre spike makes the
deferred weight update happen (sPyNNaker changes a weight only at a pre spike). With the
argument "neurons" the pre and reward spikes come from cells fired one tick after their
drive (NEST stamps those a step late, as the post spikes). With the argument "punish" a
punishment projection follows (weight 0.3, the reward's tau_c and tau_d): the even cells
get a punishment spike between their two rewards, the odd ones one in the tick of their
reward (the two add: +0.1 - 0.3), so each post neuron has two dopamine sources. Writes
neuromodulation_reward.json (weights, pre, reward and post spike times).
"""

import json
import sys

import numpy as np
import pyNN.spiNNaker as p

LAGS = [2, 5, 10, 20, 35]  # potentiation pairings (pre at 100 ms)
DEPRESSIONS = [1, 4, 12]  # post 2 ms after a pre at 60 ms, then post-pre by Delta at 100 ms
FIRST, LAST = 100.0, 400.0
REWARDS = ([200.0, 230.0], [250.0])
PUNISHMENTS = ([215.0], [250.0])
CELL = {"tau_refrac": 20.0, "v_thresh": -55.0, "tau_syn_E": 2.0}
TEACHER_NA = 15.0


def schedule():
    """Pre spike times and teacher times (a cell fires one tick after its teacher spike)."""
    pre, teach = [], []
    for lag in LAGS:
        pre.append([FIRST, LAST])
        teach.append([FIRST + lag - 2.0])  # fires at FIRST + lag - 1, arrives 1 ms later
    for delta in DEPRESSIONS:
        pre.append([60.0, FIRST, LAST])
        teach.append([60.0, FIRST - delta - 2.0])
    return pre, teach


p.setup(timestep=1.0, min_delay=1.0)
pre_times, teacher_times = schedule()
n = len(pre_times)
NEURONS = "neurons" in sys.argv[1:]
PUNISH = "punish" in sys.argv[1:]


def spikes_at(times, label):
    """A spike source, or cells firing at ``times`` (one tick after their drive)."""
    if not NEURONS:
        return p.Population(len(times), p.SpikeSourceArray(spike_times=times), label=label)
    drive = p.Population(len(times), p.SpikeSourceArray(
        spike_times=[[t - 1.0 for t in ts] for ts in times]), label=f"{label}_drive")
    cells = p.Population(len(times), p.IF_cond_exp(tau_refrac=20.0, v_thresh=-55.0),
                         label=label)
    p.Projection(drive, cells, p.OneToOneConnector(), p.StaticSynapse(weight=0.5, delay=1.0))
    cells.record("spikes")
    return cells


source = spikes_at(pre_times, "pre")
teacher = p.Population(n, p.SpikeSourceArray(spike_times=teacher_times), label="teacher")
post = p.Population(n, p.IF_curr_exp(**CELL), label="post")
p.Projection(teacher, post, p.OneToOneConnector(), p.StaticSynapse(weight=TEACHER_NA, delay=1.0))
plastic = p.Projection(
    source, post, p.OneToOneConnector(),
    p.STDPMechanism(timing_dependence=p.SpikePairRule(tau_plus=20.0, tau_minus=20.0,
                                                      A_plus=0.05, A_minus=0.03),
                    weight_dependence=p.AdditiveWeightDependence(w_min=0.0, w_max=1.0),
                    weight=0.5, delay=1.0), receptor_type="excitatory")
reward = spikes_at(list(REWARDS), "reward")
p.Projection(reward, post, p.FromListConnector([(j % 2, j) for j in range(n)]),
             synapse_type=p.extra_models.Neuromodulation(weight=0.1, tau_c=300.0, tau_d=50.0,
                                                         w_max=2.0),
             receptor_type="reward")
punish = spikes_at(list(PUNISHMENTS), "punish") if PUNISH else None
if PUNISH:
    p.Projection(punish, post, p.FromListConnector([(j % 2, j) for j in range(n)]),
                 synapse_type=p.extra_models.Neuromodulation(weight=0.3, tau_c=300.0,
                                                             tau_d=50.0, w_max=2.0),
                 receptor_type="punishment")
post.record("spikes")
p.run(LAST + 20.0)



def spikes(population):
    if not NEURONS and population is not post:
        return []
    trains = population.get_data("spikes").segments[-1].spiketrains
    return [[float(t) for t in train.magnitude] for train in trains]


out = {"post": spikes(post), "pre": spikes(source), "reward": spikes(reward),
       "punish": spikes(punish) if PUNISH else [],
       "weights": np.diag(plastic.get("weight", format="array")).tolist()}
with open("neuromodulation_reward.json", "w") as stream:
    json.dump(out, stream)
p.end()
