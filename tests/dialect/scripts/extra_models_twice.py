"""sPyNNaker extra models on the emulator, in two simulations (setup/end twice, each with a
neurons-per-core setting), with sPyNNaker's neo_convertor."""

import pyNN.spiNNaker as sim
from spynnaker.pyNN.utilities import neo_convertor

for cycle in range(2):
    sim.setup(timestep=1.0)
    sim.set_number_of_neurons_per_core(sim.extra_models.IF_curr_dual_exp, 100)
    source = sim.Population(2, sim.SpikeSourceArray(spike_times=[[5.0, 30.0], [8.0]]),
                            label="source")
    dual = sim.Population(2, sim.extra_models.IF_curr_dual_exp(tau_syn_E2=20.0), label="dual")
    sim.Projection(source, dual, sim.OneToOneConnector(), sim.StaticSynapse(weight=3.0),
                   receptor_type="excitatory2")
    triplet = sim.STDPMechanism(
        timing_dependence=sim.extra_models.PfisterSpikeTriplet(
            tau_plus=16.8, tau_minus=33.7, tau_x=101, tau_y=114, A_plus=0.01, A_minus=0.01),
        weight_dependence=sim.extra_models.WeightDependenceAdditiveTriplet(
            w_min=0.0, w_max=1.0, A3_plus=0.01, A3_minus=0.0), weight=0.5, delay=1)
    vogels = sim.STDPMechanism(
        timing_dependence=sim.extra_models.Vogels2011Rule(alpha=0.12, tau=20.0, A_plus=0.05),
        weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=1.0))
    plastic = sim.Projection(source, dual, sim.AllToAllConnector(), triplet)
    # sPyNNaker merges one STDP rule per post population: Vogels onto "dual" is refused
    inhibited = sim.Population(2, sim.IF_curr_exp(), label="inhibited")
    sim.Projection(source, inhibited, sim.AllToAllConnector(), vogels,
                   receptor_type="inhibitory")
    dual.record("spikes")
    sim.run(50.0 + 10.0 * cycle)
    spikes = neo_convertor.convert_spikes(dual.get_data("spikes"))
    print("cycle", cycle, "spikes", spikes.tolist(), "weights", plastic.get("weight", "list"))
    sim.end()
