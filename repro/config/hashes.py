"""Canonical hashes: the model hash, the request key and the run key.

The model hash covers everything that defines the model (script bytes, NESTML sources,
parameters, duration, recording spec, run mode) and nothing that does not (targets, seeds,
key order, TOML formatting, how a number was written).
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

from repro.config.experiment import Experiment

MODEL_HASH_FORMAT = "repro.model/1"


def normalise(value: Any) -> Any:
    """Return ``value`` with numbers in one canonical form and mappings with string keys.

    ``1``, ``1.0`` and ``1e0`` all become the integer 1; other floats stay floats (their
    shortest round-trip ``repr`` is canonical). Booleans stay booleans.

    Raises
    ------
    ValueError
        For NaN or infinite numbers, or values that are not JSON data.
    """
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"{value!r} is not a finite number")
        if number.is_integer() and abs(number) < 2**53:
            return int(number)
        if isinstance(value, int):  # a huge integer: keep it exact
            return value
        return number
    if isinstance(value, dict):
        return {str(k): normalise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [normalise(v) for v in value]
    raise ValueError(f"cannot hash a value of type {type(value).__name__}")


def canonical_json(value: Any) -> str:
    """Canonical JSON: normalised numbers, sorted keys, no whitespace, UTF-8 text."""
    return json.dumps(normalise(value), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)


def sha256_hex(data: bytes | str) -> str:
    """Hex sha256 of bytes, or of a string's UTF-8 encoding."""
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def model_document(experiment: Experiment) -> dict[str, Any]:
    """The canonical document whose hash is the model hash.

    A classic script's command-line arguments are part of the model (when there are any).
    """
    document = {
        "format": MODEL_HASH_FORMAT,
        "mode": experiment.mode,
        "script": sha256_hex(experiment.script.read_bytes()),
        "nestml": sorted(
            [p.name, sha256_hex(p.read_bytes())] for p in experiment.nestml),
        "params": experiment.params,
        "duration_ms": experiment.duration_ms,
        "record": sorted(experiment.record),
    }
    if experiment.script_args:
        document["script_args"] = list(experiment.script_args)
    return document


def model_hash(experiment: Experiment) -> str:
    """sha256 of the canonical model document."""
    return sha256_hex(canonical_json(model_document(experiment)))


def _seeds(seed: int, noise_seed: int | None, frozen: str | None) -> dict[str, Any]:
    """The seed fields of a key (noise seed and frozen input only when asked for)."""
    fields: dict[str, Any] = {"seed": seed}
    if noise_seed is not None:
        fields["noise_seed"] = noise_seed
    if frozen is not None:
        fields["frozen"] = frozen
    return fields


def request_key(model: str, target_identity: dict[str, Any], seed: int,
                noise_seed: int | None = None, frozen: str | None = None) -> str:
    """Hash of what was asked for: model, target and seeds (no environment).

    ``frozen`` is ``"export"`` for a run that exports its input, ``"replay:<sha256>"`` for a
    replay of a frozen-input file.
    """
    return sha256_hex(canonical_json({"model": model, "target": target_identity,
                                      **_seeds(seed, noise_seed, frozen)}))


def run_key(model: str, target_identity: dict[str, Any], seed: int, env_digest: str,
            noise_seed: int | None = None, frozen: str | None = None) -> str:
    """Hash of model, target, seeds and environment digest: equal run keys are cache hits."""
    return sha256_hex(canonical_json({"model": model, "target": target_identity,
                                      **_seeds(seed, noise_seed, frozen),
                                      "environment": env_digest}))
