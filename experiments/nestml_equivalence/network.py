"""NESTML toolchain check: one balanced network, with NEST's iaf_psc_exp or the NESTML one.

``params["cell_implementation"]`` selects how the LIF neurons of the ``exc`` and ``inh``
populations are implemented:

* ``"builtin"``: NEST's built-in ``iaf_psc_exp``;
* ``"nestml"``: ``iaf_psc_exp_nestml``, compiled by repro from ``models/iaf_psc_exp.nestml``
  and installed into NEST by the harness before ``build`` runs.

Everything else (connectivity, weights, delays, initial potentials, Poisson drive) is drawn
from the same seeded generators in the same order, so the two variants must agree: that is
what validates the NESTML toolchain. A small population of ``iaf_psc_exp_adapt_nestml``
neurons (spike-frequency adaptation current, ``models/iaf_psc_exp_adapt.nestml``) listens to
the excitatory population in both variants.
"""

#: NEST model of each implementation of the LIF neuron.
LIF_MODELS = {"builtin": "iaf_psc_exp", "nestml": "iaf_psc_exp_nestml"}


def lif_cells(sim, params):
    """Cell-type factory of the chosen implementation.

    Both variants go through the same PyNN path (a native NEST cell type with the same NEST
    parameters; PyNN converts weights from nA to pA for both), so the NEST model is the only
    difference. A factory, because a native cell type instance cannot serve two populations.
    """
    implementation = params["cell_implementation"]
    if implementation not in LIF_MODELS:
        raise ValueError(f"cell_implementation must be one of {sorted(LIF_MODELS)}, "
                         f"not {implementation!r}")
    celltype = sim.native_cell_type(LIF_MODELS[implementation])
    return lambda: celltype(**params["neuron"])


def build(sim, params, seed):
    """Build the network; return ``{"exc", "inh", "adapt"}`` populations."""
    rng = sim.NumpyRNG(seed=seed)
    n_exc = int(params["n_neurons"] * 0.8)
    n_inh = int(params["n_neurons"]) - n_exc
    make_cell = lif_cells(sim, params)
    exc = sim.Population(n_exc, make_cell(), label="exc")
    inh = sim.Population(n_inh, make_cell(), label="inh")
    v_init = sim.RandomDistribution("uniform", (params["v_init_min"], params["v_init_max"]),
                                    rng=rng)
    exc.initialize(V_m=v_init)
    inh.initialize(V_m=v_init)

    def weights(mean):
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
    drive = sim.Population(int(params["n_neurons"]),
                           sim.SpikeSourcePoisson(rate=params["drive_rate"]), label="drive")
    w_drive = params["w_drive"]
    sim.Projection(drive[:n_exc], exc, sim.OneToOneConnector(),
                   sim.StaticSynapse(weight=w_drive, delay=params["delay_min"]),
                   receptor_type="excitatory")
    sim.Projection(drive[n_exc:], inh, sim.OneToOneConnector(),
                   sim.StaticSynapse(weight=w_drive, delay=params["delay_min"]),
                   receptor_type="excitatory")
    adapt = adaptive_population(sim, params["adapt"], exc, rng)
    return {"exc": exc, "inh": inh, "adapt": adapt}


def adaptive_population(sim, params, exc, rng):
    """Neurons with a spike-frequency adaptation current, driven by Poisson input and ``exc``."""
    celltype = sim.native_cell_type("iaf_psc_exp_adapt_nestml")
    adapt = sim.Population(int(params["n_neurons"]), celltype(**params["neuron"]),
                           label="adapt")
    adapt.initialize(V_m=params["neuron"]["E_L"])
    drive = sim.Population(int(params["n_neurons"]),
                           sim.SpikeSourcePoisson(rate=params["drive_rate"]), label="adapt_drive")
    sim.Projection(drive, adapt, sim.OneToOneConnector(),
                   sim.StaticSynapse(weight=params["w_drive"], delay=1.0),
                   receptor_type="excitatory")
    sim.Projection(exc, adapt, sim.FixedProbabilityConnector(params["p_from_exc"], rng=rng),
                   sim.StaticSynapse(weight=params["w_from_exc"], delay=1.5),
                   receptor_type="excitatory")
    return adapt
