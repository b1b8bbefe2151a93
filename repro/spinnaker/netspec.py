"""The network the emulator simulates, in plain arrays: populations, projections, recording.

The PyNN backend fills these in from the objects a script creates; the engine reads only
them, so the numerics can be tested without PyNN.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from repro.spinnaker.cores import MAX_NEURONS_PER_CORE
from repro.spinnaker.current_sources import CurrentSourceSpec
from repro.spinnaker.neuromodulation import DopamineInput
from repro.spinnaker.shifts import (
    DEFAULT_RING_BUFFER_SIGMA,
    DEFAULT_SPIKES_PER_SECOND,
    ProjectionEstimate,
)
from repro.spinnaker.stdp import StdpRule


@dataclass
class NeuronPopulation:
    """A population of neurons of one of the cell types in :data:`repro.spinnaker.neurons.MODELS`.

    Attributes
    ----------
    params : dict
        PyNN parameter name to per-neuron float array.
    v_init : numpy.ndarray
        Initial membrane potential (mV).
    initial : dict
        Other initial values per neuron (``u`` of the Izhikevich models).
    current_sources : list of CurrentSourceSpec
        Current sources injected into neurons of this population.
    spikes_per_second, ring_buffer_sigma : float
        sPyNNaker's planning parameters for the ring-buffer shifts.
    max_expected_summed_weight : tuple of float or None
        User override of the summed weight per synapse type (nA or uS).
    neurons_per_core : int
        Size of the slices sPyNNaker puts on one core each (:mod:`repro.spinnaker.cores`);
        decides the per-core random streams.
    """

    label: str
    size: int
    model: str
    params: dict[str, np.ndarray]
    v_init: np.ndarray
    spikes_per_second: float = DEFAULT_SPIKES_PER_SECOND
    ring_buffer_sigma: float = DEFAULT_RING_BUFFER_SIGMA
    max_expected_summed_weight: tuple[float, float] | None = None
    neurons_per_core: int = MAX_NEURONS_PER_CORE
    initial: dict[str, np.ndarray] = field(default_factory=dict)
    current_sources: list[CurrentSourceSpec] = field(default_factory=list)


@dataclass
class PoissonPopulation:
    """A SpikeSourcePoisson population (rates in Hz, times in ms)."""

    label: str
    size: int
    rate: np.ndarray
    start: np.ndarray
    duration: np.ndarray
    model: str = "SpikeSourcePoisson"


@dataclass
class ArrayPopulation:
    """A SpikeSourceArray population."""

    label: str
    size: int
    spike_times: list[np.ndarray]
    model: str = "SpikeSourceArray"


Population = NeuronPopulation | PoissonPopulation | ArrayPopulation


@dataclass
class ProjectionSpec:
    """One projection with its actual connections.

    Attributes
    ----------
    pre, post : int
        Indices of the pre- and post-population in the network's population list.
    pre_index, post_index : numpy.ndarray
        Neuron indices within those populations (views already resolved).
    weight, delay : numpy.ndarray
        Weights (nA or uS, PyNN sign convention) and delays (ms) per connection.
    synapse_type : int
        0 excitatory, 1 inhibitory.
    on_machine : bool
        Whether sPyNNaker would generate this projection with the synapse expander.
    estimate : ProjectionEstimate
        The connector's statistics sPyNNaker plans the ring-buffer shift with.
    connector : str
        Connector class name (for provenance).
    plasticity : StdpRule, DopamineInput or None
        The STDP rule of a plastic projection; a reward or punishment projection's
        dopamine input.
    origin : int
        Index of the script's projection this one comes from (-1 if none).
    connection_index : numpy.ndarray or None
        Positions of these connections in the script projection's connection arrays.
    """

    label: str
    pre: int
    post: int
    pre_index: np.ndarray
    post_index: np.ndarray
    weight: np.ndarray
    delay: np.ndarray
    synapse_type: int
    on_machine: bool
    estimate: ProjectionEstimate
    connector: str = ""
    plasticity: StdpRule | DopamineInput | None = None
    origin: int = -1
    connection_index: np.ndarray | None = None


@dataclass
class Network:
    """Everything the engine needs: populations, projections and what to record."""

    populations: list[Population] = field(default_factory=list)
    projections: list[ProjectionSpec] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
