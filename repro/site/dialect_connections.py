"""The dialect's connection side: projections, weights, delays and connectors.

Part of :class:`repro.site.dialect.ScriptDialect` (a mixin): sPyNNaker-only projection
arguments, inhibitory weight signs, delays rounded to the time step, NEST's max_delay, the
one-neuron OneToOneConnector failure of PyNN 0.13 with numpy 2, and sPyNNaker's
AllButMeConnector. Site-side: standard library, numpy and pyNN only.
"""

from __future__ import annotations

import types
from typing import Any

import numpy as np

from repro.site.portability import NoteBook

#: ``Projection()`` keywords of sPyNNaker that have no meaning elsewhere.
PROJECTION_EXTRAS = ("download_synapses", "partition_id")


class MaxDelayTooSmall(RuntimeError):  # noqa: N818 - a signal to restart, not a failure
    """NEST's max_delay is fixed once connections exist; the script must start again."""

    def __init__(self, needed_ms: float) -> None:
        self.needed_ms = needed_ms
        super().__init__(f"the script needs max_delay >= {needed_ms} ms")


def constant_value(value: Any) -> float | None:
    """The value of a homogeneous, non-random LazyArray (or plain number), else None."""
    base = getattr(value, "base_value", value)
    if getattr(value, "operations", None):
        return None
    if isinstance(base, int | float | np.integer | np.floating):
        return float(base)
    return None


def parameter_value(model: Any, name: str) -> float:
    """A homogeneous parameter of a PyNN model (a timing or weight dependence)."""
    return float(model.parameter_space[name].base_value)


def parameter_names(model: Any) -> set[str]:
    """Parameter names of a model instance (its ParameterSpace cannot be iterated)."""
    space = getattr(model, "parameter_space", None)
    return set(space.keys()) if space is not None else set()


def _may_be_positive(value: Any) -> bool:
    """False only when a weight specification is known to draw no positive value."""
    high = _upper_bound(value)
    return high is None or high > 0


def _upper_bound(value: Any) -> float | None:
    """Largest value a delay specification can take, where it can be known in advance."""
    constant = constant_value(value)
    if constant is not None:
        return constant
    base = getattr(value, "base_value", value)
    if hasattr(base, "parameters") and hasattr(base, "name"):  # a RandomDistribution
        high = base.parameters.get("high")
        return float(high) if high is not None and np.isfinite(high) else None
    if isinstance(base, np.ndarray) and base.size:
        return float(np.nanmax(base))
    return None



class ConnectionDialect:
    """Adaptations of projections and connectors (see the module docstring)."""

    backend: types.ModuleType
    book: NoteBook
    run_seed: int
    on_nest: bool
    on_emulator: bool
    native: bool
    delays_fixed: bool
    projections_made: list[Any]
    _is_dopamine: Any  # NeuromodulationDialect: synapse type -> bool
    _dopamine_projection: Any  # NeuromodulationDialect: wires a reward projection
    _modulated_synapse: Any  # NeuromodulationDialect: STDP -> the NESTML synapse or itself
    _note_modulated: Any  # NeuromodulationDialect: after a projection is built

    def _projection_class(self) -> type:
        dialect = self
        base = self.backend.Projection

        class Projection(base):  # type: ignore[misc, valid-type]
            def __init__(self, presynaptic: Any, postsynaptic: Any, connector: Any,
                         synapse_type: Any = None, *args: Any, **kwargs: Any) -> None:
                if callable(getattr(connector, "as_list", None)):
                    connector = connector.as_list(presynaptic.size, postsynaptic.size)
                for name in PROJECTION_EXTRAS:
                    if name in kwargs:
                        value = kwargs.pop(name)
                        dialect.book.add(f"Projection({name}={value!r})", "ignored",
                                         "sPyNNaker-specific", numerical_effect=False)
                receptor = kwargs.get("receptor_type", args[1] if len(args) > 1 else None)
                if dialect.on_nest and dialect._is_dopamine(synapse_type):
                    dialect._dopamine_projection(self, presynaptic, postsynaptic, connector,
                                                 synapse_type, receptor)
                    return
                if not dialect.native:
                    synapse_type = synapse_type or dialect.backend.StaticSynapse()
                    dialect._weight_signs(synapse_type, connector, postsynaptic, receptor)
                if dialect.on_nest:
                    dialect._prepare_delays(synapse_type, connector)
                    dialect._prepare_nest_rule(synapse_type, postsynaptic, receptor)
                    synapse_type = dialect._modulated_synapse(synapse_type, presynaptic,
                                                              postsynaptic, receptor)
                super().__init__(presynaptic, postsynaptic, connector, synapse_type,
                                 *args, **kwargs)
                if dialect.on_nest:
                    dialect._note_modulated(self)
                dialect.projections_made.append(self)

        if self.on_nest:
            Projection = _unscaled_nestml_weights(Projection)  # noqa: N806
        Projection.__name__ = Projection.__qualname__ = "Projection"
        return Projection

    def _weight_signs(self, synapse_type: Any, connector: Any, post: Any,
                      receptor: Any) -> None:
        """sPyNNaker takes every weight as a magnitude; PyNN checks the signs.

        PyNN requires negative inhibitory weights for current-based cells and positive
        weights for conductance-based cells and excitatory receptors; sPyNNaker accepts
        weights of one sign in a projection and uses their magnitudes
        (``abstract_connector.py``), so the weights are given the sign PyNN wants.
        """
        celltype = getattr(post, "celltype", None)
        if celltype is None:
            return
        conductance = getattr(celltype, "conductance_based", True)
        if receptor == "inhibitory" and not conductance:
            sign = -1.0
        elif conductance or receptor == "excitatory":
            sign = 1.0
        else:
            return
        space = getattr(synapse_type, "parameter_space", None)
        flipped = False
        if space is not None and "weight" in parameter_names(synapse_type):
            weight = space["weight"]
            constant = constant_value(weight)
            if constant is not None and constant * sign < 0:
                space.update(weight=-constant)
                if hasattr(synapse_type, "timing_dependence"):
                    # an STDPMechanism builds its parameter space anew on each access
                    synapse_type.weight = -constant
                flipped = True
            elif sign < 0 and constant is None and hasattr(weight, "apply") and not getattr(
                    weight, "_repro_signed", False) and _may_be_positive(weight):
                weight.apply(lambda w: -np.abs(np.asarray(w)))
                weight._repro_signed = True
                flipped = True
        conn_list = getattr(connector, "conn_list", None)
        columns = list(getattr(connector, "column_names", None) or ["weight", "delay"])
        if conn_list is not None and np.size(conn_list) and "weight" in columns:
            array = np.asarray(conn_list, dtype=float)
            column = 2 + columns.index("weight")
            if array.ndim == 2 and array.shape[1] > column and (
                    array[:, column] * sign < 0).any():
                array[:, column] = sign * np.abs(array[:, column])
                connector.conn_list = array
                flipped = True
        if flipped:
            wanted = "negative" if sign < 0 else "positive"
            self.book.add(f"{'positive' if sign < 0 else 'negative'} {receptor} weights",
                          "translated",
                          f"sPyNNaker uses the magnitude of weights; PyNN's "
                          f"{'conductance' if conductance else 'current'}-based cells need "
                          f"them {wanted} on this receptor, so they were negated",
                          numerical_effect=False)

    def _prepare_delays(self, synapse_type: Any, connector: Any) -> None:
        """Round delays to the time step explicitly, and make max_delay large enough."""
        dt = float(self.backend.get_time_step())
        space = getattr(synapse_type, "parameter_space", None)
        if space is None or "delay" not in parameter_names(synapse_type):
            return
        delay = space["delay"]
        highest = _upper_bound(delay)
        constant = constant_value(delay)
        if constant is not None:
            rounded = max(float(np.rint(constant / dt)), 1.0) * dt
            if abs(rounded - constant) > 1e-9:
                space.update(delay=rounded)
                self.book.add(f"delay={constant:g} ms", "adapted",
                              f"rounded to the time step: {rounded:g} ms (sPyNNaker rounds "
                              "to whole steps the same way)", numerical_effect=False)
        elif not getattr(delay, "_repro_rounded", False) and hasattr(delay, "apply"):
            delay.apply(lambda d: np.maximum(np.rint(np.asarray(d) / dt), 1.0) * dt)
            delay._repro_rounded = True
            self.book.add("delays drawn from a distribution", "adapted",
                          f"each drawn delay rounded to whole steps of {dt:g} ms (at least one "
                          "step), as sPyNNaker does on the host", numerical_effect=False)
        conn_list = getattr(connector, "conn_list", None)
        if conn_list is not None and np.size(conn_list):
            columns = list(getattr(connector, "column_names", None) or ["weight", "delay"])
            if "delay" in columns:
                column = 2 + columns.index("delay")
                array = np.asarray(conn_list, dtype=float)
                if array.ndim == 2 and array.shape[1] > column:
                    rounded = np.maximum(np.rint(array[:, column] / dt), 1.0) * dt
                    if not np.allclose(rounded, array[:, column]):
                        array[:, column] = rounded
                        connector.conn_list = array
                        self.book.add("FromListConnector delays", "adapted",
                                      f"rounded to whole steps of {dt:g} ms",
                                      numerical_effect=False)
                    highest = max(highest or 0.0, float(rounded.max()))
        if highest is not None:
            self._ensure_max_delay(highest)

    def _ensure_max_delay(self, needed_ms: float) -> None:
        """With min_delay="auto" NEST grows max_delay by itself; otherwise it must be set."""
        current = float(self.backend.get_max_delay())
        if not self.delays_fixed or needed_ms <= current + 1e-9:
            return
        import nest

        try:
            nest.SetKernelStatus({"min_delay": float(self.backend.get_min_delay()),
                                  "max_delay": float(needed_ms)})
        except Exception as exc:  # noqa: BLE001 - NEST: "Connections already exist"
            raise MaxDelayTooSmall(needed_ms) from exc
        self.book.add("max_delay", "adapted",
                      f"NEST fixes max_delay before the first connection; set to "
                      f"{needed_ms:g} ms, the largest delay the script uses (sPyNNaker has "
                      "no global max_delay)", numerical_effect=False)

    def _one_to_one_class(self) -> type:
        """OneToOneConnector without PyNN 0.13's numpy 2 failure on one-neuron populations."""
        from pyNN import connectors

        dialect = self

        class OneToOneConnector(connectors.OneToOneConnector):
            def connect(self, projection: Any) -> Any:
                if projection.pre.size == 1 and projection.post.size == 1:
                    dialect.book.add("OneToOneConnector between one-neuron populations",
                                     "adapted", "connected as AllToAllConnector (the same "
                                     "single connection): PyNN 0.13 with numpy 2 fails "
                                     "there", numerical_effect=False)
                    return connectors.AllToAllConnector(
                        safe=self.safe, callback=self.callback).connect(projection)
                return super().connect(projection)

        return OneToOneConnector


def all_but_me_connector(shim: types.ModuleType) -> type:
    """sPyNNaker's ``AllButMeConnector`` as a PyNN connector any backend can use."""
    from pyNN import connectors

    class AllButMeConnector(connectors.Connector):
        """All pairs (i, j), i != j, within groups of ``n_neurons_per_group``."""

        def __init__(self, n_neurons_per_group: int | None = None, weights: Any = None,
                     safe: bool = True, verbose: bool = False, callback: Any = None) -> None:
            super().__init__(safe=safe, callback=callback)
            self.n_neurons_per_group = n_neurons_per_group
            self.weights = None if weights is None else np.asarray(weights, dtype=float)

        def as_list(self, pre_size: int, post_size: int) -> Any:
            """The same connections as a FromListConnector (every backend has one)."""
            size = min(pre_size, post_size)
            group = self.n_neurons_per_group or size
            pairs = [(start + i, start + j) for start in range(0, size - group + 1, group)
                     for i in range(group) for j in range(group) if i != j]
            if self.weights is not None:
                reps = len(pairs) // max(len(self.weights), 1)
                weights = np.tile(self.weights, reps)
                rows = [(i, j, w) for (i, j), w in zip(pairs, weights, strict=True)]
                return shim.FromListConnector(rows, column_names=["weight"], safe=self.safe)
            return shim.FromListConnector(pairs, safe=self.safe)

        def connect(self, projection: Any) -> None:
            self.as_list(projection.pre.size, projection.post.size).connect(projection)

    return AllButMeConnector


def _unscaled_nestml_weights(base: type) -> type:
    """pyNN.nest's Projection reading weights of NESTML cells in their own units (nA, uS).

    pyNN.nest multiplies weights by 1000 and the cell's ``receptor_scale`` (1e-3 for the
    shipped NESTML cells, which take sPyNNaker's units) when it connects, but divides every
    weight it reads back by 1000 only: ``Projection.get("weight")`` would answer
    ``receptor_scale`` times the weight (1/1000 of it), so it is divided by that scale.
    """

    def factor(projection: Any) -> float:
        scale = getattr(getattr(projection.post, "celltype", None), "receptor_scale", None)
        return 1.0 if scale is None else 1.0 / float(scale)

    class Projection(base):  # type: ignore[misc, valid-type]
        def _get_attributes_as_list(self, names: Any) -> Any:
            values = super()._get_attributes_as_list(names)
            scale = factor(self)
            if scale == 1.0 or "weight" not in names:
                return values
            column = list(names).index("weight")
            return [tuple(v * scale if i == column else v for i, v in enumerate(row))
                    for row in values]

        def _get_attributes_as_arrays(self, names: Any, *args: Any, **kwargs: Any) -> Any:
            values = super()._get_attributes_as_arrays(names, *args, **kwargs)
            scale = factor(self)
            return [array * scale if name in ("weight", "weights") and scale != 1.0 else array
                    for name, array in zip(names, values, strict=True)]

    return Projection
