"""Optional compiled loops (numba) for the engine's sequential work, equal to the numpy path.

Two parts of a tick are loops that numpy can only run as many small array operations:
Knuth's Poisson method, whose draws are consumed in data-dependent rounds (the next
source's draws start where the survivors of the previous round stopped), and the
expansion of a tick's spikes into synaptic events. numba compiles both into plain loops.
numba is not required (execution sites may lack it): :func:`select` imports it lazily,
and without it (or with ``REPRO_EMULATOR_KERNELS=numpy`` in the environment) the engine
runs its numpy code.
Both paths give the same bits (``tests/spinnaker/test_golden.py`` runs both).
"""

from __future__ import annotations

import os

import numpy as np

_U32 = np.uint64(32)
_TOP = np.uint64(0xFFFFFFFF)
_COMPILED: dict = {}
_SELECTED: dict = {}


def knuth_ticks(draws, threshold, first_draws, counts):
    """Counts of ``n_ticks`` ticks (rows of ``counts``) from the stream ``draws``;
    returns (ticks completed, draws consumed). Stops early when draws run out."""
    width = threshold.size
    product = np.empty(width, np.uint64)
    alive = np.empty(width, np.int64)
    position = 0
    for tick in range(counts.shape[0]):
        if position + first_draws * width > draws.size:
            return tick, position
        start = position
        for i in range(width):
            product[i] = _TOP
            counts[tick, i] = 0
        for _ in range(first_draws):
            for i in range(width):
                product[i] = (product[i] * draws[position + i]) >> _U32
                if product[i] > threshold[i]:
                    counts[tick, i] += 1
            position += width
        n_alive = 0
        for i in range(width):
            if product[i] > threshold[i]:
                alive[n_alive] = i
                n_alive += 1
        while n_alive > 0:
            if position + n_alive > draws.size:
                return tick, start
            survivors = 0
            for k in range(n_alive):
                i = alive[k]
                product[i] = (product[i] * draws[position + k]) >> _U32
                if product[i] > threshold[i]:
                    counts[tick, i] += 1
                    alive[survivors] = i
                    survivors += 1
            position += n_alive
            n_alive = survivors
        for i in range(width):
            if threshold[i] == 0:
                counts[tick, i] = 0
    return counts.shape[0], position

def add_rows(cells, start, indptr, offset, weight, senders):
    """Add the rows of ``senders`` to ``cells`` from ``start`` (wrapping); max cell."""
    size = cells.size
    highest = 0.0
    for s in senders:
        for k in range(indptr[s], indptr[s + 1]):
            cell = start + offset[k]
            if cell >= size:
                cell -= size
            cells[cell] += weight[k]
            if cells[cell] > highest:
                highest = cells[cell]
    return highest

def add_packets(cells, start, indptr, offset, weight, senders, counts):
    """As :func:`add_rows`, each row's weights times the spikes of its packet."""
    size = cells.size
    highest = 0.0
    for p in range(senders.size):
        s = senders[p]
        for k in range(indptr[s], indptr[s + 1]):
            cell = start + offset[k]
            if cell >= size:
                cell -= size
            cells[cell] += weight[k] * counts[p]
            if cells[cell] > highest:
                highest = cells[cell]
    return highest


def add_events(cells, start, offset, amount):
    """Add events (``offset``, ``amount``) to ``cells`` from ``start``; max cell."""
    size = cells.size
    highest = 0.0
    for k in range(offset.size):
        cell = start + offset[k]
        if cell >= size:
            cell -= size
        cells[cell] += amount[k]
        if cells[cell] > highest:
            highest = cells[cell]
    return highest


def select() -> dict | None:
    """Choose the engine path from ``REPRO_EMULATOR_KERNELS`` (``numpy`` or ``auto``) and
    numba's presence; compile (or load from numba's cache) the kernels if they are used.

    Returns
    -------
    dict or None
        The compiled kernels by name, or None for the numpy path.
    """
    _SELECTED.clear()
    _SELECTED["functions"] = None
    if os.environ.get("REPRO_EMULATOR_KERNELS", "auto") == "numpy":
        return None
    if not _COMPILED:
        try:
            import numba
        except ImportError:
            return None
        jit = numba.njit(cache=True, nogil=True)
        _COMPILED.update({f.__name__: jit(f) for f in (knuth_ticks, add_rows, add_packets,
                                                       add_events)})
    _SELECTED["functions"] = _COMPILED
    return _COMPILED


def compiled() -> dict | None:
    """The kernels in use (see :func:`select`, which the engine calls when it is built)."""
    if not _SELECTED:
        return select()
    return _SELECTED["functions"]


def warm_up() -> None:
    """Select the path and compile or load every kernel now (a build step), not in a tick."""
    functions = select()
    if functions is None:
        return
    index, value = np.zeros(2, np.int64), np.zeros(2)
    functions["knuth_ticks"](np.zeros(4, np.uint64), np.zeros(2, np.uint64), 2,
                             np.zeros((1, 2), np.int64))
    functions["add_rows"](np.zeros(4), 0, index, index, value, index[:1])
    functions["add_packets"](np.zeros(4), 0, index, index, value, index[:1], index[:1])
    functions["add_events"](np.zeros(4), 0, index, value)

