"""sPyNNaker's extra models through the dialect on the emulator, unmodified script style:
IF_curr_dual_exp with receptor "excitatory2", PfisterSpikeTriplet with
WeightDependenceAdditiveTriplet, Vogels2011Rule, ``spynnaker.pyNN.utilities.neo_convertor``
and two simulations in one script (setup/end twice)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dialect.test_dialect import notes_of, run_harness


@pytest.mark.slow
def test_extra_models_run_on_the_emulator_in_two_simulations(tmp_path: Path,
                                                             monkeypatch) -> None:
    monkeypatch.setenv("REPRO_EMULATOR_KERNELS", "numpy")  # no kernel compilation
    result, bundle = run_harness(tmp_path, "extra_models_twice.py", backend="spinnaker_emulator")
    assert result["status"] == "completed", result.get("error", {}).get("traceback")
    notes = notes_of(result)
    for name in ("IF_curr_dual_exp", "PfisterSpikeTriplet", "WeightDependenceAdditiveTriplet",
                 "Vogels2011Rule"):
        note = notes[f"extra_models.{name}"]
        assert note.action == "translated" and not note.numerical_effect
    # both simulations' recorded populations are harvested, each once
    assert [(p["name"], p["n_spikes"] > 0) for p in result["populations"]] == [
        ("dual", True), ("dual_1", True)]
    log = (bundle / "output" / "harness.log").read_text()
    assert log.count("cycle 0 spikes [[0.0,") == 1 and log.count("cycle 1 spikes [[0.0,") == 1
