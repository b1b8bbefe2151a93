"""Brunel-style balanced random network: excitatory and inhibitory LIF populations (4:1).

Simulator-independent PyNN: ``build(sim, params, seed)`` creates the network on whatever
backend ``sim`` is and returns the populations to record. Every random choice (connectivity,
weights, delays) comes from ``NumpyRNG(seed)``; the simulator's own RNG (Poisson drive) is
seeded by the harness through ``setup(rng_seed=seed)``.
"""


def build(sim, params, seed):
    """Build the network and return ``{"exc": Population, "inh": Population}``."""
    rng = sim.NumpyRNG(seed=seed)
    n_exc = int(params["n_neurons"] * 0.8)
    n_inh = int(params["n_neurons"]) - n_exc
    cell = sim.IF_curr_exp(**params["neuron"])
    exc = sim.Population(n_exc, cell, label="exc")
    inh = sim.Population(n_inh, cell, label="inh")
    v_init = sim.RandomDistribution("uniform", (params["v_init_min"], params["v_init_max"]),
                                    rng=rng)
    exc.initialize(v=v_init)
    inh.initialize(v=v_init)

    def weights(mean):
        # PyNN convention for current-based synapses: inhibitory weights are negative.
        low, high = sorted((0.0, 10.0 * mean))
        return sim.RandomDistribution(
            "normal_clipped", (mean, abs(mean) * params["weight_cv"], low, high), rng=rng)

    delays = sim.RandomDistribution(
        "normal_clipped",
        (params["delay_mean"], params["delay_sd"], params["delay_min"], params["delay_max"]),
        rng=rng)
    connector = sim.FixedProbabilityConnector(params["p_connect"], rng=rng)
    w_exc = params["w_exc"]
    w_inh = -w_exc * params["g"]
    for pre, weight, receptor in ((exc, w_exc, "excitatory"), (inh, w_inh, "inhibitory")):
        for post in (exc, inh):
            sim.Projection(pre, post, connector,
                           sim.StaticSynapse(weight=weights(weight), delay=delays),
                           receptor_type=receptor)

    # One Poisson source per neuron, as two populations (not views of one): sPyNNaker 7.4.1
    # cannot connect population views one-to-one.
    for target in (exc, inh):
        drive = sim.Population(target.size, sim.SpikeSourcePoisson(rate=params["drive_rate"]),
                               label=f"drive_{target.label}")
        sim.Projection(drive, target, sim.OneToOneConnector(),
                       sim.StaticSynapse(weight=params["w_drive"], delay=params["delay_min"]),
                       receptor_type="excitatory")
    return {"exc": exc, "inh": inh}
