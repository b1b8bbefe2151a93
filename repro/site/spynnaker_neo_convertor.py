"""sPyNNaker's ``spynnaker.pyNN.utilities.neo_convertor`` for scripts run on other backends.

Scripts written for sPyNNaker turn the neo blocks ``get_data()`` returns into its older
numpy layout with this module. The dialect installs it under sPyNNaker's name on the
emulator and on NEST. Spikes: one row (neuron index, time in ms) per spike, by neuron,
then time. (The signal converters are not provided.)
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _index(train: Any, position: int) -> int:
    return int(train.annotations.get("source_index", position))


def convert_spiketrains(spiketrains: list[Any]) -> np.ndarray:
    """Spike trains -> an (n, 2) array of (neuron index, time in ms)."""
    rows = [np.column_stack([np.full(len(train), _index(train, i), dtype=float),
                             np.asarray(train.rescale("ms").magnitude, dtype=float)])
            for i, train in enumerate(spiketrains)]
    return np.concatenate(rows) if rows else np.zeros((0, 2))


def convert_spikes(neo: Any, run: int = 0) -> np.ndarray:
    """Spikes of segment ``run`` of a neo block, as :func:`convert_spiketrains`."""
    return convert_spiketrains(neo.segments[run].spiketrains)


def count_spiketrains(spiketrains: list[Any]) -> int:
    """Total number of spikes in the trains."""
    return int(sum(len(train) for train in spiketrains))
