"""Frozen input: export a run's input spike trains and connectivity once, replay them anywhere.

Site-side (standard library, numpy and pyNN only).

*Export* (``RunSpec.frozen_export``): every ``SpikeSourcePoisson`` population the script
creates is recorded, and after the run ``frozen_input.npz`` (``repro.frozen-input/1``) holds
its spike trains as integer time steps, together with every projection's connection list
(pre, post, weight, delay as the script asked for them) and the connectivity fingerprints.

*Replay* (``RunSpec.frozen_input``): the script's ``build`` runs as usual, but every
``SpikeSourcePoisson`` population it creates becomes a ``SpikeSourceArray`` holding the
exported trains (matched in creation order, label and size checked), so every target
receives identical input. The connectivity is realised by the script from the same
connectivity seed and *proven* identical to the exported one by its topology fingerprint;
a replay whose topology differs fails with a message saying so. Weights, delays and initial
values come from the script being replayed, so a model change (a delay + 0.1 ms) is what the
replay shows.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from repro.site.fingerprints import Capture

FORMAT = "repro.frozen-input/1"
FILE = "frozen_input.npz"
SOURCE_TYPES = ("SpikeSourcePoisson",)


def _is_source(celltype: Any) -> bool:
    kind = celltype if isinstance(celltype, type) else type(celltype)
    return kind.__name__ in SOURCE_TYPES


def track_populations(sim: Any) -> list[Any]:
    """Wrap ``sim.Population.__init__`` to list every population created (in order)."""
    created: list[Any] = []
    init = sim.Population.__init__

    def population_init(self, *args, **kwargs):
        init(self, *args, **kwargs)
        created.append(self)

    sim.Population.__init__ = population_init
    return created


def record_sources(populations: list[Any]) -> list[Any]:
    """Ask every Poisson source population to record its spikes; return them."""
    sources = [p for p in populations if _is_source(p.celltype)]
    for pop in sources:
        pop.record("spikes")
    return sources


def export(path: Path, sources: list[Any], capture: Capture, timestep_ms: float,
           duration_ms: float) -> str:
    """Write the frozen input of a finished run to ``path``; return its sha256.

    Spike times are stored as float64 ms, exactly as recorded (NEST's precise-timing
    sources emit off the time grid).
    """
    arrays: dict[str, np.ndarray] = {}
    labels = []
    for index, pop in enumerate(sources):
        trains = pop.get_data("spikes").segments[-1].spiketrains
        times = [np.asarray(t.rescale("ms").magnitude) for t in trains]
        arrays[f"source{index}_indptr"] = np.cumsum([0] + [t.size for t in times]).astype(
            np.int64)
        arrays[f"source{index}_times"] = np.concatenate(times + [np.zeros(0)])
        labels.append({"label": str(pop.label), "size": int(pop.size)})
    projections = []
    for index, record in enumerate(capture.projections.values()):
        a = record.arrays()
        arrays[f"projection{index}_pre"] = a["pre"].astype(np.int32)
        arrays[f"projection{index}_post"] = a["post"].astype(np.int32)
        arrays[f"projection{index}_weight"] = a["weight"]
        arrays[f"projection{index}_delay"] = a["delay"]
        projections.append(record.fingerprint())
    meta = {"format": FORMAT, "timestep_ms": timestep_ms, "duration_ms": duration_ms,
            "sources": labels, "projections": projections,
            "connectivity": capture.combined()}
    arrays["meta"] = np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)
    np.savez_compressed(path, **arrays)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_meta(path: Path) -> dict[str, Any]:
    """The JSON header of a frozen-input file.

    Raises
    ------
    ValueError
        If the file is not a ``repro.frozen-input/1`` document.
    """
    with np.load(path) as data:
        meta = json.loads(bytes(data["meta"]).decode())
    if meta.get("format") != FORMAT:
        raise ValueError(f"{path}: not a {FORMAT} file")
    return meta


class Replay:
    """Serve exported spike trains in place of the Poisson sources a script creates."""

    def __init__(self, sim: Any, path: Path, timestep_ms: float) -> None:
        self.path = path
        self.meta = read_meta(path)
        if abs(self.meta["timestep_ms"] - timestep_ms) > 1e-12:
            raise ValueError(f"frozen input {path.name} was recorded with a time step of "
                             f"{self.meta['timestep_ms']} ms, this run uses {timestep_ms} ms")
        self.used = 0
        self.n_spikes = 0
        self._install(sim)

    def trains(self, index: int) -> list[np.ndarray]:
        """Spike times (ms) of exported source ``index``, one array per neuron."""
        with np.load(self.path) as data:
            indptr = data[f"source{index}_indptr"]
            times = data[f"source{index}_times"]
        self.n_spikes += int(times.size)
        return [times[indptr[i]:indptr[i + 1]] for i in range(indptr.size - 1)]

    def _install(self, sim: Any) -> None:
        replay = self
        init = sim.Population.__init__

        def population_init(pop, size, cellclass, *args, **kwargs):
            if _is_source(cellclass):
                cellclass = replay.source_for(sim, int(size), kwargs.get("label"))
                args = args[1:] if args else args  # cellparams belonged to the Poisson source
                kwargs.pop("cellparams", None)
            init(pop, size, cellclass, *args, **kwargs)

        sim.Population.__init__ = population_init

    def source_for(self, sim: Any, size: int, label: str | None) -> Any:
        """The SpikeSourceArray that replaces the next Poisson source of the script."""
        sources = self.meta["sources"]
        if self.used >= len(sources):
            raise ValueError(f"the script creates more Poisson sources than the frozen input "
                             f"{self.path.name} holds ({len(sources)})")
        expected = sources[self.used]
        if expected["size"] != size or (label and expected["label"] != label):
            raise ValueError(f"Poisson source {self.used} of the script ({label!r}, {size} "
                             f"neurons) does not match the frozen input's ({expected['label']!r}"
                             f", {expected['size']} neurons)")
        trains = self.trains(self.used)
        self.used += 1
        from pyNN.parameters import Sequence

        return sim.SpikeSourceArray(spike_times=[Sequence(t) for t in trains])

    def check(self, capture: Capture) -> dict[str, Any]:
        """Prove the replayed network has the exported topology; summary for result.json.

        Raises
        ------
        ValueError
            If not every exported source was replayed or the topology differs.
        """
        if self.used != len(self.meta["sources"]):
            raise ValueError(f"the script created {self.used} Poisson sources, the frozen input "
                             f"{self.path.name} holds {len(self.meta['sources'])}")
        mine = capture.combined()
        theirs = self.meta["connectivity"]
        if mine["topology"] != theirs["topology"]:
            raise ValueError("frozen replay needs the reference run's connectivity: this run's "
                             f"topology fingerprint {mine['topology'][:12]} differs from the "
                             f"frozen input's {theirs['topology'][:12]} (build from the same "
                             "connectivity seed)")
        return {"sha256": hashlib.sha256(self.path.read_bytes()).hexdigest(),
                "sources": len(self.meta["sources"]), "spikes": self.n_spikes,
                "differs": [part for part in ("weight", "delay", "initial_values")
                            if mine[part] != theirs[part]]}
