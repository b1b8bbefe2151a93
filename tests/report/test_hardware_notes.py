"""The run table's hardware column shows the emulator's SpiNNaker notes (e.g. rate errors)."""

from __future__ import annotations

from repro.report.html import _hardware
from repro.report.view import RunView


def test_spinnaker_rate_note_is_shown_next_to_the_counters():
    note = ("src: SpikeSourcePoisson rate 0.001 Hz at dt = 0.1 ms: SpiNNaker (7.4.1 "
            "algorithm) produces 0.00502 Hz (5.02x the requested rate)")
    run = RunView(run_id="r", side="candidate", target="spinnaker_emulator", seed=1,
                  hardware={"emulated": "sPyNNaker 7.4.1",
                            "projections": [{"label": "p", "ring_buffer_saturations": 0}],
                            "notes": [note, "an unrelated note"]})
    text = _hardware(run)
    assert "all 1 trouble counters 0" in text
    assert "5.02x the requested rate" in text
    assert "unrelated" not in text
