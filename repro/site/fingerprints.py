"""Connectivity fingerprints: sha256 of each projection's realised connections as the script asked.

Site-side (standard library, numpy and pyNN only). :func:`install` wraps the backend's
``Projection._convergent_connect`` and ``Population._set_initial_value_array`` so that every
connection list and every initial-value array is captured *as the script's connectors and
distributions produced it*: in PyNN units (the backend's unit translation is reversed) and
before any target quantisation (NEST rounds delays to the time step, SpiNNaker truncates them
and quantises weights later). The captured values are handed on to the backend unchanged, so
no random number is drawn twice and a run with the hook gives the spikes it gives without.

Per projection the document holds four hashes: ``topology`` (the sorted ``(pre, post)`` index
pairs), ``weight`` and ``delay`` (values in that order, rounded to ``1e-9`` in PyNN units so
that a unit round trip such as nA -> pA -> nA cannot change them) and, per population and
state variable, ``initial_values``. Two runs whose topology hashes match were built on the same
connectivity; weights, delays or initial values that differ are what is under test.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

FORMAT = "repro.connectivity/1"
#: Decimal places kept before hashing values in PyNN units (nA, ms, mV).
DECIMALS = 9
#: The hashed parts of a connectivity record.
PARTS = ("topology", "weight", "delay", "initial_values")


def digest(*arrays: np.ndarray) -> str:
    """sha256 (hex) of arrays in a canonical byte form (little-endian int64 / float64).

    Examples
    --------
    >>> digest(np.array([1, 2])) == digest(np.array([1, 2], dtype=np.int32))
    True
    """
    h = hashlib.sha256()
    for array in arrays:
        a = np.asarray(array)
        # integers as int64; floats rounded, + 0.0 so that -0.0 and 0.0 hash alike
        a = (a.astype("<i8") if a.dtype.kind in "iub"
             else np.round(a.astype("<f8"), DECIMALS) + 0.0)
        h.update(str(a.shape).encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _unit_reverse(synapse_type: Any, name: str, values: np.ndarray) -> np.ndarray:
    """Native (backend) values of a synapse parameter back in PyNN units."""
    translations = getattr(synapse_type, "translations", {}) or {}
    entry = translations.get(name)
    if not entry or entry.get("type") != "scaled":
        return values
    return np.asarray(entry["reverse_transform"](**{entry["translated_name"]: values}),
                      dtype=np.float64)


@dataclass
class ProjectionRecord:
    """Connections of one projection, collected chunk by chunk."""

    label: str
    pre: str
    post: str
    receptor_type: str
    chunks: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = field(
        default_factory=list)

    def arrays(self) -> dict[str, np.ndarray]:
        """``pre``, ``post``, ``weight``, ``delay`` sorted by (post, pre), as connected."""
        if not self.chunks:
            empty_i, empty_f = np.zeros(0, dtype=np.int64), np.zeros(0)
            return {"pre": empty_i, "post": empty_i, "weight": empty_f, "delay": empty_f}
        pre, post, weight, delay = (np.concatenate(c) for c in zip(*self.chunks, strict=True))
        order = np.lexsort((pre, post))
        return {"pre": pre[order], "post": post[order], "weight": weight[order],
                "delay": delay[order]}

    def fingerprint(self) -> dict[str, Any]:
        """Label, size and the topology / weight / delay hashes of this projection."""
        a = self.arrays()
        return {"label": self.label, "pre": self.pre, "post": self.post,
                "receptor_type": self.receptor_type, "n_connections": int(a["pre"].size),
                "topology": digest(a["pre"], a["post"]), "weight": digest(a["weight"]),
                "delay": digest(a["delay"])}


@dataclass
class Capture:
    """Everything captured while a script built its network."""

    projections: dict[int, ProjectionRecord] = field(default_factory=dict)
    initial_values: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    #: The projections themselves: scripts often drop them, and a collected object's id
    #: could be reused by the next projection.
    alive: list[Any] = field(default_factory=list)
    #: Why nothing could be captured on this backend ("" when capture works).
    unavailable: str = ""

    def projection(self, projection: Any) -> ProjectionRecord:
        """The record of ``projection`` (created on first use, in creation order)."""
        key = id(projection)
        if key not in self.projections:
            pre = getattr(projection.pre, "label", "") or "?"
            post = getattr(projection.post, "label", "") or "?"
            receptor = str(getattr(projection, "receptor_type", "") or "")
            index = len(self.projections)
            self.alive.append(projection)
            self.projections[key] = ProjectionRecord(
                f"{index}:{pre}->{post}:{receptor}", pre, post, receptor)
        return self.projections[key]

    def combined(self) -> dict[str, str]:
        """The combined hashes; ValueError when this backend could not be captured."""
        if self.unavailable:
            raise ValueError(f"frozen-input runs need connectivity fingerprints: "
                             f"{self.unavailable}")
        return self.document()["combined"]

    def document(self) -> dict[str, Any]:
        """The connectivity document (``repro.connectivity/1``) written into the crate."""
        if self.unavailable:
            return {"format": FORMAT, "unavailable": self.unavailable}
        projections = [p.fingerprint() for p in self.projections.values()]
        initial = [{"population": pop, "variable": var, "size": int(values.size),
                    "sha256": digest(values)}
                   for (pop, var), values in self.initial_values.items()]
        combined = {part: hashlib.sha256("\n".join(p[part] for p in projections).encode())
                    .hexdigest() for part in ("topology", "weight", "delay")}
        combined["initial_values"] = hashlib.sha256(
            "\n".join(f"{i['population']}.{i['variable']}:{i['sha256']}" for i in initial)
            .encode()).hexdigest()
        return {"format": FORMAT, "decimals": DECIMALS, "combined": combined,
                "projections": projections, "initial_values": initial}


def install(sim: Any) -> Capture:
    """Wrap ``sim``'s Projection and Population classes to capture what the script builds.

    Parameters
    ----------
    sim : module
        A PyNN backend module (``pyNN.nest``, the emulator backend, ...).

    Returns
    -------
    Capture
        Filled while the script builds its network; see :meth:`Capture.document`. On a
        backend without PyNN's connection hook (sPyNNaker) it stays empty and says why.
    """
    capture = Capture()
    projection_class = sim.Projection
    population_class = sim.Population
    connect = getattr(projection_class, "_convergent_connect", None)
    if not isinstance(projection_class, type) or connect is None:
        # sPyNNaker builds its connections at mapping time, not through PyNN's hook
        capture.unavailable = (f"{sim.__name__} does not build connections through "
                               "pyNN's Projection._convergent_connect")
        return capture
    set_initial = population_class._set_initial_value_array

    def convergent_connect(self, presynaptic_indices, postsynaptic_index, *args, **params):
        pre = np.asarray(presynaptic_indices, dtype=np.int64).ravel()
        values = []
        for name in ("weight", "delay"):
            native = np.broadcast_to(np.asarray(params.get(name, np.nan), dtype=np.float64),
                                     pre.shape).copy()
            values.append(_unit_reverse(self.synapse_type, name, native))
        capture.projection(self).chunks.append(
            (pre, np.full(pre.size, int(postsynaptic_index), dtype=np.int64), *values))
        return connect(self, presynaptic_indices, postsynaptic_index, *args, **params)

    def set_initial_value_array(self, variable, initial_values):
        from pyNN.parameters import LazyArray

        values = np.asarray(initial_values.evaluate(simplify=False), dtype=np.float64)
        values = np.broadcast_to(values, (self.size,)).copy()
        capture.initial_values[(str(self.label), str(variable))] = values
        return set_initial(self, variable, LazyArray(values, shape=(self.size,), dtype=float))

    projection_class._convergent_connect = convergent_connect
    population_class._set_initial_value_array = set_initial_value_array
    return capture
