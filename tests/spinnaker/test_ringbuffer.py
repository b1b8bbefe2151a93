"""The ring buffer's summed, clamped delivery equals saturating every addition in order."""

from __future__ import annotations

import numpy as np
import pytest

from repro.spinnaker.ringbuffer import Fanout, RingBuffer, RouteSynapses


def _sequential(n_cells, n_slots, routes, sent):
    """Reference: add every event one by one, saturating, in the chip's delivery order."""
    cells = np.zeros((n_slots, 2 * n_cells), dtype=np.int64)
    saturations = np.zeros(len(routes), dtype=np.int64)
    for tick, senders in sent:
        for r in sorted(routes, key=lambda r: r.rank):
            order = np.argsort(r.pre, kind="stable")
            for sender in senders:
                for k in order[r.pre[order] == sender]:
                    slot = (tick + r.delay_steps[k]) % n_slots
                    total = cells[slot, r.column[k]] + r.weight[k]
                    saturations[r.route] += total > 0xFFFF
                    cells[slot, r.column[k]] = min(total, 0xFFFF)
    return cells, saturations


@pytest.mark.parametrize("seed", range(4))
def test_summed_delivery_equals_sequential_saturation(seed):
    rng = np.random.default_rng(seed)
    n_pre, n_cells, n_slots = 6, 3, 4
    routes = [RouteSynapses(route=i, rank=rank, pre=rng.integers(0, n_pre, 40),
                            column=rng.integers(0, 2 * n_cells, 40),
                            delay_steps=rng.integers(1, n_slots, 40),
                            weight=rng.choice([0, 3000, 20000, 40000], 40))
              for i, rank in enumerate((1, 0))]  # the second route delivers first
    fanout = Fanout(n_pre, routes, 2 * n_cells)
    ring = RingBuffer(n_cells, n_slots, len(routes))
    sent = [(tick, np.sort(rng.choice(n_pre, 3, replace=False))) for tick in range(3)]
    for tick, senders in sent:
        ring.add(tick, [fanout.events(senders, None)])
    expected_cells, expected_saturations = _sequential(n_cells, n_slots, routes, sent)
    np.testing.assert_array_equal(ring.cells.reshape(n_slots, -1), expected_cells)
    np.testing.assert_array_equal(ring.saturations, expected_saturations)
    assert expected_saturations.sum() > 0
