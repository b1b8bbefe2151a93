"""Tolerance profiles: named, versioned TOML files that fix how runs are analysed and judged.

A profile is looked up by name in ``./profiles/<name>.toml`` (project profiles, for example
written by ``repro calibrate``) and then among the profiles shipped in ``repro/profiles/``; a
path to a ``.toml`` file works too. Its sha256 (of the file bytes) is recorded with every
comparison, so a verdict always names the exact thresholds it was reached with.
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from repro.compare.statistics import StatisticsConfig
from repro.errors import InputError

#: Statistics a profile can ask verdicts for, in display order.
KNOWN_STATISTICS = ("rate", "cv", "lv", "fano", "corr", "pop_rate", "excluded_fraction")
#: Statistics with one value per run (no per-neuron distribution).
SCALAR_STATISTICS = frozenset({"excluded_fraction"})

PACKAGED_DIR = Path(__file__).resolve().parent.parent / "profiles"
PROJECT_DIR = Path("profiles")


@dataclass(frozen=True)
class Margin:
    """Equivalence margin on the difference of run-level means.

    The margin is ``max(relative * |baseline mean|, absolute, se_factor * SE)``, where SE is
    the standard error of the difference of the two sides' run-level means.
    """

    relative: float = 0.0
    absolute: float = 0.0
    se_factor: float = 0.0

    def width(self, baseline_mean: float, standard_error: float) -> float:
        """Margin for a baseline mean and the SE of the difference (NaN SE is ignored)."""
        se_part = self.se_factor * standard_error if math.isfinite(standard_error) else 0.0
        return max(self.relative * abs(baseline_mean), self.absolute, se_part)


@dataclass(frozen=True)
class VerdictSettings:
    """Thresholds of the verdict rule (see ``docs/comparison-method.md``)."""

    fdr_q: float = 0.05
    add_ks: bool = True
    exact_permutations_max: int = 20000
    random_permutations: int = 9999
    permutation_seed: int = 20240611
    welch_below_bh_resolution: bool = False
    r_k: tuple[int, ...] = (3, 5, 10)
    r_values: tuple[float, ...] = (2.3, 1.75, 1.35)
    r_k_scalar: tuple[int, ...] = (3, 5, 10)
    r_values_scalar: tuple[float, ...] = (2.3, 1.75, 1.35)

    def r_threshold(self, k: int, scalar: bool = False) -> float:
        """R*(k): linear in ``1/sqrt(k)`` between table points, extrapolated below, clamped above.

        Parameters
        ----------
        k : int
            Seeds per side (the smaller side).
        scalar : bool
            Use the table for statistics with one value per run (their R is noisier).

        Raises
        ------
        ValueError
            If ``k < 2`` (no within-target distances exist).
        """
        if k < 2:
            raise ValueError(f"R*(k) needs k >= 2 seeds per side, got {k}")
        ks, rs = ((self.r_k_scalar, self.r_values_scalar) if scalar
                  else (self.r_k, self.r_values))
        x = [1.0 / math.sqrt(v) for v in ks]
        xk = 1.0 / math.sqrt(k)
        if k >= ks[-1]:
            return rs[-1]
        if k <= ks[0]:
            slope = (rs[1] - rs[0]) / (x[1] - x[0])
            return rs[0] + slope * (xk - x[0])
        i = next(i for i in range(len(ks) - 1) if ks[i] <= k <= ks[i + 1])
        return rs[i] + (xk - x[i]) / (x[i + 1] - x[i]) * (rs[i + 1] - rs[i])


@dataclass(frozen=True)
class Profile:
    """A loaded tolerance profile.

    Attributes
    ----------
    name, version, description : str
        Identity of the profile.
    statistics : StatisticsConfig
        How statistics are computed.
    compare : tuple of str
        Statistics that get a verdict cell.
    verdict : VerdictSettings
        Thresholds of the verdict rule.
    margins : dict
        ``{statistic: Margin}``.
    source : str
        Where the profile was read from.
    sha256 : str
        Hash of the profile file bytes.
    """

    name: str
    version: str
    description: str
    statistics: StatisticsConfig
    compare: tuple[str, ...]
    verdict: VerdictSettings
    margins: dict[str, Margin] = field(default_factory=dict)
    source: str = ""
    sha256: str = ""

    def identity(self) -> dict[str, str]:
        """Name, version, source file name and hash (what records cite; no machine paths)."""
        return {"name": self.name, "version": self.version, "source": Path(self.source).name,
                "sha256": self.sha256}


def resolve_profile_path(name_or_path: str | Path) -> Path:
    """Find a profile file by path, project name (``./profiles``) or packaged name.

    Raises
    ------
    InputError
        If nothing matches; the message lists the profiles that exist.
    """
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" or candidate.is_file():
        if not candidate.is_file():
            raise InputError("tolerance profile not found", path=candidate)
        return candidate
    for directory in (PROJECT_DIR, PACKAGED_DIR):
        path = directory / f"{name_or_path}.toml"
        if path.is_file():
            return path
    known = sorted({p.stem for d in (PROJECT_DIR, PACKAGED_DIR) if d.is_dir()
                    for p in d.glob("*.toml")})
    raise InputError(f"no tolerance profile named {str(name_or_path)!r} "
                     f"(known: {', '.join(known) or 'none'})", field="tolerance")


def load_profile(name_or_path: str | Path = "default") -> Profile:
    """Load and validate a profile by name or path.

    Raises
    ------
    InputError
        If the file is missing or unreadable, or a field is missing, unknown or invalid;
        the message names the file and the field.
    """
    path = resolve_profile_path(name_or_path)
    data = path.read_bytes()
    return parse_profile(data, source=str(path))


def parse_profile(data: bytes, source: str) -> Profile:
    """Build a profile from TOML bytes (``source`` names the file in errors)."""
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"not valid TOML: {exc}", path=source) from exc
    checker = _Checker(source)
    head = checker.table(doc, "profile")
    stats_table = dict(checker.table(doc, "statistics"))
    compare = stats_table.pop("compare", list(KNOWN_STATISTICS))
    if (not isinstance(compare, list) or not compare
            or any(c not in KNOWN_STATISTICS for c in compare)):
        raise InputError(f"must be a non-empty list drawn from {list(KNOWN_STATISTICS)}",
                         path=source, field="statistics.compare")
    statistics = checker.build(StatisticsConfig, stats_table, "statistics")
    verdict_table = dict(checker.table(doc, "verdict"))
    r_k, r_values = _threshold_table(verdict_table.pop("r_threshold", None), source,
                                     "verdict.r_threshold")
    scalar_table = verdict_table.pop("r_threshold_scalar", None)
    r_k_scalar, r_values_scalar = (
        (r_k, r_values) if scalar_table is None
        else _threshold_table(scalar_table, source, "verdict.r_threshold_scalar"))
    verdict = checker.build(VerdictSettings, verdict_table, "verdict")
    verdict = VerdictSettings(**{**{f.name: getattr(verdict, f.name) for f in fields(verdict)},
                                 "r_k": r_k, "r_values": r_values, "r_k_scalar": r_k_scalar,
                                 "r_values_scalar": r_values_scalar})
    if not 0 < verdict.fdr_q < 1:
        raise InputError("must lie in (0, 1)", path=source, field="verdict.fdr_q")
    margins_table = checker.table(doc, "margins")
    margins = {}
    for stat in compare:
        if stat not in margins_table:
            raise InputError(f"no margin for compared statistic {stat!r}", path=source,
                             field=f"margins.{stat}")
        margins[stat] = checker.build(Margin, margins_table[stat], f"margins.{stat}")
    for name in ("name", "version"):
        if not isinstance(head.get(name), str) or not head[name]:
            raise InputError("must be a non-empty string", path=source, field=f"profile.{name}")
    return Profile(name=head["name"], version=head["version"],
                   description=str(head.get("description", "")), statistics=statistics,
                   compare=tuple(compare), verdict=verdict, margins=margins, source=source,
                   sha256=hashlib.sha256(data).hexdigest())


def _threshold_table(table: Any, source: str, name: str
                     ) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """Validate an R*(k) table ``{k = [...], r = [...]}``."""
    if table is None:
        raise InputError("missing table", path=source, field=name)
    r_k, r_values = (table.get("k"), table.get("r")) if isinstance(table, dict) else (None, None)
    if (not isinstance(r_k, list) or not isinstance(r_values, list) or len(r_k) != len(r_values)
            or len(r_k) < 2 or any(not isinstance(v, int) or v < 2 for v in r_k)
            or sorted(set(r_k)) != r_k or any(not isinstance(v, int | float) or v <= 0
                                              for v in r_values)):
        raise InputError("needs lists k (increasing integers >= 2, at least two) and r "
                         "(positive numbers) of equal length", path=source, field=name)
    return tuple(r_k), tuple(float(v) for v in r_values)


class _Checker:
    """Turns TOML tables into dataclasses, naming file and field in every error."""

    def __init__(self, source: str) -> None:
        self.source = source

    def table(self, doc: dict[str, Any], name: str) -> dict[str, Any]:
        value = doc.get(name)
        if not isinstance(value, dict):
            raise InputError("missing table", path=self.source, field=name)
        return value

    def build(self, cls: type, table: dict[str, Any], prefix: str) -> Any:
        if not isinstance(table, dict):
            raise InputError("must be a table", path=self.source, field=prefix)
        known = {f.name: f for f in fields(cls)}
        values = {}
        for key, value in table.items():
            if key not in known:
                raise InputError(f"unknown field (known: {', '.join(sorted(known))})",
                                 path=self.source, field=f"{prefix}.{key}")
            default = getattr(cls(), key) if key in known else None
            expected = type(default)
            ok = (isinstance(value, bool) if expected is bool
                  else isinstance(value, int) and not isinstance(value, bool) if expected is int
                  else isinstance(value, int | float) and not isinstance(value, bool))
            if not ok:
                raise InputError(f"must be {expected.__name__}, got {value!r}",
                                 path=self.source, field=f"{prefix}.{key}")
            values[key] = expected(value)
        try:
            return cls(**values)
        except ValueError as exc:
            raise InputError(str(exc), path=self.source, field=prefix) from exc


def with_r_thresholds(text: str, tables: dict[str, tuple[list[int], list[float]]], *,
                      name: str, version: str, note: str) -> str:
    """Return profile TOML ``text`` with new R threshold tables, name and version.

    Used by ``repro calibrate``. ``tables`` maps a table name (``verdict.r_threshold``,
    ``verdict.r_threshold_scalar``) to ``(k, r)``; tables missing from ``text`` are appended.
    Everything else in the profile, comments included, stays.
    """
    out: list[str] = []
    section = ""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped.strip("[]").strip()
        key = stripped.split("=", 1)[0].strip() if "=" in stripped else ""
        if section == "profile" and key == "name":
            line = f'name = "{name}"'
        elif section == "profile" and key == "version":
            line = f'version = "{version}"\ncalibration = {json.dumps(note)}'
        elif section == "profile" and key == "calibration":
            continue
        elif section in tables and key in ("k", "r"):
            k, r = tables[section]
            line = (f"k = [{', '.join(str(int(v)) for v in k)}]" if key == "k"
                    else f"r = [{', '.join(f'{v:.3f}' for v in r)}]")
        out.append(line)
    present = {line.strip().strip("[]").strip() for line in out if line.strip().startswith("[")}
    for table, (k, r) in tables.items():
        if table not in present:
            out += ["", f"[{table}]", f"k = [{', '.join(str(int(v)) for v in k)}]",
                    f"r = [{', '.join(f'{v:.3f}' for v in r)}]"]
    return "\n".join(out) + "\n"
