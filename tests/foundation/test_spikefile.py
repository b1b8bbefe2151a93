"""The repro.spikes/1 file: round trip, neo export, corrupt files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from repro.site.spikefile import (
    PopulationSpikes,
    SpikeFileError,
    read_spikes,
    to_neo_block,
    write_spikes,
)

trains = st.lists(st.lists(st.floats(0, 1000, allow_nan=False), max_size=20), max_size=15)


@settings(max_examples=30, deadline=None)
@given(trains=trains)
def test_round_trip_keeps_every_spike(tmp_path_factory, trains) -> None:
    path = tmp_path_factory.mktemp("s") / "spikes.npz"
    pop = PopulationSpikes.from_trains("exc", [np.array(t) for t in trains],
                                       celltype="IF_curr_exp", t_start=0.0, t_stop=1000.0)
    write_spikes(path, [pop])
    (back,) = read_spikes(path)
    assert back.size == len(trains)
    for i, train in enumerate(trains):
        assert np.array_equal(back.train(i), np.sort(np.array(train, dtype=float)))


def test_hostile_population_names_stay_inside_the_archive(tmp_path: Path) -> None:
    pop = PopulationSpikes.from_trains("../../etc/passwd", [np.array([1.0])], celltype="x",
                                       t_start=0, t_stop=10)
    write_spikes(tmp_path / "s.npz", [pop])
    assert read_spikes(tmp_path / "s.npz")[0].name == "../../etc/passwd"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.npz"]


def test_neo_export_has_one_train_per_neuron(tmp_path: Path) -> None:
    pop = PopulationSpikes.from_trains("inh", [np.array([1.0, 2.0]), np.array([])],
                                       celltype="IF_curr_exp", t_start=0, t_stop=10)
    block = to_neo_block([pop])
    assert [len(st) for st in block.segments[0].spiketrains] == [2, 0]
    assert block.groups[0].name == "inh"


def test_corrupt_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "spikes.npz"
    path.write_bytes(b"not a zip")
    with pytest.raises(SpikeFileError, match=str(path)):
        read_spikes(path)
