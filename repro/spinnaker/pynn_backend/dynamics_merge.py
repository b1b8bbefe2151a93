"""sPyNNaker 7.4.1's merge of the synapse dynamics of all projections into one population.

sPyNNaker keeps one synapse dynamics per post-synaptic population (its vertex): every new
``Projection`` merges its synapse type into it (``PopulationVertex.synapse_dynamics``
setter), and refuses the projection when the two cannot be merged. For the synapse types
the emulator runs, the 7.4.1 rules (``synapse_dynamics_static.py``,
``synapse_dynamics_stdp.py``, ``synapse_dynamics_neuromodulation.py``) are:

* static, then static or STDP: the newcomer (STDP replaces static);
* STDP, then static: the STDP (static rows stay static on the plastic core);
* STDP, then STDP: the newcomer, if ``is_same_as``: same timing rule class with the same
  parameters (pair and nearest pair: tau_plus, tau_minus; triplet: those and tau_x, tau_y;
  Vogels 2011: tau, alpha; RecurrentRule: accumulators and mean windows, not ``dual_fsm``)
  and same weight dependence class with the same w_min, w_max, A_plus, A_minus (triplet:
  and A3_plus, A3_minus); the weight and delay of the synapses are not compared.
  Otherwise: "Synapse dynamics must match exactly when using multiple edges to the same
  population";
* static, then Neuromodulation: "Neuromodulation can only be added when an STDP projection
  has already been added";
* STDP, then Neuromodulation: the STDP, now neuromodulated, if it had no modulation yet or
  the same tau_c, tau_d, w_min and w_max; otherwise "Neuromodulation must match exactly
  when using multiple edges to the same Population".

The population's plastic projections then all run the merged rule (the last STDP merged),
with its neuromodulation. Like sPyNNaker, the emulator applies the rules when the
``Projection`` is created, and a refused projection is not created.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from repro.spinnaker.stdp import Neuromodulation as Modulation
from repro.spinnaker.stdp import StdpRule


class SynapticConfigurationError(ValueError):
    """Projections into one population whose synapse dynamics sPyNNaker 7.4.1 cannot merge
    (its ``SynapticConfigurationException``)."""


@dataclass(frozen=True)
class Dynamics:
    """The synapse type of one projection, as the merge sees it.

    Attributes
    ----------
    rule : StdpRule or Modulation or None
        The STDP rule, the Neuromodulation parameters, or None for static synapses.
    projection : str
        The projection's label.
    line : str
        ``file:line`` of the script statement that created it.
    """

    rule: StdpRule | Modulation | None
    projection: str
    line: str

    def name(self) -> str:
        """The projection and its script line, for messages."""
        return f"projection {self.projection!r} (at {self.line})"


@dataclass(frozen=True)
class Merged:
    """The merged synapse dynamics of one post-synaptic population.

    Attributes
    ----------
    stdp : Dynamics or None
        The projection whose STDP rule the population runs (None: static only).
    modulation : Dynamics or None
        The Neuromodulation projection whose parameters apply (None: not modulated).
    """

    stdp: Dynamics | None = None
    modulation: Dynamics | None = None

    @property
    def rule(self) -> StdpRule | None:
        """The rule every plastic projection into the population runs (with its
        neuromodulation), or None when the population has only static synapses."""
        if self.stdp is None:
            return None
        rule = self.stdp.rule
        assert isinstance(rule, StdpRule)
        if self.modulation is None:
            return rule
        assert isinstance(self.modulation.rule, Modulation)
        return dataclasses.replace(rule, neuromodulation=self.modulation.rule)


def _compared(rule: StdpRule) -> StdpRule:
    """The part of a rule sPyNNaker's ``is_same_as`` compares (not RecurrentRule's
    ``dual_fsm``, which only chooses the build)."""
    timing = "recurrent" if rule.timing.startswith("recurrent") else rule.timing
    return dataclasses.replace(rule, timing=timing, neuromodulation=None)


def _differences(old: object, new: object) -> str:
    fields = [f.name for f in dataclasses.fields(old)]  # type: ignore[arg-type]
    return ", ".join(f"{name} {getattr(old, name)!r} vs {getattr(new, name)!r}"
                     for name in fields if getattr(old, name) != getattr(new, name))


def _refuse(feature: str, new: Dynamics, problem: str,
            spynnaker: str) -> SynapticConfigurationError:
    return SynapticConfigurationError(
        f"{feature} of {new.name()} {problem}. sPyNNaker 7.4.1 refuses this network too "
        f"(\"{spynnaker}\"), so the SpiNNaker emulator does not run it")


def _differs(old: Dynamics, new: Dynamics, population: str) -> str:
    return (f"differs from that of {old.name()} onto the same population {population!r} "
            f"({_differences(old.rule, new.rule)})")


def merge(merged: Merged, new: Dynamics, population: str) -> Merged:
    """Merge a new projection's synapse type into a population's, as sPyNNaker 7.4.1 does.

    Parameters
    ----------
    merged : Merged
        The population's merged dynamics so far (``Merged()`` before its first projection).
    new : Dynamics
        The synapse type of the projection being created.
    population : str
        The post-synaptic population's label (for messages).

    Returns
    -------
    Merged
        The population's merged dynamics including the new projection.

    Raises
    ------
    SynapticConfigurationError
        For the combinations sPyNNaker 7.4.1 refuses (the message names the feature, both
        projections and their script lines).
    """
    if isinstance(new.rule, Modulation):
        if merged.stdp is None:
            raise _refuse("Neuromodulation", new, f"onto population {population!r} comes "
                          "before any STDPMechanism projection into it",
                          "Neuromodulation can only be added when an STDP projection has "
                          "already been added")
        if merged.modulation is not None and merged.modulation.rule != new.rule:
            raise _refuse("Neuromodulation", new, _differs(merged.modulation, new, population),
                          "Neuromodulation must match exactly when using multiple edges to "
                          "the same Population")
        return dataclasses.replace(merged, modulation=merged.modulation or new)
    if new.rule is None:
        return merged
    if merged.stdp is not None:
        old = merged.stdp
        assert isinstance(old.rule, StdpRule)
        if _compared(old.rule) != _compared(new.rule):
            raise _refuse("STDPMechanism", new, _differs(
                dataclasses.replace(old, rule=_compared(old.rule)),
                dataclasses.replace(new, rule=_compared(new.rule)), population),
                "Synapse dynamics must match exactly when using multiple edges to the "
                "same population")
    return dataclasses.replace(merged, stdp=new)
