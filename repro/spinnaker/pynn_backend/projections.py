"""Projection of the emulator backend: PyNN's connectors fill plain connection arrays.

Connections are produced by PyNN's own connector code (the same calls, in the same order,
as the NEST backend makes), except DistanceDependentProbabilityConnector, which sPyNNaker
7.4.1 draws on the host in its own way (:mod:`.distance_connector`), and kept as arrays of
pre index, post index, weight and delay.
"""

from __future__ import annotations

import numpy as np
from pyNN import common
from pyNN.connectors import DistanceDependentProbabilityConnector
from pyNN.space import Space

from repro.spinnaker.pynn_backend import distance_connector, simulator
from repro.spinnaker.pynn_backend.dynamics_merge import Dynamics, Merged, merge
from repro.spinnaker.pynn_backend.estimates import check_connector
from repro.spinnaker.pynn_backend.network import modulation, stdp_rule
from repro.spinnaker.pynn_backend.populations import Assembly
from repro.spinnaker.pynn_backend.standardmodels import (
    Neuromodulation,
    StaticSynapse,
    STDPMechanism,
    UnsupportedFeatureError,
    script_line,
)

RECEPTOR_TYPES = ("excitatory", "excitatory2", "inhibitory")
#: Receptors of ``extra_models.Neuromodulation`` (sPyNNaker's NEUROMODULATION_TARGETS).
NEUROMODULATION_RECEPTORS = ("reward", "punishment")


class Projection(common.Projection):
    __doc__ = common.Projection.__doc__
    _simulator = simulator
    _static_synapse_class = StaticSynapse

    def __init__(self, presynaptic_population, postsynaptic_population, connector,
                 synapse_type=None, source=None, receptor_type=None, space=None, label=None):
        simulator.state.require_unbuilt("creating a Projection")
        if synapse_type is not None and not isinstance(
                synapse_type, (StaticSynapse, STDPMechanism, Neuromodulation)):
            raise UnsupportedFeatureError(
                f"synapse type {type(synapse_type).__name__} is not supported by the SpiNNaker "
                "emulator (supported: StaticSynapse, STDPMechanism, Neuromodulation)")
        if source is not None:
            raise UnsupportedFeatureError(
                "Projection(source=...) is not supported by the SpiNNaker "
                "emulator")
        check_connector(connector)
        modulation = isinstance(synapse_type, Neuromodulation)
        if modulation != (receptor_type in NEUROMODULATION_RECEPTORS):
            raise ValueError(
                f"receptor_type {receptor_type!r} with {type(synapse_type).__name__}: "
                "sPyNNaker 7.4.1 takes receptor_type 'reward' or 'punishment' exactly for "
                "Neuromodulation synapses")
        # PyNN checks receptors against the cell type's; neuromodulation is not one of them.
        common.Projection.__init__(self, presynaptic_population, postsynaptic_population,
                                   connector, synapse_type, source,
                                   "excitatory" if modulation else receptor_type,
                                   space or Space(), label)
        if modulation:
            self.receptor_type = receptor_type
        elif self.receptor_type not in RECEPTOR_TYPES:
            raise UnsupportedFeatureError(
                f"receptor_type {self.receptor_type!r} is not supported by the SpiNNaker "
                f"emulator (supported: {', '.join(RECEPTOR_TYPES)})")
        self._merge_synapse_dynamics()
        self._chunks: dict[str, list[np.ndarray]] = {
            "presynaptic_index": [], "postsynaptic_index": [], "weight": [], "delay": []}
        #: What this projection did differently from sPyNNaker 7.4.1 (notes of the run).
        self.notes: list[str] = []
        if isinstance(connector, DistanceDependentProbabilityConnector):
            self.notes.extend(distance_connector.connect(connector, self))
        else:
            connector.connect(self)
        simulator.state.projections.append(self)

    def _merge_synapse_dynamics(self) -> None:
        """Merge this projection's synapse type into its post populations' (sPyNNaker
        7.4.1's rules, :mod:`.dynamics_merge`); a refused projection changes nothing."""
        new = Dynamics(rule=stdp_rule(self.synapse_type) or modulation(self.synapse_type),
                       projection=str(self.label), line=script_line())
        targets = self.post.populations if isinstance(self.post, Assembly) else [self.post]
        merged: dict[object, Merged] = {}
        for target in targets:
            population = getattr(target, "grandparent", target)
            merged[population] = merge(
                merged.get(population, simulator.state.synapse_dynamics.get(population,
                                                                            Merged())),
                new, str(population.label))
        simulator.state.synapse_dynamics.update(merged)

    def _convergent_connect(self, presynaptic_indices, postsynaptic_index,
                            location_selector=None, **connection_parameters):
        if location_selector is not None:
            raise UnsupportedFeatureError("multi-compartment connections are not supported by the "
                                     "SpiNNaker emulator")
        rule = set()
        if isinstance(self.synapse_type, (STDPMechanism, Neuromodulation)):
            rule = set(self.synapse_type.get_parameter_names())
        unknown = set(connection_parameters) - {"weight", "delay"} - rule
        if unknown:
            raise UnsupportedFeatureError(
                f"synapse parameters {sorted(unknown)} are not supported by "
                "the SpiNNaker emulator")
        pre = np.asarray(presynaptic_indices, dtype=np.int64).ravel()
        self._chunks["presynaptic_index"].append(pre)
        self._chunks["postsynaptic_index"].append(np.full(pre.size, int(postsynaptic_index),
                                                          dtype=np.int64))
        for name in ("weight", "delay"):
            value = np.asarray(connection_parameters[name], dtype=float)
            self._chunks[name].append(np.broadcast_to(value, pre.shape).copy())

    def connection_arrays(self) -> dict[str, np.ndarray]:
        """All connections: pre index, post index, weight, delay (indices in pre/post)."""
        for name, chunks in self._chunks.items():
            if len(chunks) != 1:
                dtype = np.int64 if name.endswith("index") else float
                self._chunks[name] = [np.concatenate(chunks) if chunks
                                      else np.zeros(0, dtype=dtype)]
        return {name: chunks[0] for name, chunks in self._chunks.items()}

    def __len__(self) -> int:
        return int(sum(c.size for c in self._chunks["weight"]))

    def set(self, **attributes):
        """Not supported: the emulator takes weights and delays as connected."""
        raise UnsupportedFeatureError("Projection.set() is not supported by the SpiNNaker emulator")

    def _current_arrays(self) -> dict[str, np.ndarray]:
        """Connection arrays; a plastic projection adds its rule parameters (one value per
        projection on SpiNNaker) and, after run(), its learned weights."""
        arrays = self.connection_arrays()
        if not isinstance(self.synapse_type, STDPMechanism):
            return arrays
        from repro.spinnaker.pynn_backend.network import learned_weights, rule_parameters

        size = arrays["weight"].size
        extra = {name: np.full(size, value)
                 for name, value in rule_parameters(self.synapse_type).items()}
        engine = simulator.state.engine
        if engine is not None:
            extra["weight"] = learned_weights(engine, self, arrays["weight"])
        return {**arrays, **extra}

    def _get_attributes_as_list(self, names):
        arrays = self._current_arrays()
        columns = [arrays[name if name in arrays else name.rstrip("s")] for name in names]
        return list(zip(*[c.tolist() for c in columns], strict=True))

    def _get_attributes_as_arrays(self, names, multiple_synapses="sum"):
        arrays = self._current_arrays()
        pre, post = arrays["presynaptic_index"], arrays["postsynaptic_index"]
        result = []
        for name in names:
            values = np.full((self.pre.size, self.post.size), np.nan)
            column = arrays[name if name in arrays else name.rstrip("s")]
            for i, j, value in zip(pre, post, column, strict=True):
                values[i, j] = value if np.isnan(values[i, j]) else \
                    self.MULTI_SYNAPSE_OPERATIONS[multiple_synapses](values[i, j], value)
            result.append(values)
        return result
