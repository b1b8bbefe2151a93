"""Fast network build on PyNN's NEST backend: PyNN draws the connections, NEST gets one array call.

PyNN's connectors walk the post-synaptic cells column by column: they draw the column of the
connection map and the weights and delays of its connections from the script's ``NumpyRNG``
and then call ``Projection._convergent_connect`` once per post-synaptic cell, which costs a
``nest.Connect`` (plus NodeCollection slicing and parameter packing) per cell. For a
10,000-neuron network that is tens of thousands of NEST calls.

:func:`install` replaces the backend's ``Projection`` with a subclass that lets PyNN's own
connector code run unchanged (so every random draw is the one PyNN makes, in the same order)
but collects the columns instead of connecting them, and then creates all connections of the
projection with one ``nest.Connect(sources, targets, "one_to_one", syn_spec)`` on numpy arrays
(NEST's ``connect_arrays``), in the order PyNN would have created them.

Projections this cannot reproduce exactly (plastic or other synapses with parameters beyond
weight and delay, custom weight variables, multi-compartment locations, Tsodyks-Markram
``tau_psc`` copying, non-standard receptor types) keep PyNN's own path.
Set ``REPRO_FAST_CONNECT=0`` to use PyNN's path everywhere.
"""

from __future__ import annotations

import copy
import os
import types
from typing import Any

import numpy as np

#: Uniforms drawn per call when the connection map is drawn in blocks of columns.
_BLOCK_DRAWS = 1 << 22
#: Parameters PyNN's NEST backend drops before connecting (see its ``_convergent_connect``).
_DROPPED = ("tau_minus", "dendritic_delay_fraction", "w_min_always_zero_in_NEST")


def enabled() -> bool:
    """False when ``REPRO_FAST_CONNECT`` is ``0``/``false``/``no``."""
    return os.environ.get("REPRO_FAST_CONNECT", "1").strip().lower() not in ("0", "false", "no")


class _Columns:
    """Connections collected column by column, connected in one NEST call."""

    def __init__(self) -> None:
        self.sources: list[np.ndarray] = []
        self.targets: list[np.ndarray] = []
        self.weights: list[np.ndarray] = []
        self.delays: list[np.ndarray] = []
        self.count = 0

    def add(self, pre_ids: np.ndarray, post_id: int, weight: Any, delay: Any) -> None:
        n = len(pre_ids)
        self.sources.append(pre_ids)
        self.targets.append(np.full(n, post_id, dtype=np.int64))
        self.weights.append(np.broadcast_to(np.asarray(weight, dtype=float), (n,)))
        self.delays.append(np.broadcast_to(np.asarray(delay, dtype=float), (n,)))
        self.count += n

    def flush(self, projection: Any) -> None:
        """Create the collected connections (in collection order) and reset."""
        if not self.count:
            return
        import nest

        sources = np.concatenate(self.sources)
        syn_spec: dict[str, Any] = {"synapse_model": projection.nest_synapse_model,
                                    "synapse_label": projection.nest_synapse_label,
                                    "weight": np.concatenate(self.weights),
                                    "delay": np.concatenate(self.delays)}
        if not projection.post.celltype.standard_receptor_type:
            syn_spec["receptor_type"] = projection.post.celltype.get_receptor_type(
                projection.receptor_type)
        nest.Connect(sources, np.concatenate(self.targets), "one_to_one", syn_spec)
        projection._sources.update(np.unique(sources).tolist())
        projection.repro_array_connections = getattr(
            projection, "repro_array_connections", 0) + self.count
        projection._connections = None
        projection._simulator.state.stale_connection_cache = True
        # ``_common_synapse_property_names`` stays unset: PyNN finds it on first use
        # (``Projection.set``) through ``nest.GetConnections``, which builds NEST's whole
        # connection infrastructure; doing that after every projection cost ~15 % of the
        # 5,000-neuron build, and connections created after it are mis-routed by NEST 3.10 on
        # several MPI processes (see :mod:`repro.site.nest_mpi_guard`).
        self.__init__()  # type: ignore[misc]


def _supported(projection: Any) -> bool:
    """Whether the array path creates exactly what PyNN's per-cell path would."""
    synapse = projection.synapse_type
    names = set(synapse.native_parameters.keys()) - set(_DROPPED)
    if names != {"weight", "delay"}:
        return False
    if getattr(synapse, "weight_variable", None) not in (None, "weight"):
        return False
    if getattr(synapse, "delay_variable", None) not in (None, "delay"):
        return False
    if type(synapse).__name__ == "TsodyksMarkramSynapse":
        return False
    celltype = getattr(projection.post, "celltype", None)
    return celltype is not None and not hasattr(celltype, "receptor_scale")


def node_ids(population: Any) -> np.ndarray:
    """NEST node IDs of a PyNN population or view, indexed like the population."""
    return np.asarray(population.all_cells, dtype=np.int64)


def _random_base(value: Any) -> bool:
    from pyNN.random import RandomDistribution

    return isinstance(value, RandomDistribution)


def fixed_probability_columns(connector: Any, projection: Any) -> Any:
    """PyNN's ``FixedProbabilityConnector`` loop without its per-element lazy-array machinery.

    Yields ``(post_index, pre_indices, {native name: values})`` for every local
    post-synaptic cell with connections, drawing from the connector's and the parameters'
    RNGs in exactly the order and amounts of ``MapConnector._standard_connect``: per column,
    ``pre.size`` uniforms for the connection map, then each random parameter for the
    column's connections. Returns None (yields nothing) when the connector or its parameters
    need PyNN's own path: check :func:`fixed_probability_supported` first.
    """
    from pyNN.random import RandomDistribution

    n_pre, n_post = projection.pre.size, projection.post.size
    # PyNN's map is ``LazyArray(uniform) < p``, and a lazy-array operation deep-copies its
    # operand: the map draws from a copy of the connector's RNG (the RNG itself never
    # advances), as the parameters draw from the copies ``native_parameters`` makes.
    uniform = RandomDistribution("uniform", (0, 1), rng=copy.deepcopy(connector.rng))
    space = connector._parameters_from_synapse_type(projection)
    fixed = {name: m.evaluate(simplify=True) for name, m in space.items() if m.is_homogeneous}
    random = [(name, m) for name, m in space.items() if not m.is_homogeneous]
    p_connect = connector.p_connect
    no_self = connector.allow_self_connections is False
    post_indices = projection.post.id_to_index(projection.post.all_cells)
    local = np.asarray(projection.post._mask_local, dtype=bool)
    local = np.broadcast_to(local, (n_post,)) if local.ndim == 0 else local
    every_column = bool(connector.rng.parallel_safe) or any(
        m.base_value.rng.parallel_safe for _, m in random)
    # The map's uniforms can be drawn at once when no parameter shares the map's RNG.
    batched = all(m.base_value.rng is not uniform.rng for _, m in random)
    columns = np.arange(n_post) if every_column else np.flatnonzero(local)
    per_block = max(1, _BLOCK_DRAWS // max(n_pre, 1)) if batched else 1
    block: np.ndarray | None = None
    for row, col in enumerate(columns):
        if not batched:
            draws = uniform.next(n_pre)
        else:
            if row % per_block == 0:
                rows = min(per_block, len(columns) - row)
                block = uniform.next(n_pre * rows).reshape(rows, n_pre)
            assert block is not None
            draws = block[row % per_block]
        connected = draws < p_connect
        if no_self:
            connected[col] = False
        pre = connected.nonzero()[0]
        if not pre.size:
            continue
        values = dict(fixed)
        for name, lazy in random:
            drawn = lazy.base_value.next(pre.size).reshape(pre.size)
            values[name] = lazy._apply_operations(drawn, (pre, col), simplify=False)
        if local[col]:
            yield int(post_indices[col]), pre, values


def fixed_probability_supported(connector: Any, projection: Any) -> bool:
    """Whether :func:`fixed_probability_columns` reproduces PyNN's loop for this projection."""
    from pyNN import connectors
    from pyNN.random import WrappedRNG

    kinds = [connectors.FixedProbabilityConnector]
    try:
        from pyNN.nest import connectors as nest_connectors
    except ImportError:  # not the NEST backend
        pass
    else:
        kinds.append(nest_connectors.FixedProbabilityConnector)
    if type(connector) not in kinds or connector.callback is not None:
        return False
    # NumpyRNG/GSLRNG only: a NativeRNG means NEST draws (PyNN's native path is kept).
    if connector.location_selector is not None or not isinstance(connector.rng, WrappedRNG):
        return False
    if connector.allow_self_connections not in (True, False):
        return False
    if connector.allow_self_connections is False and projection.pre != projection.post:
        return False
    space = projection.synapse_type.native_parameters
    for _name, lazy in space.items():
        if lazy.is_homogeneous:
            continue
        if not _random_base(lazy.base_value) or not isinstance(lazy.base_value.rng, WrappedRNG):
            return False
    return True


def one_to_one_columns(connector: Any, projection: Any) -> Any:
    """PyNN's ``OneToOneConnector`` loop for homogeneous parameters (no random draws).

    Yields ``(post_index, pre_indices, {native name: value})`` for every local cell, as
    ``MapConnector._standard_connect`` does with the map ``i == j``.
    """
    space = connector._parameters_from_synapse_type(projection)
    values = {name: m.evaluate(simplify=True) for name, m in space.items()}
    post_indices = projection.post.id_to_index(projection.post.all_cells)
    local = np.broadcast_to(np.asarray(projection.post._mask_local, dtype=bool),
                            (projection.post.size,))
    for col in np.flatnonzero(local):
        yield int(post_indices[col]), np.array([col]), values


def one_to_one_supported(connector: Any, projection: Any) -> bool:
    """Whether :func:`one_to_one_columns` reproduces PyNN's loop for this projection."""
    from pyNN.connectors import OneToOneConnector

    return (type(connector) is OneToOneConnector and connector.callback is None
            and connector.location_selector is None
            and projection.pre.size == projection.post.size
            and all(m.is_homogeneous
                    for _, m in projection.synapse_type.native_parameters.items()))


def _connect_fast(connector: Any, projection: Any) -> None:
    """``connector.connect(projection)``, with the column loops above where they apply."""
    if fixed_probability_supported(connector, projection):
        columns = fixed_probability_columns(connector, projection)
    elif one_to_one_supported(connector, projection):
        columns = one_to_one_columns(connector, projection)
    else:
        type(connector).connect(connector, projection)
        return
    checks = getattr(projection.synapse_type, "parameter_checks", {}) if connector.safe else {}
    translations = projection.synapse_type.translations
    for post_index, pre, values in columns:
        for name, check in checks.items():
            native = translations[name]["translated_name"]
            if native in values:
                check(values[native], projection)
        projection._convergent_connect(pre, post_index, location_selector=None, **values)


def make_projection_class(base: type) -> type:
    """A subclass of the NEST backend's ``Projection`` that connects through arrays."""

    class Projection(base):  # type: ignore[misc, valid-type]
        __doc__ = base.__doc__
        _repro_columns: _Columns | None = None

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self._repro_columns = _Columns() if enabled() else None
            self._repro_ids: tuple[np.ndarray, ...] | None = None
            connector = args[2] if len(args) > 2 else kwargs.get("connector")
            shadow = self._repro_columns is not None and "connect" not in vars(connector)
            if shadow:  # PyNN's Projection.__init__ ends with connector.connect(self)
                connector.connect = types.MethodType(_connect_fast, connector)
            try:
                super().__init__(*args, **kwargs)
                if self._repro_columns is not None:
                    self._repro_columns.flush(self)
            finally:
                self._repro_columns = None
                if shadow:
                    del connector.connect

        def _convergent_connect(self, presynaptic_indices: Any, postsynaptic_index: Any,
                                location_selector: Any = None, **connection_parameters: Any
                                ) -> None:
            columns = self._repro_columns
            if columns is not None and self._repro_ids is None:
                self._repro_ids = (node_ids(self.pre), node_ids(self.post)) if _supported(
                    self) else ()
            if columns is None or location_selector is not None or not self._repro_ids:
                if columns is not None:
                    columns.flush(self)  # keep PyNN's creation order
                return super()._convergent_connect(presynaptic_indices, postsynaptic_index,
                                                   location_selector=location_selector,
                                                   **connection_parameters)
            pre_ids, post_ids = self._repro_ids
            indices = np.asarray(presynaptic_indices, dtype=np.int64)
            order = indices.argsort(kind="stable")
            weight = connection_parameters["weight"]
            delay = connection_parameters["delay"]
            if isinstance(weight, np.ndarray):
                weight = weight[order]
            if isinstance(delay, np.ndarray):
                delay = delay[order]
            if self.receptor_type == "inhibitory" and self.post.conductance_based:
                weight = -1 * weight
            columns.add(pre_ids[indices[order]], int(post_ids[postsynaptic_index]), weight, delay)

    Projection.__name__ = Projection.__qualname__ = base.__name__
    Projection.__module__ = base.__module__
    return Projection


def install(sim: types.ModuleType) -> bool:
    """Give ``sim`` (``pyNN.nest``) the array-connecting ``Projection``; True when installed.

    Other backends are left alone. Installing twice is harmless.
    """
    if sim.__name__ != "pyNN.nest" or not enabled():
        return False
    base = sim.Projection
    if getattr(base, "_repro_columns", "absent") is None:
        return True
    sim.Projection = make_projection_class(base)
    return True
