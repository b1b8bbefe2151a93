"""Plasticity a target runs with another meaning than the script's simulator is noted.

* PyNN's additive pair rule on the emulator: sPyNNaker (and so the emulator) takes A_plus and
  A_minus as weights, PyNN as fractions of w_max; noted for scripts not written for
  sPyNNaker when w_max != 1. The multiplicative rule means the same on both (no note).
* NEST keeps tau_minus (and tau_minus_triplet) in the post-synaptic neuron: two plastic
  projections onto the same neurons with different values get the last one; noted.

Our own tiny scripts run in this process with the dialect's shim as their simulator module.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from repro.site.dialect import ScriptDialect
from repro.site.portability import NoteBook, PortabilityNote


def run_script(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend_name: str,
               source: str) -> dict[str, PortabilityNote]:
    """Execute ``source`` as a script file with the dialect's shim as every simulator module."""
    import importlib

    import pyNN

    backend = importlib.import_module(backend_name)
    script = (tmp_path / "script.py").resolve()
    script.write_text(source)
    book = NoteBook(script=script)
    shim = ScriptDialect(backend, 1, 1, {}, book).shim
    for name in ("nest", "spiNNaker"):
        monkeypatch.setitem(sys.modules, f"pyNN.{name}", shim)
        monkeypatch.setattr(pyNN, name, shim, raising=False)
    exec(compile(source, str(script), "exec"), {"__name__": "__main__"})  # noqa: S102
    return {note.feature: note for note in book.notes}


PAIR_RULE = """{header}
stdp = sim.STDPMechanism(
    timing_dependence=sim.SpikePairRule(A_plus=0.01, A_minus=0.012),
    weight_dependence=sim.{dependence}WeightDependence(w_min=0.0, w_max={w_max}), weight=0.5)
"""


@pytest.mark.parametrize(("header", "dependence", "w_max", "noted"), [
    ("import pyNN.nest as sim", "Additive", 2.0, True),
    ("from pyNN.utility import get_simulator\nsim = __import__('pyNN.nest').nest", "Additive",
     0.5, True),
    ("import pyNN.spiNNaker as sim", "Additive", 2.0, False),  # sPyNNaker's own meaning
    ("import pyNN.nest as sim", "Additive", 1.0, False),  # the same changes
    ("import pyNN.nest as sim", "Multiplicative", 2.0, False),  # A (w_max - w) on both
])
def test_pynn_additive_amplitudes_on_the_emulator_are_noted_with_the_factor(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, header: str, dependence: str,
        w_max: float, noted: bool) -> None:
    notes = run_script(tmp_path, monkeypatch, "repro.spinnaker.pynn_backend",
                       PAIR_RULE.format(header=header, dependence=dependence, w_max=w_max))
    feature = f"SpikePairRule with AdditiveWeightDependence(w_max={w_max:g})"
    assert list(notes) == ([feature] if noted else [])
    if noted:
        note = notes[feature]
        assert (note.action, note.numerical_effect) == ("translated", True)
        assert note.script_line == f"script.py:{header.count(chr(10)) + 2}"
        assert f"1/w_max = {1 / w_max:g} times the script's" in note.detail


TWO_PROJECTIONS = """{header}
sim.setup(timestep=1.0, min_delay=1.0)
pre = sim.Population(2, sim.SpikeSourceArray(spike_times=[5.0]), label="pre")
posts = [sim.Population(2, sim.IF_curr_exp(), label=f"post{{i}}") for i in range(2)]


def stdp(tau_minus, tau_y):
    if tau_y is None:
        timing = sim.SpikePairRule(tau_plus=20.0, tau_minus=tau_minus, A_plus=0.01,
                                   A_minus=0.01)
        weight = sim.AdditiveWeightDependence(w_min=0.0, w_max=1.0)
    else:
        timing = sim.extra_models.PfisterSpikeTriplet(
            tau_plus=16.8, tau_minus=tau_minus, tau_x=101.0, tau_y=tau_y, A_plus=0.01,
            A_minus=0.01)
        weight = sim.extra_models.WeightDependenceAdditiveTriplet(
            w_min=0.0, w_max=1.0, A3_plus=0.01, A3_minus=0.01)
    return sim.STDPMechanism(timing_dependence=timing, weight_dependence=weight, weight=0.5,
                             delay=1.0)


sim.Projection(pre, posts[0], sim.AllToAllConnector(), stdp({first}))
sim.Projection(pre, posts[{second_post}], sim.AllToAllConnector(), stdp({second}))
"""


@pytest.mark.parametrize(("header", "first", "second", "second_post", "differ"), [
    ("import pyNN.nest as sim", "20.0, None", "30.0, None", 0, "tau_minus"),
    ("import pyNN.spiNNaker as sim", "20.0, 114.0", "20.0, 100.0", 0, "tau_minus_triplet"),
    ("import pyNN.nest as sim", "20.0, None", "20.0, None", 0, None),  # equal
    ("import pyNN.nest as sim", "20.0, None", "30.0, None", 1, None),  # other neurons
])
def test_different_post_trace_constants_onto_one_population_on_nest_are_noted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, header: str, first: str, second: str,
        second_post: int, differ: str | None) -> None:
    source = TWO_PROJECTIONS.format(header=header, first=first, second=second,
                                    second_post=second_post)
    notes = run_script(tmp_path, monkeypatch, "pyNN.nest", source)
    feature = f"plastic projections onto one population with different {differ}"
    assert (feature in notes) == (differ is not None), sorted(notes)
    assert not any(name.startswith("plastic projections") for name in notes if name != feature)
    if differ is not None:
        note = notes[feature]
        lines = source.splitlines()
        first_line, second_line = (i + 1 for i, text in enumerate(lines)
                                   if text.startswith("sim.Projection(pre, posts"))
        assert (note.action, note.numerical_effect) == ("ignored", True)
        assert note.script_line == f"script.py:{second_line}"
        assert f"the projection at script.py:{first_line} onto post0" in note.detail
