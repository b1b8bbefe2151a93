"""An sPyNNaker script using the cell models repro runs on NEST from its shipped NESTML models.

Written for repro's tests (not taken from any corpus). PyNN's Izhikevich (sPyNNaker's
IzkCurrExpBase), extra_models.Izhikevich_cond, extra_models.IFCurrExpCa2Adaptive and
extra_models.IFCondExpStoc each get one input spike of 0.5 (nA or uS) at 10 ms; the script
checks sPyNNaker's names and units itself: the recorded gsyn_exc jumps by w * init with
init = tau/dt (1 - e^(-dt/tau)), and raises AssertionError when a translation did not do
what it should. Its delays are below its min_delay, which sPyNNaker accepts.
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
p.run(100.0)
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
p.end()
