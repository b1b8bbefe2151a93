"""What sPyNNaker 7.4.1's connectors report about a projection before it is generated.

sPyNNaker chooses each post-population's ring-buffer shift from connector *estimates*
(maximum fan-in, weight mean/variance/maximum, delay variance), not from the generated
connections, and it generates "generatable" connectors on the machine with different
rounding. This module reproduces both decisions for the connectors the emulator supports.
"""

from __future__ import annotations

import numpy as np
from pyNN import connectors
from pyNN.random import RandomDistribution

from repro.spinnaker import distributions as dist
from repro.spinnaker.pynn_backend.standardmodels import UnsupportedFeatureError
from repro.spinnaker.shifts import ProjectionEstimate

#: Connectors the synapse expander can generate on the machine.
MACHINE_CONNECTORS = (connectors.AllToAllConnector, connectors.OneToOneConnector,
                      connectors.FixedProbabilityConnector, connectors.FixedNumberPreConnector)
#: Connectors sPyNNaker generates on the host (from a list, or drawn there).
HOST_CONNECTORS = (connectors.FromListConnector, connectors.DistanceDependentProbabilityConnector)
#: Random distributions the synapse expander draws on chip (``PARAM_TYPE_BY_NAME``).
MACHINE_DISTRIBUTIONS = ("uniform", "uniform_int", "normal", "normal_clipped",
                         "normal_clipped_to_boundary", "exponential", "exponential_clipped")


def check_connector(connector) -> None:
    """Refuse connectors the emulator has no sPyNNaker estimate for.

    Raises
    ------
    UnsupportedFeatureError
        Naming the connector class.
    """
    if not isinstance(connector, MACHINE_CONNECTORS + HOST_CONNECTORS):
        supported = ", ".join(c.__name__ for c in MACHINE_CONNECTORS + HOST_CONNECTORS)
        raise UnsupportedFeatureError(f"{type(connector).__name__} is not supported by the "
                                 f"SpiNNaker emulator (supported: {supported})")


def synapse_parameter(projection, name: str):
    """The weight/delay as the script gave it: a number, a RandomDistribution or an array."""
    value = projection.synapse_type.parameter_space[name].base_value
    if isinstance(value, (RandomDistribution, int, float, np.integer, np.floating)):
        return value
    if callable(value) or isinstance(value, str):
        raise UnsupportedFeatureError(f"distance-dependent {name}s are not supported by the "
                                 "SpiNNaker emulator")
    return np.asarray(value, dtype=float)


def is_generatable(value) -> bool:
    """Whether the synapse expander can produce ``value`` on the machine."""
    if isinstance(value, RandomDistribution):
        return value.name in MACHINE_DISTRIBUTIONS
    return np.isscalar(value)


def _random_stats(value: RandomDistribution) -> dist.DistributionStats:
    return dist.distribution_stats(value.name, dict(value.parameters))


def _weight_mean_variance(value) -> tuple[float, float]:
    if isinstance(value, RandomDistribution):
        stats = _random_stats(value)
        return abs(stats.mean), stats.variance
    return abs(float(value)), 0.0


def _weight_maximum(value, n_items: int) -> float:
    """sPyNNaker's ``_get_weight_maximum`` for a number or a RandomDistribution."""
    if not isinstance(value, RandomDistribution):
        return abs(float(value))
    stats = _random_stats(value)
    if stats.mean < 0:
        low = dist.minimum_probable_value(stats, n_items)
        return abs(low if stats.low is None else max(low, stats.low))
    high = dist.maximum_probable_value(stats, n_items)
    return abs(high if stats.high is None else min(high, stats.high))


def _delay_variance(value) -> float:
    if isinstance(value, RandomDistribution):
        return _random_stats(value).variance
    return 0.0


def _fan_in_and_items(connector, n_pre: int, n_post: int) -> tuple[int, int]:
    """(maximum connections to one post-neuron, connection count used for weight maxima)."""
    if isinstance(connector, connectors.OneToOneConnector):
        return 1, max(n_pre, n_post)
    if isinstance(connector, connectors.AllToAllConnector):
        return n_pre, n_pre * n_post
    if isinstance(connector, connectors.FixedProbabilityConnector):
        total = n_pre * n_post
        fan_in = dist.probable_maximum_selected(total, n_pre, connector.p_connect,
                                                chance=1.0 / 10000.0)
        return fan_in, dist.probable_maximum_selected(total, total, connector.p_connect)
    if isinstance(connector, connectors.FixedNumberPreConnector):
        return int(connector.n), int(connector.n) * n_post
    if isinstance(connector, connectors.DistanceDependentProbabilityConnector):
        # 7.4.1 passes n_post (not n_pre) as the trials of the fan-in estimate.
        total, top = n_pre * n_post, connector.max_probability
        return (dist.probable_maximum_selected(total, n_post, top),
                dist.probable_maximum_selected(total, total, top))
    raise UnsupportedFeatureError(f"{type(connector).__name__} is not supported by the emulator")


def estimate(projection, synapse_type: int, arrays: dict[str, np.ndarray]
             ) -> tuple[bool, ProjectionEstimate]:
    """Generation path and shift-planning statistics of one projection.

    Parameters
    ----------
    projection : Projection
        The backend projection (its connector and synapse type are read).
    synapse_type : int
        0 excitatory, 1 inhibitory.
    arrays : dict
        The projection's connection arrays (used by list connectors, as sPyNNaker does).

    Returns
    -------
    tuple
        ``(on_machine, ProjectionEstimate)``.

    Raises
    ------
    UnsupportedFeatureError
        For array weights with a generatable connector (sPyNNaker requires a list
        connector then) and for unsupported connectors or distributions.
    """
    connector = projection._connector
    weight = synapse_parameter(projection, "weight")
    delay = synapse_parameter(projection, "delay")
    if isinstance(connector, connectors.FromListConnector):
        post = arrays["postsynaptic_index"]
        fan_in = int(np.bincount(post).max()) if post.size else 0
        columns = connector.column_names
        magnitude = np.abs(arrays["weight"])
        if "weight" in columns and magnitude.size:
            w_mean, w_var, w_max = (float(magnitude.mean()), float(magnitude.var()),
                                    float(magnitude.max()))
        else:
            w_mean, w_var = _weight_mean_variance(weight)
            w_max = _weight_maximum(weight, max(1, post.size))
        d_var = (float(np.var(arrays["delay"])) if "delay" in columns and arrays["delay"].size
                 else _delay_variance(delay))
        return False, ProjectionEstimate(synapse_type, fan_in, w_mean, w_var, w_max, d_var)
    for name, value in (("weight", weight), ("delay", delay)):
        if isinstance(value, np.ndarray):
            raise UnsupportedFeatureError(
                f"array {name}s with {type(connector).__name__} are not supported (sPyNNaker "
                "needs a FromListConnector for per-connection values)")
    fan_in, n_items = _fan_in_and_items(connector, projection.pre.size, projection.post.size)
    w_mean, w_var = _weight_mean_variance(weight)
    on_machine = (isinstance(connector, MACHINE_CONNECTORS) and is_generatable(weight)
                  and is_generatable(delay))
    return on_machine, ProjectionEstimate(
        synapse_type, int(fan_in), w_mean, w_var, _weight_maximum(weight, max(1, n_items)),
        _delay_variance(delay))


def seeded_random_sources(projection) -> list[str]:
    """Where a projection uses a seeded RNG, which sPyNNaker 7.4.1 refuses by default."""
    found = []
    rng = getattr(projection._connector, "rng", None)
    if rng is not None and getattr(rng, "seed", None) is not None and isinstance(
            projection._connector, MACHINE_CONNECTORS):
        found.append(f"{type(projection._connector).__name__}(rng=...)")
    for name in ("weight", "delay"):
        value = projection.synapse_type.parameter_space[name].base_value
        if isinstance(value, RandomDistribution) and getattr(value.rng, "seed", None) is not None:
            found.append(f"RandomDistribution for {name}")
    return found
