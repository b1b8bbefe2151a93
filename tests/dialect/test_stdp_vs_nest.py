"""Every plasticity rule NEST and the emulator both run, through the sPyNNaker dialect on both:
learned weights within the fixed-point bound of docs/spinnaker-numerics-models.md.

One script of ours (scripts/stdp_vs_nest.py) runs the same pairings on NEST and on the
emulator: SpikePairRule with Additive- and MultiplicativeWeightDependence, PfisterSpikeTriplet
with WeightDependenceAdditiveTriplet, Vogels2011Rule. Both spikes of a pairing come from
neurons, so NEST's spike stamps (one step later than sPyNNaker's, checked here) shift pre and
post alike and every lag is the same on both. NEST runs its grid-based models
(``spike_precision="on_grid"``), whose spikes are on the time grid as SpiNNaker's.

The bound of one neuron (docs §7.5, §11, §12, "Equivalence to NEST"): with q = 2**(L-15) the
weight quantum (L = 3), eps = 2**-11 one trace step and f = 2**-15 one S16.15 step,

    |w_emulator - w_nest| <= U q + T (phi + 2**-16 M) + sum_k a_k delta_k

U pre spikes that change the weight (each stores W = state >> L: < q lost), T non-zero
fixed-point terms (each floored: phi = f, multiplicative 2 f; amplitude rounded to S16.15:
2**-16 times M = 1, multiplicative w_max), and per term its amplitude a_k (weight units)
times the error of its fixed-point trace: eps for a floored table entry (also past the
table, where exp(-k/tau) < eps), eps more per 16-bit product, and for the triplet rule's
second traces the 4-step table, exp(-4 floor(k/4)/tau) (1 - exp(-(k mod 4)/tau)).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from tests.dialect.test_dialect import notes_of, run_harness

Q, EPS, F, ROUND = 2.0 ** -12, 2.0 ** -11, 2.0 ** -15, 2.0 ** -16
N_PAIRS, GAP, W0 = 100, 25, 0.5  # as in the script
ALPHA = 0.12


def _second_trace(tau: float) -> float:
    """Error of a triplet second trace one GAP after its spike: 4-step table, floored."""
    k = GAP
    return EPS + math.exp(-4 * (k // 4) / tau) * (1 - math.exp(-(k % 4) / tau))


def _pair_rule(a_plus: float, a_minus: float, mult: float, phi: float) -> dict:
    """U, T and sum a delta of the pair rule (amplitudes in weight units).

    pair: one term (eps) and the last pre spike's term past the table (a- eps);
    pre-post-post: two potentiations at the last pre spike, residual with o <= 2;
    post-pre-pre: two depressions at two pre spikes, residual with o = 1.
    """
    return {"pair": (1, 1, 2 * max(a_plus, a_minus) * EPS),
            "pre-post-post": (1, 2, (2 * a_plus + 2 * a_minus) * EPS),
            "post-pre-pre": (2, 2, 3 * a_minus * EPS), "mult": mult, "phi": phi}


def _triplet(tau_minus, a2p, a2m, a3p, a3m, tau_plus=16.8, tau_x=101.0, tau_y=114.0) -> dict:
    """pre-post-post: o2 of the second post from the 4-step table (A3+ term); post-pre-pre:
    r2 of the second pre (A3- term); lags of the patterns' second terms: a + GAP, b + GAP."""
    def ppp(a: int) -> tuple:
        x2 = math.exp(-(a + GAP) / tau_plus)
        return (1, 3, 2 * a2p * EPS + a3p * (2 * EPS + x2 * _second_trace(tau_y))
                + 2 * (a2m + a3m) * EPS)

    def ppr(b: int) -> tuple:
        y2 = math.exp(-(b + GAP) / tau_minus)
        return (2, 3, 2 * a2m * EPS + a3m * (2 * EPS + y2 * _second_trace(tau_x))
                + (a2m + a3m) * EPS)

    return {"pair": (1, 1, (max(a2p, a2m) + a2m + a3m) * EPS), "pre-post-post": ppp,
            "post-pre-pre": ppr, "mult": 1.0, "phi": F}


def _vogels(a: float) -> dict:
    """Every pre spike after a post spike adds a (x_post - alpha), alpha = 246/2048."""
    d_alpha = abs(round(ALPHA * 2048) / 2048 - ALPHA)
    return {"pair": (2, 3, a * (3 * EPS + 2 * d_alpha)),
            "pre-post-post": (2, 4, a * (4 * EPS + 2 * d_alpha)),
            "post-pre-pre": (3, 3, a * (3 * EPS + 3 * d_alpha)), "mult": 1.0, "phi": F}


#: The script's rules (weight units: the triplet amplitudes times w_max = 2).
RULES = {
    "pair_additive": _pair_rule(0.01, 0.012, 1.0, F),
    "pair_multiplicative": _pair_rule(0.02 * 2.0, 0.025 * 2.0, 2.0, 2 * F),
    "triplet": _triplet(33.7, 0.02 * 2, 0.03 * 2, 0.05 * 2, 0.04 * 2),
    "vogels": _vogels(0.05),
}
PATTERNS = ["pair"] * N_PAIRS + [("pre-post-post", a) for a in (2, 6, 12)] + [
    ("post-pre-pre", b) for b in (1, 4, 9)]


def bound(rule: dict, pattern) -> float:
    """The fixed-point bound of one neuron of the script (module docstring)."""
    kind, lag = (pattern, None) if pattern == "pair" else pattern
    counts = rule[kind] if lag is None or isinstance(rule[kind], tuple) else rule[kind](lag)
    updates, terms, traces = counts
    return updates * Q + terms * (rule["phi"] + ROUND * rule["mult"]) + traces


def _learned(tmp_path: Path, backend: str) -> tuple[dict, dict]:
    result, bundle = run_harness(tmp_path, "stdp_vs_nest.py", backend=backend)
    assert result["status"] == "completed", result.get("error", {}).get("traceback")
    return json.loads((bundle / "stdp_vs_nest.json").read_text()), notes_of(result)


@pytest.mark.slow
def test_plasticity_rules_on_nest_and_the_emulator_agree_within_the_fixed_point_bound(
        tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("REPRO_EMULATOR_KERNELS", "numpy")  # no kernel compilation
    (nest, notes), (emulator, _) = (_learned(tmp_path, b) for b in ("nest", "spinnaker_emulator"))
    # sPyNNaker's additive pair amplitudes are weights; NEST's stdp_synapse scales by Wmax
    note = notes["SpikePairRule with AdditiveWeightDependence"]
    assert (note.action, note.numerical_effect) == ("translated", False)
    # why the script gives the Vogels cells a post spike first (docs §12)
    assert "before the first post spike" in notes["extra_models.Vogels2011Rule"].detail
    # NEST stamps every neuron spike one step later; the same spikes otherwise
    for ours, theirs in [(nest["pre"], emulator["pre"])] + [
            (nest["post"][name], emulator["post"][name]) for name in RULES]:
        assert [[t - 1.0 for t in train] for train in ours] == theirs
    pre, post = emulator["pre"], emulator["post"]["triplet"]
    lags = [round(p[0] + 1.0 - s[0]) for s, p in zip(pre[:N_PAIRS], post[:N_PAIRS], strict=True)]
    assert lags == list(range(1, 51)) + list(range(-1, -51, -1))
    report = []
    for name, rule in RULES.items():
        w_nest = np.asarray(nest["weights"][name])
        w_emu = np.asarray(emulator["weights"][name])
        limits = np.array([bound(rule, pattern) for pattern in PATTERNS])
        deviation = np.abs(w_emu - w_nest)
        assert np.all(deviation <= limits), (name, np.flatnonzero(deviation > limits))
        changed = np.abs(w_nest - W0) > limits  # signs a change above the bound decides
        assert changed.sum() >= 0.8 * len(PATTERNS), name
        assert np.array_equal(np.sign(w_emu - W0)[changed], np.sign(w_nest - W0)[changed])
        report.append(f"{name}: max |dw| pairs {deviation[:N_PAIRS].max():.3g} (bound "
                      f"{limits[:N_PAIRS].max():.3g}), patterns {deviation[N_PAIRS:].max():.3g}"
                      f" (bounds {limits[N_PAIRS:].min():.3g}..{limits[N_PAIRS:].max():.3g})")
    print("\n".join(report))


@pytest.mark.parametrize(("header", "scale"), [("import pyNN.spiNNaker as p", 0.5),
                                               ("import pyNN.nest as p", 1.0)])
def test_additive_pair_amplitudes_are_divided_by_w_max_for_spynnaker_scripts_only(
        tmp_path: Path, header: str, scale: float) -> None:
    """sPyNNaker's A+- are weights; a script written for NEST keeps PyNN's A * w_max."""
    import pyNN.nest as nest

    from repro.site.dialect import ScriptDialect
    from repro.site.portability import NoteBook

    script = tmp_path / "script.py"
    script.write_text(header + "\n")
    book = NoteBook(script=script)
    shim = ScriptDialect(nest, 1, 1, {}, book).shim
    rule = shim.STDPMechanism(
        timing_dependence=shim.SpikePairRule(A_plus=0.01, A_minus=0.012),
        weight_dependence=shim.AdditiveWeightDependence(w_min=0.0, w_max=2.0), weight=0.5)
    given = rule.timing_dependence.parameter_space
    assert (given["A_plus"].base_value, given["A_minus"].base_value) == (
        0.01 * scale, 0.012 * scale)
    noted = [n.feature for n in book.notes]
    assert noted == (["SpikePairRule with AdditiveWeightDependence"] if scale != 1 else [])
