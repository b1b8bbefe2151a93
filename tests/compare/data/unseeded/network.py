"""Excitatory-inhibitory network whose connections come from an UNSEEDED generator (a bug)."""


def build(sim, params, seed):
    """Build the network; ``seed`` is deliberately ignored for the connectivity."""
    rng = sim.NumpyRNG()  # seeded from OS entropy: every run differs
    n = int(params["n_neurons"])
    cells = sim.Population(n, sim.IF_curr_exp(tau_refrac=2.0), label="exc")
    connector = sim.FixedProbabilityConnector(0.1, rng=rng)
    sim.Projection(cells, cells, connector, sim.StaticSynapse(weight=0.05, delay=1.5),
                   receptor_type="excitatory")
    drive = sim.Population(n, sim.SpikeSourcePoisson(rate=params["drive_rate"]))
    sim.Projection(drive, cells, sim.OneToOneConnector(),
                   sim.StaticSynapse(weight=params["w_drive"], delay=1.0),
                   receptor_type="excitatory")
    return {"exc": cells}
