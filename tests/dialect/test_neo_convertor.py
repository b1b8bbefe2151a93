"""sPyNNaker's neo_convertor as the dialect provides it: spikes in sPyNNaker's numpy layout."""

from __future__ import annotations

import neo
import numpy as np
import quantities as pq

from repro.site import spynnaker_neo_convertor as convertor


def _block() -> neo.Block:
    segment = neo.Segment()
    for index, times in ((0, [1.0, 4.5]), (1, []), (2, [0.1])):
        train = neo.SpikeTrain(times, units="ms", t_stop=10.0, source_index=index)
        segment.spiketrains.append(train)
    segment.spiketrains[2] = segment.spiketrains[2].rescale(pq.s)
    block = neo.Block()
    block.segments.append(segment)
    return block


def test_convert_spikes_gives_index_time_rows_in_ms():
    block = _block()
    rows = convertor.convert_spikes(block)
    np.testing.assert_allclose(rows, [[0, 1.0], [0, 4.5], [2, 0.1]])
    assert convertor.count_spiketrains(block.segments[0].spiketrains) == 3
    assert convertor.convert_spiketrains([]).shape == (0, 2)
