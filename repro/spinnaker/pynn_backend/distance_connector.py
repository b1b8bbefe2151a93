"""DistanceDependentProbabilityConnector as sPyNNaker 7.4.1 builds it (on the host).

sPyNNaker 7.4.1 generates this connector on the host, not on the machine
(``AbstractGenerateConnectorOnHost``), so the emulator can draw the very connections
SpiNNaker would get:

* positions come from the populations' structures (``Population.positions``, transposed
  to ``(n, 3)``) and distances from the projection's ``Space`` (``Space.distances``:
  axes, scale factor, offset and periodic boundaries), reshaped to ``(n_pre, n_post)``;
* ``d_expression`` is evaluated with sPyNNaker's ``SafeEval`` environment
  (:data:`EXPRESSION_NAMES`, ``math``, ``numpy``, ``e``, ``pi``, Python's builtins) with ``d``
  the whole distance matrix; anything else the expression names fails there, as here;
* for each post core slice (the population's neurons per core), the connector's ``rng``
  draws ``n_pre * n_slice`` uniforms in one ``rng.next`` call, pre-major, and a pair is
  connected when its draw is below its probability; without self connections the draws
  at ``0, n_slice + 1, 2 (n_slice + 1), ...`` of each slice are set to infinity (the
  diagonal only when the slice starts at neuron 0: 7.4.1's own indexing, kept as is).

Differences (recorded as notes of the run): sPyNNaker draws at the first ``run()``, core by
core, while the emulator draws when the Projection is made, so an ``rng`` shared with other
draws gives other (equally distributed) connections; without an ``rng`` sPyNNaker takes an
unseeded ``NumpyRNG`` (other connections every run), the emulator one seeded from the run's
seed. Weights and delays are evaluated by PyNN, as for every other connector here.
"""

from __future__ import annotations

import math
import re

import numpy as np
from pyNN import connectors
from pyNN.connectors import Connector
from pyNN.random import NumpyRNG

from repro.spinnaker import cores
from repro.spinnaker.pynn_backend import simulator
from repro.spinnaker.pynn_backend.standardmodels import UnsupportedFeatureError, script_line

#: The numpy functions sPyNNaker's ``_d_expr_context`` (a ``SafeEval``) exposes by name.
EXPRESSION_NAMES = ("arccos", "arcsin", "arctan", "arctan2", "ceil", "cos", "cosh", "exp",
                    "fabs", "floor", "fmod", "hypot", "ldexp", "log", "log10", "modf", "power",
                    "sin", "sinh", "sqrt", "tan", "tanh", "maximum", "minimum")
#: sPyNNaker's test for per-axis distances (``AbstractConnector._expand_distances``).
EXPAND_DISTANCES = re.compile(r".*d\[\d*\].*")


def _environment() -> dict:
    """A fresh copy of the globals sPyNNaker evaluates ``d_expression`` in."""
    return {"math": math, "numpy": np, **{name: getattr(np, name) for name in EXPRESSION_NAMES},
            "e": np.e, "pi": np.pi}


class DistanceDependentProbabilityConnector(connectors.DistanceDependentProbabilityConnector):
    """sPyNNaker 7.4.1's signature: ``(d_expression, allow_self_connections=True,
    n_connections=None, rng=None, safe=True, verbose=False, callback=None)``.

    ``n_connections`` is refused, as sPyNNaker refuses it. The expression is checked only
    when a Projection uses the connector (sPyNNaker evaluates it there, not here).
    """

    def __init__(self, d_expression, allow_self_connections=True, n_connections=None,
                 rng=None, safe=True, verbose=False, callback=None, location_selector=None):
        if n_connections is not None:
            raise UnsupportedFeatureError(
                f"DistanceDependentProbabilityConnector(n_connections=...) (at {script_line()})"
                ": sPyNNaker 7.4.1 raises NotImplementedError for it")
        Connector.__init__(self, location_selector, safe, callback)
        self.d_expression = d_expression
        self.allow_self_connections = allow_self_connections
        self.verbose = verbose
        #: False: sPyNNaker's unseeded NumpyRNG (the emulator seeds one from the run's seed).
        self.rng_given = rng is not None
        self.rng = rng if rng is not None else NumpyRNG()


def _refuse(connector, where: str, why: str) -> UnsupportedFeatureError:
    return UnsupportedFeatureError(
        f"DistanceDependentProbabilityConnector({connector.d_expression!r}) (Projection at "
        f"{where}): {why}")


def probability_matrix(connector, projection, where: str) -> np.ndarray:
    """The ``(n_pre, n_post)`` connection probabilities sPyNNaker 7.4.1 computes.

    Raises
    ------
    UnsupportedFeatureError
        Where sPyNNaker fails: views or assemblies (their ``positions`` are not implemented),
        a callable or failing expression, a result that is not one value per pair,
        probabilities above 1 or NaN (its binomial estimates fail).
    """
    from repro.spinnaker.pynn_backend.populations import Population

    for side, cells in (("pre", projection.pre), ("post", projection.post)):
        if not isinstance(cells, Population):
            raise _refuse(connector, where, f"the {side}synaptic side is a "
                          f"{type(cells).__name__}; sPyNNaker 7.4.1 has no positions for "
                          "views or assemblies (NotImplementedError), only for Populations")
        if not cells.positions_given:
            raise _refuse(connector, where, f"{side}synaptic population {cells.label!r} has "
                          "no structure; sPyNNaker 7.4.1 raises ValueError (attempted to "
                          "retrieve positions for an unstructured population)")
    expression = connector.d_expression
    if not isinstance(expression, str):
        raise _refuse(connector, where, "sPyNNaker 7.4.1 takes only a string expression")
    n_pre, n_post = projection.pre.size, projection.post.size
    distances = projection.space.distances(projection.pre.positions.T,
                                           projection.post.positions.T,
                                           bool(EXPAND_DISTANCES.match(expression)))
    try:
        d = distances.reshape(n_pre, n_post) if distances.ndim == 1 else distances
        probabilities = np.asarray(eval(expression, _environment(), {"d": d}))  # noqa: S307
    except Exception as err:  # noqa: BLE001 - sPyNNaker fails with whatever eval raises
        raise _refuse(connector, where, f"sPyNNaker 7.4.1 fails evaluating it with d the "
                      f"({n_pre}, {n_post}) distance matrix ({type(err).__name__}: {err}); "
                      f"it knows only d, {', '.join(EXPRESSION_NAMES)}, math, numpy, e, pi "
                      "and Python builtins") from err
    if probabilities.shape != (n_pre, n_post):
        raise _refuse(connector, where, f"it gives shape {probabilities.shape}, not one value "
                      f"per pair ({n_pre}, {n_post}); sPyNNaker 7.4.1 indexes the result "
                      "by post-core columns and fails")
    top = np.amax(probabilities) if probabilities.size else 0.0
    if not top <= 1.0:
        raise _refuse(connector, where, f"its largest probability is {top}; sPyNNaker 7.4.1's "
                      "binomial estimate of the row lengths fails (ValueError) for it")
    return probabilities.astype(float)


def _run_rng() -> NumpyRNG:
    """The emulator's stand-in for sPyNNaker's unseeded ``NumpyRNG()``."""
    state = simulator.state
    sequence = np.random.SeedSequence([state.seed, len(state.projections)])
    return NumpyRNG(seed=int(sequence.generate_state(1)[0]))


def draw_connections(probabilities: np.ndarray, rng, per_core: int,
                     no_self: bool) -> np.ndarray:
    """Boolean ``(n_pre, n_post)`` connection matrix drawn as sPyNNaker 7.4.1 does.

    Parameters
    ----------
    probabilities : numpy.ndarray
        From :func:`probability_matrix`.
    rng : pyNN.random.AbstractRNG
        Drawn with ``rng.next(n_pre * n_slice)`` once per post core slice, in slice order.
    per_core : int
        Neurons per core of the post population.
    no_self : bool
        Self connections excluded (pre and post the same Population).
    """
    n_pre, n_post = probabilities.shape
    connected = np.zeros((n_pre, n_post), dtype=bool)
    for start, stop in cores.core_slices(n_post, per_core):
        n_slice = stop - start
        n_items = n_pre * n_slice
        if n_items == 0:
            continue
        items = np.array(rng.next(n_items), dtype=float).reshape(-1)
        if no_self:
            items[0:n_items:n_slice + 1] = np.inf
        present = items < probabilities[:, start:stop].reshape(-1)
        connected[:, start:stop] = present.reshape(n_pre, n_slice)
    return connected


def connect(connector, projection) -> list[str]:
    """Connect ``projection`` as sPyNNaker 7.4.1 would; returns the run notes it needs.

    Weights and delays are PyNN's (``MapConnector._standard_connect``), post by post.
    """
    where = script_line()
    probabilities = probability_matrix(connector, projection, where)
    notes = []
    rng = connector.rng
    if not getattr(connector, "rng_given", True):
        rng = _run_rng()
        notes.append(f"DistanceDependentProbabilityConnector without rng (Projection at "
                     f"{where}): sPyNNaker 7.4.1 draws from an unseeded NumpyRNG (other "
                     "connections every run); the emulator seeds it from the run's seed")
    elif any(getattr(p._connector, "rng", None) is rng for p in simulator.state.projections):
        notes.append(f"DistanceDependentProbabilityConnector (Projection at {where}) shares "
                     "its rng with an earlier projection: sPyNNaker 7.4.1 draws host "
                     "connections at the first run(), core by core, so it assigns the draws "
                     "in another order (same distribution, other connections)")
    no_self = not connector.allow_self_connections and projection.pre is projection.post
    per_core = cores.neurons_per_core(projection.post.neurons_per_core)
    if no_self and projection.post.size > per_core:
        notes.append(f"DistanceDependentProbabilityConnector(allow_self_connections=False) "
                     f"(Projection at {where}): beyond the first core ({per_core} neurons) "
                     "sPyNNaker 7.4.1 excludes other pairs than i -> i (its draws at "
                     "k (n_slice + 1)); the emulator does the same")
    connected = draw_connections(probabilities, rng, per_core, no_self)
    connector._standard_connect(projection, lambda mask=None: iter(connected.T))
    connector.max_probability = float(np.amax(probabilities)) if probabilities.size else 0.0
    return notes
