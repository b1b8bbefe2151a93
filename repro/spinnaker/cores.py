"""How sPyNNaker 7.4.1 slices a neuron population onto cores.

Only the slicing matters to the emulator: the on-chip random streams (the stochastic
threshold of IF_cond_exp_stoc, the RecurrentRule's generator) are one per core, each
starting from the binary's fixed seeds, so the slicing decides which neuron gets which draw.

sPyNNaker stores ``set_number_of_neurons_per_core(CellType, n)`` per cell type
(``AbstractPyNNModel._max_atoms_per_core``) and a population made afterwards takes it
(or its own ``neurons_per_core`` extra); ``PopulationVertex.get_max_atoms_per_core`` caps
it at the synapse dynamics' ``absolute_max_atoms_per_core`` (``POP_TABLE_MAX_ROW_LENGTH``
= 256), which is also the default. Both splitters (``SplitterPopulationVertexFixed`` and
``...NeuronsSynapses``) use pacman's ``get_single_dimension_slices``: consecutive slices
of exactly that many neurons, the last one holding the rest.
"""

from __future__ import annotations

#: ``POP_TABLE_MAX_ROW_LENGTH``: the cap, and the default, of neurons per core.
MAX_NEURONS_PER_CORE = 256


def neurons_per_core(requested: int | None) -> int:
    """Neurons per core sPyNNaker uses for a population given the script's setting.

    Parameters
    ----------
    requested : int or None
        What the script set (None: nothing, or ``None``, meaning no limit of its own).

    Returns
    -------
    int
        ``min(requested, 256)``, or 256.

    Raises
    ------
    ValueError
        If ``requested`` is not positive.
    """
    if requested is None:
        return MAX_NEURONS_PER_CORE
    if int(requested) < 1:
        raise ValueError(f"neurons per core must be positive, not {requested}")
    return min(int(requested), MAX_NEURONS_PER_CORE)


def core_slices(size: int, per_core: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of each core's neurons, as ``get_single_dimension_slices`` cuts them.

    >>> core_slices(300, 100)
    [(0, 100), (100, 200), (200, 300)]
    >>> core_slices(300, 256)
    [(0, 256), (256, 300)]
    """
    return [(start, min(start + per_core, size)) for start in range(0, max(size, 1), per_core)]
