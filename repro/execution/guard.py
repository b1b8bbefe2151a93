"""Resource guard: estimate what a run request costs and refuse an absurd one before it runs.

The estimate is biological time x neurons (from the experiment) x targets x seeds, turned into
wall time per run with an *optimistic* update rate per backend (so the estimate is a lower
bound: a legitimate run is not refused, ``duration = 1e15`` is) and into bytes of recorded
spikes (at a generous firing rate). Each target's wall limit is its ``max_wall`` option, else
the limit its kind already has (the ``time`` of the kinds that end in a Slurm job,
SpiNNaker real time), else :data:`DEFAULT_MAX_WALL_S`. The recorded data of all runs must
fit in this machine's memory (it is fetched and compared here). Pure functions, no I/O
besides reading the machine's memory size.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from repro.config.experiment import Experiment, _line_of
from repro.errors import InputError
from repro.targets.base import Target
from repro.targets.options import time_limit_s

#: Neuron updates per second and thread a backend reaches at best (optimistic on purpose).
UPDATES_PER_S = {"nest": 2e7, "spinnaker_emulator": 5e6}
#: Backends that run in biological real time (SpiNNaker hardware): wall >= biological time.
REAL_TIME_BACKENDS = ("spinnaker", "repro_spinnaker_hardware")
#: Wall limit of targets whose kind has none of its own (a day).
DEFAULT_MAX_WALL_S = 86_400.0
#: Firing rate assumed for the recorded-data estimate (spikes/s per neuron) and bytes/spike.
RECORD_RATE_HZ = 100.0
BYTES_PER_SPIKE = 12
#: Neurons assumed when no parameter names a neuron count.
DEFAULT_NEURONS = 1_000
#: Top-level parameters that count neurons: ``n``, ``N``, ``n_*``, ``N_*``, ``num_*``,
#: ``*_neurons``, ``neurons``.
NEURON_KEY = re.compile(r"^(?:[nN]|[nN]_\w+|num_\w+|\w*neurons|size)$")
_WALL = re.compile(r"^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$")


@dataclass(frozen=True)
class RunEstimate:
    """Estimated cost of one run on one target.

    Attributes
    ----------
    target : str
        Target name.
    wall_s : float
        Lower bound of the wall time of one run.
    limit_s : float
        The target's wall limit.
    limit_source : str
        Where the limit comes from (``targets.<name>.max_wall``, ``... time``, default).
    """

    target: str
    wall_s: float
    limit_s: float
    limit_source: str


def neuron_count(params: Mapping[str, Any]) -> tuple[float, list[str]]:
    """Neurons an experiment asks for: the sum of its neuron-count parameters.

    Parameters
    ----------
    params : Mapping
        The experiment's ``[params]`` (only top-level numbers count).

    Returns
    -------
    (neurons, keys)
        The count (:data:`DEFAULT_NEURONS` when no key matches) and the keys it came from.
    """
    keys = [k for k, v in params.items() if NEURON_KEY.match(k)
            and isinstance(v, int | float) and not isinstance(v, bool)]
    if not keys:
        return float(DEFAULT_NEURONS), []
    return float(sum(max(0.0, float(params[k])) for k in keys)), keys


def parse_wall_s(value: Any) -> float:
    """Seconds of a wall limit: a number of seconds, or ``"[D-]HH:MM[:SS]"`` / ``"MM"``.

    Raises
    ------
    ValueError
        If ``value`` is neither.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{value!r} is not a positive number of seconds")
        return float(value)
    match = _WALL.match(str(value).strip())
    if not match:
        raise ValueError(f"{value!r} is not seconds or [D-]HH:MM[:SS]")
    days, first, second, third = (int(g) if g else None for g in match.groups())
    if second is None:                    # "MM": minutes, like Slurm
        parts = (0, first, 0)
    elif third is None:                   # "HH:MM" with days, else "MM:SS" (Slurm's reading)
        parts = (first, second, 0) if days is not None else (0, first, second)
    else:
        parts = (first, second, third)
    hours, minutes, seconds = parts
    return float((days or 0) * 86400 + hours * 3600 + minutes * 60 + seconds)


def wall_limit(target: Target) -> tuple[float, str]:
    """The wall limit of one run on ``target`` and the option it comes from.

    Raises
    ------
    InputError
        If ``max_wall`` (or the kind's own limit option) cannot be read as a duration.
    """
    value = target.option("max_wall")
    if value not in ("", None):
        try:
            return parse_wall_s(value), f"targets.{target.name}.max_wall"
        except ValueError as exc:
            raise InputError(str(exc), field=f"targets.{target.name}.max_wall") from None
    if "time" in target.declared:  # kinds whose runs end in a Slurm job: its time limit
        return time_limit_s(target.option("time")), f"targets.{target.name}.time"
    return DEFAULT_MAX_WALL_S, "the default max_wall"


def estimate_run(duration_ms: float, neurons: float, target: Target) -> RunEstimate:
    """Lower bound of the wall time of one run of ``duration_ms`` x ``neurons`` on ``target``."""
    limit, source = wall_limit(target)
    steps = duration_ms / max(target.timestep, 1e-6)
    if target.backend in REAL_TIME_BACKENDS:
        wall = duration_ms / 1000.0
    else:
        rate = UPDATES_PER_S.get(target.backend, UPDATES_PER_S["nest"]) * max(1, target.threads)
        wall = steps * neurons / rate
    return RunEstimate(target.name, wall, limit, source)


def recorded_bytes(duration_ms: float, neurons: float, runs: int) -> float:
    """Bytes of spikes ``runs`` runs record at :data:`RECORD_RATE_HZ` (an upper estimate)."""
    return duration_ms / 1000.0 * neurons * RECORD_RATE_HZ * BYTES_PER_SPIKE * runs


def machine_memory_bytes() -> float:
    """Physical memory of this machine (infinite where it cannot be read)."""
    try:
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (OSError, ValueError, AttributeError):
        return math.inf


def check_request(experiment: Experiment, targets: Sequence[Target], seeds: Sequence[int],
                  *, memory_bytes: float | None = None) -> list[RunEstimate]:
    """Refuse a request whose runs exceed a wall limit or whose data exceed this machine.

    Parameters
    ----------
    experiment : Experiment
        The experiment (its duration and ``[params]`` give time and neurons).
    targets, seeds
        What would run.
    memory_bytes : float, optional
        Memory limit for the recorded data (default: this machine's physical memory).

    Returns
    -------
    list of RunEstimate
        One per target (empty in script mode, where the script decides the duration).

    Raises
    ------
    InputError
        One line naming the experiment file, the field at fault and the estimate, ending
        with how to override (``--force``).
    """
    neurons, keys = neuron_count(experiment.params)
    if experiment.duration_ms is None:
        return []
    duration = experiment.duration_ms
    runs = len(targets) * len(seeds)
    estimates = [estimate_run(duration, neurons, t) for t in targets]
    sizes = (f"{duration:.3g} ms x {neurons:.3g} neurons"
             f"{' (' + ', '.join(keys) + ')' if keys else ' (assumed)'} x "
             f"{len(targets)} target(s) x {len(seeds)} seed(s)")
    over = [e for e in estimates if e.wall_s > e.limit_s]
    if over:
        worst = max(over, key=lambda e: e.wall_s / e.limit_s)
        raise _refusal(experiment, neurons, keys,
                       f"{sizes}: one run on {worst.target!r} needs at least "
                       f"{_seconds(worst.wall_s)}, over its wall limit of "
                       f"{_seconds(worst.limit_s)} ({worst.limit_source})")
    data = recorded_bytes(duration, neurons, runs)
    memory = machine_memory_bytes() if memory_bytes is None else memory_bytes
    if data > memory:
        raise _refusal(experiment, neurons, keys,
                       f"{sizes}: the recorded spikes would take about {data / 2**30:.3g} GiB "
                       f"(at {RECORD_RATE_HZ:g} Hz), more than this machine's "
                       f"{memory / 2**30:.3g} GiB of memory")
    return estimates


def _refusal(experiment: Experiment, neurons: float, keys: list[str],
             estimate: str) -> InputError:
    """The error naming the field that makes the request absurd (the larger factor)."""
    duration = experiment.duration_ms or 0.0
    neuron_key = max(keys, key=lambda k: float(experiment.params[k])) if keys else None
    blame_neurons = neuron_key is not None and neurons / DEFAULT_NEURONS > duration / 1000.0
    table, key = ("params", neuron_key) if blame_neurons else ("experiment", "duration")
    text = experiment.path.read_text(encoding="utf-8", errors="replace") \
        if experiment.path.is_file() else ""
    return InputError(f"refusing to run: {estimate}; use --force to run anyway",
                      path=experiment.path, field=f"{table}.{key}",
                      line=_line_of(text, table, key) if text else None)


def _seconds(value: float) -> str:
    if value < 120:
        return f"{value:.3g} s"
    if value < 2 * 86400:
        return f"{value / 3600:.3g} h"
    if value < 2 * 365 * 86400:
        return f"{value / 86400:.3g} days"
    return f"{value / (365.25 * 86400):.3g} years"
