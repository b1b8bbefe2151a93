"""What sPyNNaker 7.4.1 offers beyond PyNN, and what each local backend makes of it.

Read from sPyNNaker 7.4.1's ``spynnaker/pyNN/__init__.py`` and ``extra_models/__init__.py``
(the class each name is bound to, its ``__init__`` parameters and its C model components).
An entry maps an extension to the PyNN standard model with the same equations where one
exists, or says why none does. Standard library only: the CLI reads it to refuse a script
before any run starts, the harness to refuse or translate while the script runs.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Where a feature that no local backend runs can run: real SpiNNaker through NMPI.
HARDWARE_TARGETS = "nmpi (SpiNNaker hardware through the EBRAINS job queue)"
#: NESTML appends this to every model name it builds for NEST.
NESTML_SUFFIX = "_nestml"

#: Targets that run every Neuromodulation set-up (named by the dialect's refusals on NEST).
NEUROMODULATION_TARGETS = f"spinnaker_emulator (repro's bit-exact emulator); {HARDWARE_TARGETS}"


def paired_nest_name(model: str, partner: str) -> str:
    """NEST name of NESTML ``model`` generated together with ``partner`` (a synapse with its
    post-synaptic neuron, or that neuron with its synapse): NESTML's ``__with_`` naming, as
    :class:`repro.nestml.pairs.SynapsePair` builds it."""
    return f"{model}{NESTML_SUFFIX}__with_{partner}{NESTML_SUFFIX}"


@dataclass(frozen=True)
class Extension:
    """One sPyNNaker extension.

    Attributes
    ----------
    name : str
        Name as a script spells it (``extra_models.IFCurDelta``).
    kind : str
        ``cell``, ``synapse``, ``connector``, ``plasticity``, ``device`` or ``structural``.
    equations : str
        The model as sPyNNaker 7.4.1 builds it (neuron model, synapse type, input type,
        threshold), or what the feature does.
    standard : str
        PyNN standard class with the same equations and parameter names ("" if none).
    parameters : tuple of str
        The sPyNNaker class's ``__init__`` parameters (state variables included), checked
        against ``standard`` before a translation is used.
    why_not : str
        Why no standard equivalent exists (empty when ``standard`` is set).
    emulator : str
        Class of repro's SpiNNaker emulator with the same C model components, where that
        differs from ``standard`` (the emulator implements some sPyNNaker builds itself).
    nest : str
        NEST model the dialect builds for this extension on NEST, where no PyNN standard
        class has its equations but a NEST model does (see ``repro.site.dialect_nest_models``).
    nestml : str
        NESTML model shipped in ``repro/nestml/models/`` that runs this extension on NEST,
        where neither PyNN nor NEST has its equations (see
        ``repro.site.dialect_nestml_cells``; for a plastic synapse
        ``repro.site.dialect_nestml_synapses``).
    nestml_post : str
        For a shipped NESTML synapse that reads post-synaptic spikes: the shipped NESTML
        neuron NESTML generates it with (``repro.nestml.pairs``); the synapse runs only onto
        that neuron, so on NEST the script's ``post_cell`` populations become it.
    post_cell : str
        The cell type sPyNNaker 7.4.1 builds this rule for (the only binaries it ships).
    """

    name: str
    kind: str
    equations: str
    standard: str = ""
    parameters: tuple[str, ...] = ()
    why_not: str = ""
    emulator: str = ""
    nest: str = ""
    nestml: str = ""
    nestml_post: str = ""
    post_cell: str = ""

    def class_on(self, backend: str) -> str:
        """Name of the class that runs this extension on ``backend`` ("" if none)."""
        if backend == "spinnaker_emulator" and self.emulator:
            return self.emulator
        if backend == "nest" and self.nest:
            return self.nest
        if backend == "nest" and self.nestml and self.nestml_post:
            return paired_nest_name(self.nestml, self.nestml_post)
        if backend == "nest" and self.nestml:
            return self.nestml + NESTML_SUFFIX
        return self.standard


_LIF = ("tau_m", "cm", "v_rest", "v_reset", "v_thresh", "tau_refrac", "i_offset", "v")

#: ``sim.extra_models.<name>`` of sPyNNaker 7.4.1.
EXTRA_MODELS: dict[str, Extension] = {e.name: e for e in (
    Extension("IFCurDelta", "cell",
              "IFCurrDelta: NeuronModelLeakyIntegrateAndFire + SynapseTypeDelta + "
              "InputTypeDelta + ThresholdTypeStatic (model_name IF_curr_delta): the class "
              "sPyNNaker itself exports as the standard IF_curr_delta",
              standard="IF_curr_delta", parameters=(*_LIF, "isyn_exc", "isyn_inh")),
    Extension("IFCurrExpCa2Adaptive", "cell",
              "LIF + exponential current synapses + calcium-activated adaptation current "
              "(AdditionalInputCa2Adaptive)",
              why_not="no PyNN standard model or NEST model has the Ca2+-adaptive input",
              emulator="IF_curr_exp_ca2_adaptive", nestml="spynnaker_if_curr_exp_ca2_adaptive",
              parameters=(*_LIF, "tau_syn_E", "tau_syn_I", "tau_ca2", "i_ca2", "i_alpha",
                          "isyn_exc", "isyn_inh")),
    Extension("IFCurrDeltaCa2Adaptive", "cell", "LIF + delta synapses + Ca2+ adaptation",
              why_not="no PyNN standard model or NEST model has the Ca2+-adaptive input"),
    Extension("IFCondExpStoc", "cell",
              "LIF + conductance exp synapses + ThresholdTypeMaassStochastic",
              why_not="stochastic (Maass) threshold; no PyNN standard equivalent",
              emulator="IF_cond_exp_stoc", nestml="spynnaker_if_cond_exp_stoc",
              parameters=(*_LIF, "tau_syn_E", "tau_syn_I", "e_rev_E", "e_rev_I", "du_th",
                          "tau_th", "isyn_exc", "isyn_inh")),
    Extension("Izhikevich_cond", "cell",
              "IzkCondExpBase: NeuronModelIzh + SynapseTypeExponential + "
              "InputTypeConductance + ThresholdTypeStatic",
              why_not="PyNN's Izhikevich is current-based; NEST has no conductance-based "
                      "Izhikevich model", emulator="IZK_cond_exp",
              nestml="spynnaker_izk_cond_exp",
              parameters=("a", "b", "c", "d", "i_offset", "u", "v", "tau_syn_E", "tau_syn_I",
                          "e_rev_E", "e_rev_I", "isyn_exc", "isyn_inh")),
    Extension("Izhikevich_cond_dual", "cell", "Izhikevich + dual-exp conductance synapses",
              why_not="no conductance-based Izhikevich in PyNN or NEST"),
    Extension("IF_curr_dual_exp", "cell",
              "LIF + SynapseTypeDualExponential (two excitatory time constants)",
              why_not="PyNN has no standard cell type with a second excitatory receptor",
              emulator="IF_curr_dual_exp",
              parameters=(*_LIF, "tau_syn_E", "tau_syn_E2", "tau_syn_I", "isyn_exc",
                          "isyn_exc2", "isyn_inh"),
              nest="iaf_psc_exp_multisynapse"),
    Extension("IF_curr_exp_sEMD", "cell",
              "LIF + SynapseTypeSEMD (three exp synapses, exc2 gated by the latched exc) + "
              "InputTypeCurrent (spiking elementary motion detector)",
              why_not="the sEMD multiplicative input has no PyNN or NEST equivalent",
              emulator="IF_curr_exp_sEMD", nestml="spynnaker_if_curr_exp_semd",
              parameters=(*_LIF, "tau_syn_E", "tau_syn_E2", "tau_syn_I", "isyn_exc",
                          "isyn_exc2", "isyn_inh", "multiplicator", "exc2_old",
                          "scaling_factor")),
    Extension("StocExp", "cell", "stochastic exponential neuron", why_not="no equivalent"),
    Extension("StocExpStable", "cell", "stochastic exponential neuron", why_not="no equivalent"),
    Extension("StocSigma", "cell", "stochastic sigmoid neuron", why_not="no equivalent"),
    Extension("IFTruncDelta", "cell", "LIF truncated at v_reset + delta synapses",
              why_not="no equivalent"),
    Extension("IFCurrDeltaFixedProb", "cell", "LIF + delta synapses + fixed-probability "
              "threshold", why_not="no equivalent"),
    Extension("Neuromodulation", "plasticity", "dopamine-modulated STDP (Mikaitis et al.)",
              why_not="no PyNN standard equivalent; NEST's stdp_dopamine_synapse has other "
                      "equations (an unbounded eligibility trace, dopamine 1/tau_n per spike)",
              emulator="Neuromodulation", nestml="spynnaker_neuromodulated_stdp_synapse",
              nestml_post="spynnaker_if_curr_exp", post_cell="IF_curr_exp",
              parameters=("weight", "tau_c", "tau_d", "w_min", "w_max")),
    Extension("PfisterSpikeTriplet", "plasticity", "triplet STDP timing rule",
              why_not="not a PyNN standard timing dependence", emulator="PfisterSpikeTriplet",
              parameters=("tau_plus", "tau_minus", "tau_x", "tau_y", "A_plus", "A_minus"),
              nest="stdp_triplet_synapse"),
    Extension("WeightDependenceAdditiveTriplet", "plasticity", "triplet weight dependence",
              why_not="not a PyNN standard weight dependence",
              emulator="WeightDependenceAdditiveTriplet",
              parameters=("w_min", "w_max", "A3_plus", "A3_minus"),
              nest="stdp_triplet_synapse"),
    Extension("SpikeNearestPairRule", "plasticity", "nearest-pair STDP timing rule",
              why_not="not a PyNN standard timing dependence"),
    Extension("RecurrentRule", "plasticity",
              "TimingDependenceRecurrent: accumulator STDP with exponentially distributed "
              "pre/post windows (builds recurrent_pre_stochastic / recurrent_dual_fsm, "
              "multiplicative weight dependence)",
              why_not="not a PyNN standard timing dependence",
              emulator="TimingDependenceRecurrent", nestml="spynnaker_recurrent_synapse",
              nestml_post="spynnaker_if_curr_exp", post_cell="IF_curr_exp",
              parameters=("accumulator_depression", "accumulator_potentiation",
                          "mean_pre_window", "mean_post_window", "dual_fsm", "A_plus",
                          "A_minus")),
    Extension("Vogels2011Rule", "plasticity",
              "TimingDependenceVogels2011(alpha, tau, A_plus, A_minus): inhibitory STDP",
              why_not="sPyNNaker's parameters (alpha, A_plus, A_minus) do not map one to one "
                      "onto PyNN's Vogels2011Rule(tau, eta, rho)",
              emulator="TimingDependenceVogels2011",
              parameters=("alpha", "tau", "A_plus", "A_minus"),
              nest="vogels_sprekeler_synapse"),
    Extension("WeightChangeable", "plasticity", "weights changed by another projection",
              why_not="no equivalent"),
    Extension("WeightChanger", "plasticity", "weights changed by another projection",
              why_not="no equivalent"),
    Extension("SpikeSourcePoissonVariable", "cell", "Poisson source with scheduled rates",
              why_not="no PyNN standard source changes its rate on a schedule"),
    Extension("AllButMeConnector", "connector",
              "all-to-all within groups without self connections (n_neurons_per_group, "
              "weights)", standard="AllButMeConnector"),
    Extension("OneToOneOffsetConnector", "connector", "one-to-one with an index offset",
              why_not="not implemented in repro's dialect"),
)}

#: PyNN standard cells sPyNNaker builds with other equations than pyNN.nest's model, and the
#: shipped NESTML model with sPyNNaker's equations that replaces it in sPyNNaker scripts on
#: NEST. PyNN's Izhikevich is IzkCurrExpBase on SpiNNaker: exponential current synapses
#: (tau_syn_E/I, weights in nA) and i_offset in nA added unscaled to dv/dt, where NEST's
#: izhikevich has delta synapses (weights in mV) and pyNN.nest scales i_offset by 1000.
NESTML_STANDARD: dict[str, str] = {"Izhikevich": "spynnaker_izk_curr_exp"}

#: Top-level names of ``pyNN.spiNNaker`` that are not PyNN (structural plasticity and the
#: hardware-only helpers).
SPYNNAKER_ONLY: dict[str, Extension] = {e.name: e for e in (
    *(Extension(name, "structural", "sPyNNaker structural plasticity (formation / "
                "elimination / partner selection on the chip)",
                why_not="neither repro's emulator nor its NEST dialect implements sPyNNaker's "
                        "on-chip rewiring (NEST's own structural plasticity is another model: "
                        "homeostatic growth curves, no translation)")
      for name in ("StructuralMechanismStatic", "StructuralMechanismSTDP",
                   "DistanceDependentFormation", "RandomByWeightElimination",
                   "RandomSelection", "LastNeuronSelection", "FormationsDistanceDependent")),
    Extension("external_devices", "device",
              "live spike injection/output, robots, retinas and other hardware I/O",
              why_not="needs SpiNNaker hardware and its live I/O links"),
    Extension("get_machine", "device", "the SpiNNaker machine object",
              why_not="needs SpiNNaker hardware"),
)}


def check_translation(extension: Extension, standard_parameters: set[str]) -> list[str]:
    """Parameter names of ``extension`` its standard equivalent does not have.

    ``standard_parameters`` holds the standard class's parameter and initial-value names;
    an empty result means the translation keeps every parameter's meaning.
    """
    return sorted(set(extension.parameters) - standard_parameters)
