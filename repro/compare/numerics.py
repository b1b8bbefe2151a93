"""Known SpiNNaker numerics differences, shown with the hardware provenance counters of the runs.

When one side ran on SpiNNaker (or its emulator), part of any difference to NEST is expected
from the platform's arithmetic (``spinnaker-numerics.md`` section 8). These notes name each
known effect, the statistics it moves and the provenance counters that show how much of it
the runs saw, summed over the runs.
"""

from __future__ import annotations

from collections.abc import Sequence

from repro.compare.spikes import RunSpikes


def _is_spinnaker(run: RunSpikes) -> bool:
    provenance = run.facts.get("provenance") or {}
    return "spinnaker" in str(provenance.get("format", "")).lower() or bool(
        provenance.get("emulated"))


def numerics_notes(runs: Sequence[RunSpikes]) -> list[str]:
    """Notes on SpiNNaker's known numerics for the SpiNNaker runs among ``runs``.

    Examples
    --------
    >>> numerics_notes([RunSpikes("r", "local", 1, ())])
    []
    """
    spinnaker = [r for r in runs if _is_spinnaker(r)]
    if not spinnaker or len(spinnaker) == len(runs):
        return []
    saturations = rounded = wrapped = 0
    steps: dict[str, set[int]] = {}
    resolution: dict[str, float] = {}
    for run in spinnaker:
        provenance = run.facts["provenance"]
        for projection in provenance.get("projections", []):
            saturations += int(projection.get("ring_buffer_saturations", 0) or 0)
            rounded += int(projection.get("weights_rounded_to_zero", 0) or 0)
            wrapped += int(projection.get("weights_wrapped", 0) or 0)
            steps.setdefault(str(projection.get("label", "?")), set()).update(
                int(s) for s in projection.get("delay_steps", []))
        for population in provenance.get("populations", []):
            for receptor, value in (population.get("weight_resolution") or {}).items():
                resolution[f"{population.get('label')}/{receptor}"] = float(value)
    dt = next((r.facts.get("timestep_ms") for r in spinnaker), 0.1) or 0.1
    targets = ", ".join(sorted({r.target for r in spinnaker}))
    delay_text = "; ".join(f"{label}: {min(s) * dt:g}-{max(s) * dt:g} ms"
                           for label, s in steps.items() if s)
    weight_text = ", ".join(f"{key} {value:.3g} nA" for key, value in resolution.items())
    n = len(spinnaker)
    return [
        f"known SpiNNaker numerics on {targets} ({n} run(s); spinnaker-numerics.md section 8): "
        "(1) one-step-earlier delivery: a neuron's spike is stamped one time step earlier "
        "than NEST stamps it and reaches its targets one step sooner for the same nominal "
        "delay, which moves spike timing, correlations and the population-rate spectrum, "
        "not rates; under frozen-input replay it shows as the first divergence",
        f"(2) delays as realised on the board (steps x {dt:g} ms; truncated when generated on "
        f"the machine, rounded on the host): {delay_text or 'not reported'}",
        f"(3) weight quantisation: resolution {weight_text or 'not reported'}; weights "
        f"rounded to zero {rounded}, wrapped {wrapped}, ring-buffer saturations {saturations} "
        "(summed over the runs); these move rates, CV and Fano factors when non-zero",
    ]
