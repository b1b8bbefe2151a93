"""Read and write the run spike file: one compact ``.npz`` of per-population CSR spike arrays.

This module runs at execution sites too (it is shipped in the run bundle), so it imports
only the standard library and numpy; the neo exporter imports neo lazily.

Format ``repro.spikes/1``
-------------------------
An uncompressed numpy ``.npz`` archive with

* ``meta``: a 0-d unicode array holding JSON::

      {"format": "repro.spikes/1", "time_unit": "ms",
       "populations": [{"name": "exc", "size": 400, "celltype": "IF_curr_exp",
                        "t_start": 0.0, "t_stop": 1000.0, "key": "p0"}, ...]}

* for each population ``key``: ``<key>_indptr`` (int64, ``size + 1``) and ``<key>_times``
  (float64, ms). Spikes of neuron ``i`` are ``times[indptr[i]:indptr[i + 1]]``, sorted.

Array keys never contain population names, so hostile names cannot escape the archive.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FORMAT = "repro.spikes/1"
ENCODING_FORMAT = "application/x-npz"


class SpikeFileError(ValueError):
    """The spike file is unreadable or violates the format; the message names the file."""


@dataclass(frozen=True)
class PopulationSpikes:
    """Spikes of one population in CSR layout.

    Attributes
    ----------
    name : str
        Population label.
    size : int
        Number of neurons (silent neurons included).
    celltype : str
        Cell type name as the backend reported it.
    t_start, t_stop : float
        Recording window in ms.
    indptr : numpy.ndarray
        int64 array of length ``size + 1``.
    times : numpy.ndarray
        float64 spike times in ms, sorted within each neuron.
    """

    name: str
    size: int
    celltype: str
    t_start: float
    t_stop: float
    indptr: np.ndarray
    times: np.ndarray

    @classmethod
    def from_trains(
        cls,
        name: str,
        trains: Sequence[np.ndarray],
        *,
        celltype: str,
        t_start: float,
        t_stop: float,
    ) -> PopulationSpikes:
        """Build from one array of spike times (ms) per neuron."""
        counts = np.fromiter((len(t) for t in trains), dtype=np.int64, count=len(trains))
        indptr = np.zeros(len(trains) + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        times = (
            np.concatenate([np.sort(np.asarray(t, dtype=np.float64)) for t in trains])
            if len(trains) and indptr[-1]
            else np.zeros(0, dtype=np.float64)
        )
        return cls(name, len(trains), celltype, float(t_start), float(t_stop), indptr, times)

    @property
    def n_spikes(self) -> int:
        """Total number of spikes."""
        return int(self.indptr[-1])

    def neuron_ids(self) -> np.ndarray:
        """Neuron index of every entry of ``times`` (int64, same length)."""
        return np.repeat(np.arange(self.size, dtype=np.int64), np.diff(self.indptr))

    def train(self, i: int) -> np.ndarray:
        """Spike times (ms) of neuron ``i``."""
        return self.times[self.indptr[i] : self.indptr[i + 1]]


def write_spikes(path: str | Path, populations: Sequence[PopulationSpikes]) -> None:
    """Write populations atomically to ``path`` (temporary file, then rename).

    Raises
    ------
    ValueError
        If two populations share a name or arrays are inconsistent.
    """
    path = Path(path)
    names = [p.name for p in populations]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate population names in {names}")
    meta: dict = {"format": FORMAT, "time_unit": "ms", "populations": []}
    arrays: dict[str, np.ndarray] = {}
    for index, pop in enumerate(populations):
        _check_population(pop, str(path))
        key = f"p{index}"
        meta["populations"].append(
            {
                "name": pop.name,
                "size": int(pop.size),
                "celltype": pop.celltype,
                "t_start": float(pop.t_start),
                "t_stop": float(pop.t_stop),
                "key": key,
            }
        )
        arrays[f"{key}_indptr"] = np.asarray(pop.indptr, dtype=np.int64)
        arrays[f"{key}_times"] = np.asarray(pop.times, dtype=np.float64)
    arrays["meta"] = np.array(json.dumps(meta, sort_keys=True))
    fd, tmp = tempfile.mkstemp(prefix=".spikes-", suffix=".npz", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise



@contextmanager
def _reading(path: Path) -> Iterator[None]:
    """Turn any failure to read the spike file ``path`` into one SpikeFileError naming it."""
    try:
        yield
    except SpikeFileError:
        raise
    except FileNotFoundError as exc:
        raise SpikeFileError(f"{path}: spike file not found") from exc
    except Exception as exc:  # zipfile, json, KeyError, ValueError: all mean a corrupt file
        raise SpikeFileError(f"{path}: not a readable {FORMAT} spike file ({exc})") from exc

def read_spikes(path: str | Path) -> list[PopulationSpikes]:
    """Read and validate a spike file.

    Raises
    ------
    SpikeFileError
        If the file is missing, not an npz archive, or violates ``repro.spikes/1``.
    """
    path = Path(path)
    with _reading(path), np.load(path, allow_pickle=False) as archive:
        meta = json.loads(str(archive["meta"]))
        if meta.get("format") != FORMAT:
            raise SpikeFileError(f"{path}: format is {meta.get('format')!r}, not {FORMAT}")
        result = []
        for entry in meta["populations"]:
            key = entry["key"]
            pop = PopulationSpikes(
                name=str(entry["name"]),
                size=int(entry["size"]),
                celltype=str(entry["celltype"]),
                t_start=float(entry["t_start"]),
                t_stop=float(entry["t_stop"]),
                indptr=archive[f"{key}_indptr"],
                times=archive[f"{key}_times"],
            )
            _check_population(pop, str(path))
            result.append(pop)
        return result


@dataclass(frozen=True)
class SpikeChunk:
    """The spikes of the whole neurons ``first .. first + len(indptr) - 2`` of a population.

    Attributes
    ----------
    first : int
        Index of the chunk's first neuron in the population.
    indptr : numpy.ndarray
        Offsets of each neuron's spikes within ``times`` (starts at 0).
    times : numpy.ndarray
        Spike times (ms) of the chunk's neurons, in file order.
    """

    first: int
    indptr: np.ndarray
    times: np.ndarray

    def neuron_ids(self) -> np.ndarray:
        """Neuron index (within the chunk) of every entry of ``times``."""
        return np.repeat(np.arange(self.indptr.size - 1, dtype=np.int64), np.diff(self.indptr))


def read_population_header(path: str | Path, name: str) -> tuple[PopulationSpikes, int]:
    """The population ``name`` of a spike file without its spike times.

    Returns
    -------
    tuple
        ``(population with an empty times array, number of spikes)``; ``indptr`` (one
        entry per neuron) is read, the times are not.

    Raises
    ------
    SpikeFileError
        If the file is unreadable, violates the format or has no population ``name``.
    """
    path = Path(path)
    with _reading(path), zipfile.ZipFile(path) as archive:
        entry, indptr = _population_entry(archive, path, name)
        with archive.open(f"{entry['key']}_times.npy") as handle:
            n_spikes = _npy_length(handle, path)
    pop = PopulationSpikes(str(entry["name"]), int(entry["size"]), str(entry["celltype"]),
                           float(entry["t_start"]), float(entry["t_stop"]), indptr,
                           np.zeros(0, dtype=np.float64))
    _check_population(pop, str(path), n_spikes)
    return pop, n_spikes


def iter_population_chunks(path: str | Path, name: str, max_spikes: int,
                           max_neurons: int | None = None) -> Iterator[SpikeChunk]:
    """Stream the spikes of population ``name`` in chunks of whole neurons.

    A chunk holds at most ``max_spikes`` spikes (more only when one neuron alone has
    more) and at most ``max_neurons`` neurons; the times are read from the archive piece
    by piece, so memory does not grow with the number of spikes in the file.

    Raises
    ------
    SpikeFileError
        If the file is unreadable, violates the format or has no population ``name``.
    """
    path = Path(path)
    pop, _ = read_population_header(path, name)
    indptr = pop.indptr
    limit = pop.size if max_neurons is None else max(1, int(max_neurons))
    try:
        with zipfile.ZipFile(path) as archive:
            entry, _ = _population_entry(archive, path, name)
            with archive.open(f"{entry['key']}_times.npy") as handle:
                _npy_length(handle, path)
                first = 0
                while first < pop.size:
                    stop = int(np.searchsorted(indptr, indptr[first] + max_spikes, "right")) - 1
                    stop = min(max(stop, first + 1), first + limit, pop.size)
                    count = int(indptr[stop] - indptr[first])
                    data = handle.read(8 * count)
                    if len(data) != 8 * count:
                        raise SpikeFileError(f"{path}: population {name!r}: times are truncated")
                    yield SpikeChunk(first, indptr[first:stop + 1] - indptr[first],
                                     np.frombuffer(data, dtype="<f8"))
                    first = stop
    except SpikeFileError:
        raise
    except Exception as exc:
        raise SpikeFileError(f"{path}: not a readable {FORMAT} spike file ({exc})") from exc


def _population_entry(archive: zipfile.ZipFile, path: Path, name: str
                      ) -> tuple[dict, np.ndarray]:
    with archive.open("meta.npy") as handle:
        meta = json.loads(str(np.lib.format.read_array(handle, allow_pickle=False)))
    if meta.get("format") != FORMAT:
        raise SpikeFileError(f"{path}: format is {meta.get('format')!r}, not {FORMAT}")
    for entry in meta["populations"]:
        if entry["name"] == name:
            with archive.open(f"{entry['key']}_indptr.npy") as handle:
                indptr = np.lib.format.read_array(handle, allow_pickle=False)
            return entry, indptr
    raise SpikeFileError(f"{path}: no population {name!r}")


def _npy_length(handle, path: Path) -> int:
    """Read a .npy header from ``handle``; return the length of its 1-d float64 array."""
    version = np.lib.format.read_magic(handle)
    read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                   else np.lib.format.read_array_header_2_0)
    shape, fortran_order, dtype = read_header(handle)
    if len(shape) != 1 or fortran_order or dtype != np.dtype("<f8"):
        raise SpikeFileError(f"{path}: spike times must be a 1-d little-endian float64 array")
    return int(shape[0])


def _check_population(pop: PopulationSpikes, where: str, n_spikes: int | None = None) -> None:
    indptr = np.asarray(pop.indptr)
    if indptr.shape != (pop.size + 1,) or (pop.size + 1 and indptr[0] != 0):
        raise SpikeFileError(f"{where}: population {pop.name!r}: indptr has the wrong shape")
    expected = len(pop.times) if n_spikes is None else n_spikes
    if np.any(np.diff(indptr) < 0) or indptr[-1] != expected:
        raise SpikeFileError(f"{where}: population {pop.name!r}: indptr is inconsistent")
    if not pop.t_stop >= pop.t_start:
        raise SpikeFileError(f"{where}: population {pop.name!r}: t_stop < t_start")


def to_neo_block(populations: Sequence[PopulationSpikes], name: str = "run"):
    """Export populations to a ``neo.Block`` with one Segment and one Group per population.

    Each neuron becomes a ``neo.SpikeTrain`` (ms) annotated with ``population`` and
    ``neuron``; the Group of a population holds its trains in neuron order.
    """
    import neo
    import quantities as pq

    block = neo.Block(name=name)
    segment = neo.Segment(name=name)
    block.segments.append(segment)
    for pop in populations:
        group = neo.Group(name=pop.name)
        for i in range(pop.size):
            train = neo.SpikeTrain(
                pop.train(i) * pq.ms,
                t_start=pop.t_start * pq.ms,
                t_stop=pop.t_stop * pq.ms,
                population=pop.name,
                neuron=i,
            )
            segment.spiketrains.append(train)
            group.add(train)
        block.groups.append(group)
    return block
