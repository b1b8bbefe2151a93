"""The standard models the emulator implements, and named refusals for the rest.

Native parameter names are the PyNN names (the engine reads PyNN units directly), so every
translation is the identity. PyNN standard models SpiNNaker-emulation does not cover are
present as classes that raise :class:`UnsupportedFeatureError` naming themselves on use.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

from pyNN.standardmodels import build_translations, cells, synapses

from repro.spinnaker.pynn_backend.simulator import state

SUPPORTED_CELL_TYPES = ("IF_curr_exp", "IF_cond_exp", "IF_curr_alpha", "IF_curr_delta",
                        "Izhikevich", "IZK_curr_exp", "IZK_cond_exp", "IF_curr_dual_exp",
                        "IF_curr_exp_ca2_adaptive", "IF_cond_exp_stoc", "IF_curr_exp_sEMD",
                        "SpikeSourcePoisson", "SpikeSourceArray")
#: Every sPyNNaker neuron model records these (``neuron_impl_standard.h``).
NEURON_RECORDABLE = ["spikes", "v", "gsyn_exc", "gsyn_inh"]
#: sPyNNaker's Izhikevich builds add exponential synapses to PyNN's parameters.
IZK_SYNAPSE_DEFAULTS = {"tau_syn_E": 5.0, "tau_syn_I": 5.0}


class UnsupportedFeatureError(NotImplementedError):
    """A PyNN feature the SpiNNaker emulator does not implement."""


def script_line() -> str:
    """``file:line`` of the innermost caller outside repro and PyNN (the user's script)."""
    skip = (str(Path(__file__).resolve().parents[2]),
            str(Path(cells.__file__).resolve().parents[1]))
    frame = sys._getframe(1)
    while frame is not None:
        name = str(Path(frame.f_code.co_filename).resolve())
        if not name.startswith(skip) and "importlib" not in name:
            return f"{frame.f_code.co_filename}:{frame.f_lineno}"
        frame = frame.f_back
    return "unknown line"


class HardwareOnly(types.ModuleType):
    """sPyNNaker's ``external_devices``: live injection/output, robots, retinas, FPGAs.

    Every attribute is refused with one message naming the feature and the script line.
    """

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        raise UnsupportedFeatureError(
            f"{self.__name__}.{name} (at {script_line()}) needs SpiNNaker hardware (live "
            "spike injection/output, external devices, robot links); the emulator cannot "
            "run it")


def _identity(cell_class: type) -> dict:
    names = list(cell_class.default_parameters)
    return build_translations(*[(name, name) for name in names])


def _current_units(cell_class: type) -> dict:
    return {**cell_class.units, "gsyn_exc": "nA", "gsyn_inh": "nA"}


class IF_curr_exp(cells.IF_curr_exp):  # noqa: N801 - PyNN's name
    __doc__ = cells.IF_curr_exp.__doc__
    translations = _identity(cells.IF_curr_exp)
    recordable = NEURON_RECORDABLE
    units = _current_units(cells.IF_curr_exp)


class IF_curr_dual_exp(cells.IF_curr_exp):  # noqa: N801 - sPyNNaker's name
    """sPyNNaker's ``extra_models.IF_curr_dual_exp``: IF_curr_exp with a second excitatory
    receptor (``receptor_type="excitatory2"``, time constant ``tau_syn_E2``) whose
    current adds to the first one's."""

    default_parameters = {**cells.IF_curr_exp.default_parameters, "tau_syn_E2": 5.0}
    default_initial_values = {**cells.IF_curr_exp.default_initial_values, "isyn_exc2": 0.0}
    receptor_types = ("excitatory", "excitatory2", "inhibitory")
    units = {**_current_units(cells.IF_curr_exp), "tau_syn_E2": "ms", "isyn_exc2": "nA"}
    translations = build_translations(*[(n, n) for n in default_parameters])
    recordable = NEURON_RECORDABLE


class IF_curr_exp_ca2_adaptive(cells.IF_curr_exp):  # noqa: N801 - sPyNNaker's name
    """sPyNNaker's ``extra_models.IFCurrExpCa2Adaptive``: IF_curr_exp with a calcium-activated
    adaptation current i_ca2 (nA; decays with tau_ca2, grows by i_alpha per spike,
    subtracted from the input). ``i_ca2`` is its initial value, a parameter as in sPyNNaker."""

    default_parameters = {**cells.IF_curr_exp.default_parameters, "tau_ca2": 50.0,
                          "i_ca2": 0.0, "i_alpha": 0.1}
    units = {**_current_units(cells.IF_curr_exp), "tau_ca2": "ms", "i_ca2": "nA",
             "i_alpha": "nA"}
    translations = build_translations(*[(n, n) for n in default_parameters])
    recordable = NEURON_RECORDABLE


class IF_curr_exp_sEMD(IF_curr_dual_exp):  # noqa: N801 - sPyNNaker's name
    """sPyNNaker's ``extra_models.IF_curr_exp_sEMD`` (spiking elementary motion detector):
    receptors "excitatory", "excitatory2", "inhibitory"; the only excitatory current is
    exc2 * scaling_factor * multiplicator, where multiplicator latches the "excitatory"
    value when exc2 first rises above 0.001 (state: multiplicator, exc2_old)."""

    default_parameters = {**IF_curr_dual_exp.default_parameters, "scaling_factor": 1.0}
    default_initial_values = {**IF_curr_dual_exp.default_initial_values,
                              "multiplicator": 0.0, "exc2_old": 0.0}
    units = {**IF_curr_dual_exp.units, "scaling_factor": "", "multiplicator": "nA",
             "exc2_old": "nA"}
    translations = build_translations(*[(n, n) for n in default_parameters])


class IF_cond_exp(cells.IF_cond_exp):  # noqa: N801 - PyNN's name
    __doc__ = cells.IF_cond_exp.__doc__
    translations = _identity(cells.IF_cond_exp)


class IF_cond_exp_stoc(cells.IF_cond_exp):  # noqa: N801 - sPyNNaker's binary name
    """sPyNNaker's ``extra_models.IFCondExpStoc``: IF_cond_exp with the Maass stochastic
    threshold (du_th in mV, tau_th in ms; spinn_common's mars_kiss64_simp on each core)."""

    default_parameters = {**cells.IF_cond_exp.default_parameters, "du_th": 0.5, "tau_th": 20.0}
    units = {**cells.IF_cond_exp.units, "du_th": "mV", "tau_th": "ms"}
    translations = build_translations(*[(n, n) for n in default_parameters])


class IF_curr_alpha(cells.IF_curr_alpha):  # noqa: N801 - PyNN's name
    __doc__ = cells.IF_curr_alpha.__doc__
    translations = _identity(cells.IF_curr_alpha)
    recordable = NEURON_RECORDABLE
    units = _current_units(cells.IF_curr_alpha)


class IF_curr_delta(cells.IF_curr_delta):  # noqa: N801 - PyNN's name
    __doc__ = cells.IF_curr_delta.__doc__
    translations = _identity(cells.IF_curr_delta)
    recordable = NEURON_RECORDABLE
    units = _current_units(cells.IF_curr_delta)


class Izhikevich(cells.Izhikevich):
    """PyNN's Izhikevich as sPyNNaker runs it: IZK_curr_exp (exponential current synapses
    with tau_syn_E/I, default 5 ms; threshold 30 mV; i_offset added to dv/dt unscaled)."""

    default_parameters = {**cells.Izhikevich.default_parameters, **IZK_SYNAPSE_DEFAULTS}
    units = {**_current_units(cells.Izhikevich), "tau_syn_E": "ms", "tau_syn_I": "ms"}
    translations = build_translations(*[(n, n) for n in default_parameters])
    recordable = NEURON_RECORDABLE


class IZK_curr_exp(Izhikevich):  # noqa: N801 - sPyNNaker's name
    """sPyNNaker's ``extra_models.Izhikevich_cond``'s current twin (IzkCurrExpBase)."""


class IZK_cond_exp(Izhikevich):  # noqa: N801 - sPyNNaker's name
    """sPyNNaker's IzkCondExpBase: Izhikevich with conductance input (e_rev_E/I)."""

    default_parameters = {**Izhikevich.default_parameters, "e_rev_E": 0.0, "e_rev_I": -70.0}
    units = {**cells.Izhikevich.units, "tau_syn_E": "ms", "tau_syn_I": "ms",
             "e_rev_E": "mV", "e_rev_I": "mV", "gsyn_exc": "uS", "gsyn_inh": "uS"}
    translations = build_translations(*[(n, n) for n in default_parameters])


class SpikeSourcePoisson(cells.SpikeSourcePoisson):
    __doc__ = cells.SpikeSourcePoisson.__doc__
    translations = _identity(cells.SpikeSourcePoisson)


class SpikeSourceArray(cells.SpikeSourceArray):
    __doc__ = cells.SpikeSourceArray.__doc__
    translations = _identity(cells.SpikeSourceArray)


class StaticSynapse(synapses.StaticSynapse):
    __doc__ = synapses.StaticSynapse.__doc__
    translations = build_translations(("weight", "weight"), ("delay", "delay"))

    def _get_minimum_delay(self) -> float:
        return state.dt


class STDPMechanism(synapses.STDPMechanism):
    """PyNN's STDPMechanism as sPyNNaker 7.4.1 runs it: the whole delay is dendritic
    (``dendritic_delay_fraction`` must be 1) and weights change only when a pre-synaptic
    spike is processed."""

    __doc__ = synapses.STDPMechanism.__doc__
    base_translations = build_translations(
        ("weight", "weight"), ("delay", "delay"),
        ("dendritic_delay_fraction", "dendritic_delay_fraction"))

    def __init__(self, timing_dependence=None, weight_dependence=None,
                 voltage_dependence=None, dendritic_delay_fraction=1.0, weight=0.0,
                 delay=None):
        if voltage_dependence is not None:
            raise UnsupportedFeatureError("STDPMechanism(voltage_dependence=...) is not "
                                          "supported by sPyNNaker 7.4.1 or the emulator")
        if dendritic_delay_fraction != 1.0:
            raise UnsupportedFeatureError(
                "STDPMechanism(dendritic_delay_fraction != 1): sPyNNaker 7.4.1 treats the "
                "whole delay as dendritic")
        allowed = STDP_COMBINATIONS.get(type(timing_dependence), ())
        if type(weight_dependence) not in allowed:
            raise UnsupportedFeatureError(
                f"STDP with {type(timing_dependence).__name__} and "
                f"{type(weight_dependence).__name__} is not supported by the SpiNNaker "
                "emulator (supported: SpikePairRule with AdditiveWeightDependence or "
                "MultiplicativeWeightDependence; sPyNNaker's PfisterSpikeTriplet with "
                "WeightDependenceAdditiveTriplet; sPyNNaker's Vogels2011Rule with "
                "AdditiveWeightDependence; sPyNNaker's RecurrentRule with "
                "MultiplicativeWeightDependence)")
        self.translations = dict(self.base_translations)
        super().__init__(timing_dependence, weight_dependence, None,
                         dendritic_delay_fraction, weight, delay)

    def _build_translations(self):
        self.translations = dict(self.base_translations)
        for component in (self.timing_dependence, self.weight_dependence):
            self.translations.update(component.translations)

    def _get_minimum_delay(self) -> float:
        return state.dt


class Neuromodulation(synapses.StaticSynapse):
    """sPyNNaker's ``extra_models.Neuromodulation(weight, tau_c, tau_d, w_min, w_max)``:
    the synapses of a projection with receptor_type "reward" or "punishment", whose
    spikes step the dopamine trace of the post population; its plastic projections then
    run neuromodulated STDP (eligibility trace time constant tau_c, dopamine tau_d, real
    weights bounded by w_min, w_max). The delay plays no part."""

    default_parameters = {"weight": 0.0, "delay": None, "tau_c": 1000.0, "tau_d": 200.0,
                          "w_min": 0.0, "w_max": 1.0}
    translations = build_translations(*[(n, n) for n in default_parameters])

    def __init__(self, weight=0.0, tau_c=1000.0, tau_d=200.0, w_min=0.0, w_max=1.0):
        if w_min < 0 or w_max < 0:
            raise ValueError("Minimum and maximum weights must be >= 0 (sPyNNaker 7.4.1's "
                             "Neuromodulation)")
        super().__init__(weight=weight, tau_c=tau_c, tau_d=tau_d, w_min=w_min, w_max=w_max)

    def _get_minimum_delay(self) -> float:
        return state.dt


class SpikePairRule(synapses.SpikePairRule):
    __doc__ = synapses.SpikePairRule.__doc__
    translations = _identity(synapses.SpikePairRule)


class AdditiveWeightDependence(synapses.AdditiveWeightDependence):
    __doc__ = synapses.AdditiveWeightDependence.__doc__
    translations = _identity(synapses.AdditiveWeightDependence)


class MultiplicativeWeightDependence(synapses.MultiplicativeWeightDependence):
    __doc__ = synapses.MultiplicativeWeightDependence.__doc__
    translations = _identity(synapses.MultiplicativeWeightDependence)


class PfisterSpikeTriplet(synapses.STDPTimingDependence):
    """sPyNNaker's ``extra_models.PfisterSpikeTriplet`` (Pfister & Gerstner 2006): pair
    terms with amplitudes A_plus, A_minus and triplet terms with second traces of time
    constants tau_x (pre) and tau_y (post). Every parameter is required, as in sPyNNaker."""

    default_parameters = {"tau_plus": 20.0, "tau_minus": 20.0, "tau_x": 100.0,
                          "tau_y": 100.0, "A_plus": 0.01, "A_minus": 0.01}
    translations = build_translations(*[(n, n) for n in default_parameters])

    def __init__(self, tau_plus, tau_minus, tau_x, tau_y, A_plus, A_minus):  # noqa: N803
        super().__init__(tau_plus=tau_plus, tau_minus=tau_minus, tau_x=tau_x, tau_y=tau_y,
                         A_plus=A_plus, A_minus=A_minus)


class WeightDependenceAdditiveTriplet(synapses.STDPWeightDependence):
    """sPyNNaker's ``extra_models.WeightDependenceAdditiveTriplet``: additive two-term
    weight dependence of the triplet rule (A3_plus, A3_minus; all amplitudes are
    multiplied by w_max)."""

    default_parameters = {"w_min": 0.0, "w_max": 1.0, "A3_plus": 0.01, "A3_minus": 0.01}
    translations = build_translations(*[(n, n) for n in default_parameters])

    def __init__(self, w_min=0.0, w_max=1.0, A3_plus=0.01, A3_minus=0.01):  # noqa: N803
        super().__init__(w_min=w_min, w_max=w_max, A3_plus=A3_plus, A3_minus=A3_minus)


class TimingDependenceVogels2011(synapses.STDPTimingDependence):
    """sPyNNaker's ``extra_models.Vogels2011Rule(alpha, tau, A_plus, A_minus)`` (not PyNN's
    ``Vogels2011Rule(tau, eta, rho)``): inhibitory STDP, every pre or post spike potentiates
    by the other side's trace, each pre spike minus alpha. ``alpha`` is required."""

    default_parameters = {"alpha": 0.0, "tau": 20.0, "A_plus": 0.01, "A_minus": 0.01}
    translations = build_translations(*[(n, n) for n in default_parameters])

    def __init__(self, alpha, tau=20.0, A_plus=0.01, A_minus=0.01):  # noqa: N803
        super().__init__(alpha=alpha, tau=tau, A_plus=A_plus, A_minus=A_minus)


class TimingDependenceRecurrent(synapses.STDPTimingDependence):
    """sPyNNaker's ``extra_models.RecurrentRule``: a post spike inside a randomly long
    window after a pre spike counts an accumulator up, a pre spike inside a window after a
    post spike counts it down; at ``accumulator_potentiation`` / ``accumulator_depression``
    the weight moves one multiplicative step. ``dual_fsm`` chooses the build (one state
    machine per synapse, or separate pre and post windows)."""

    default_parameters = {"accumulator_depression": -6, "accumulator_potentiation": 6,
                          "mean_pre_window": 35.0, "mean_post_window": 35.0,
                          "dual_fsm": True, "A_plus": 0.01, "A_minus": 0.01}
    translations = build_translations(*[(n, n) for n in default_parameters])

    def __init__(self, accumulator_depression=-6, accumulator_potentiation=6,
                 mean_pre_window=35.0, mean_post_window=35.0, dual_fsm=True,
                 A_plus=0.01, A_minus=0.01):  # noqa: N803
        super().__init__(accumulator_depression=accumulator_depression,
                         accumulator_potentiation=accumulator_potentiation,
                         mean_pre_window=mean_pre_window, mean_post_window=mean_post_window,
                         dual_fsm=dual_fsm, A_plus=A_plus, A_minus=A_minus)


#: Timing dependence -> weight dependences it runs with (sPyNNaker 7.4.1 builds).
STDP_COMBINATIONS = {
    SpikePairRule: (AdditiveWeightDependence, MultiplicativeWeightDependence),
    PfisterSpikeTriplet: (WeightDependenceAdditiveTriplet,),
    TimingDependenceVogels2011: (AdditiveWeightDependence,),
    TimingDependenceRecurrent: (MultiplicativeWeightDependence,),
}


def _unsupported(name: str, kind: str) -> type:
    """A stand-in class for a PyNN model the emulator refuses, naming it and the alternatives."""

    def __init__(self, *args, **kwargs):  # noqa: N807 - installed as a method
        raise UnsupportedFeatureError(
            f"{name} is not supported by the SpiNNaker emulator ({kind}); supported cell "
            f"types: {', '.join(SUPPORTED_CELL_TYPES)}; synapses: StaticSynapse and "
            "STDPMechanism(SpikePairRule, Additive/MultiplicativeWeightDependence; "
            "PfisterSpikeTriplet, WeightDependenceAdditiveTriplet; "
            "TimingDependenceVogels2011, AdditiveWeightDependence; "
            "TimingDependenceRecurrent, MultiplicativeWeightDependence)")

    return type(name, (), {"__init__": __init__, "__doc__": f"Unsupported: {name}."})


#: PyNN standard models that exist as names here but refuse to be used.
UNSUPPORTED = {
    **{name: "cell type" for name in (
        "IF_cond_alpha", "IF_cond_exp_gsfa_grr",
        "IF_facets_hardware1", "HH_cond_exp", "EIF_cond_alpha_isfa_ista",
        "EIF_cond_exp_isfa_ista", "GIF_cond_exp", "SpikeSourceGamma",
        "SpikeSourceInhGamma", "PointNeuron", "LIF", "AdExp")},
    **{name: "synapse type" for name in (
        "ElectricalSynapse", "TsodyksMarkramSynapse", "SimpleStochasticSynapse",
        "StochasticTsodyksMarkramSynapse", "MultiQuantalSynapse",
        "AdditivePotentiationMultiplicativeDepression", "GutigWeightDependence",
        "Vogels2011Rule")},
}

globals().update({name: _unsupported(name, kind) for name, kind in UNSUPPORTED.items()})
