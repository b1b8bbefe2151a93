"""Target options, declared once per kind: type, default, unit, meaning, secrecy, identity.

Each target kind lists its :class:`Option` objects in ``Target.declared``; validation of
target tables, ``repro targets ls``, the generated ``docs/targets.md`` and the run identity
all read that one list. Old option names stay accepted through :class:`Alias` (with a
conversion where the meaning changed, as for ``retries`` -> ``attempts``); the first use of
each prints a deprecation note.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class Alias:
    """An old name of an option.

    Attributes
    ----------
    name : str
        The old name.
    convert : callable, optional
        Turns an old value into the new option's value (None: taken as it is).
    meaning : str
        How the old value is read, when it differs (for the deprecation note).
    """

    name: str
    convert: Callable[[Any], Any] | None = None
    meaning: str = ""


@dataclass(frozen=True)
class Option:
    """One option of a target kind.

    Attributes
    ----------
    name : str
        Name in the target's TOML table.
    types : type or tuple of types
        Accepted TOML value types.
    default : Any
        Value when the table does not set it.
    doc : str
        What it means, in one sentence.
    unit : str
        Unit of a number (``ms``, ``s``, ``min``), "" for none.
    secret : bool
        Never shown, hashed or recorded (no kind has one today: tokens come from the
        environment, never from options).
    identity : bool
        Part of the run identity (can change a result): False for options that only
        choose how a run is shipped, tracked or accounted for.
    backend_setup : bool
        Handed to the backend's ``setup()``.
    aliases : tuple of Alias
        Old names still accepted.
    minimum : float, optional
        Smallest accepted number.
    positive : bool
        Numbers must be greater than zero.
    pattern : re.Pattern, optional
        A text value (or a number's text) must match it; ``pattern_doc`` says what it means.
    """

    name: str
    types: type | tuple[type, ...]
    default: Any
    doc: str
    unit: str = ""
    secret: bool = False
    identity: bool = True
    backend_setup: bool = False
    aliases: tuple[Alias, ...] = field(default=())
    minimum: float | None = None
    positive: bool = False
    pattern: re.Pattern[str] | None = None
    pattern_doc: str = ""

    @property
    def type_names(self) -> str:
        """``int or float``-style description of the accepted types."""
        kinds = self.types if isinstance(self.types, tuple) else (self.types,)
        return " or ".join(k.__name__ for k in kinds)

    def accepts(self, value: Any) -> bool:
        """True if ``value`` has one of the accepted types (a bool is not an int here)."""
        kinds = self.types if isinstance(self.types, tuple) else (self.types,)
        return isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)

    def problem(self, value: Any) -> str | None:
        """What is wrong with ``value`` for this option, or None."""
        if not self.accepts(value):
            return f"expected {self.type_names}, got {value!r}"
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if number and self.minimum is not None and value < self.minimum:
            return f"{self.name} must be at least {self.minimum:g}"
        if number and self.positive and value <= 0:
            return f"{self.name} must be positive"
        if self.pattern is not None and not self.pattern.match(str(value)):
            return f"{value!r} is not {self.pattern_doc}"
        return None


class Options(Mapping[str, Option]):
    """The declared options of a target kind, by name (read-only; derive with :meth:`with_`)."""

    def __init__(self, options: Iterable[Option]) -> None:
        self._options = {option.name: option for option in options}
        self._aliases = {alias.name: (option, alias) for option in self._options.values()
                         for alias in option.aliases}

    def __getitem__(self, name: str) -> Option:
        return self._options[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._options)

    def __len__(self) -> int:
        return len(self._options)

    def with_(self, *options: Option, **defaults: Any) -> Options:
        """These options plus ``options`` (replacing same-named ones), with new ``defaults``."""
        merged = dict(self._options)
        merged.update({option.name: option for option in options})
        for name, default in defaults.items():
            merged[name] = replace(merged[name], default=default)
        return Options(merged.values())

    def lookup(self, name: str) -> Option | None:
        """The option called ``name`` now or formerly, or None."""
        found = self._options.get(name) or self.alias(name)
        return found[0] if isinstance(found, tuple) else found

    def problems(self, given: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
        """``(name as given, message)`` for every unknown or invalid option in ``given``."""
        for name, value in given.items():
            option = self.lookup(name)
            if option is None:
                yield name, (f"unknown option {name!r} (known: "
                             f"{', '.join(sorted(self._options))})")
                continue
            converted = self.alias(name)
            if converted is not None and converted[1].convert is not None and \
                    option.accepts(value):
                value = converted[1].convert(value)
            problem = option.problem(value)
            if problem is not None:
                yield name, problem

    def public(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """``given`` under current names, secrets left out (unknown names kept as given)."""
        public = {}
        for name, value in given.items():
            option = self.lookup(name)
            if option is None or not option.secret:
                public[option.name if option is not None else name] = value
        return public

    def text(self, name: str, value: Any) -> str:
        """``name=value unit`` for people."""
        option = self.lookup(name)
        return f"{name}={value!r}" + (f" {option.unit}" if option and option.unit else "")

    def alias(self, name: str) -> tuple[Option, Alias] | None:
        """The option an old name stands for, with its alias, or None."""
        return self._aliases.get(name)

    def canonical(self, target: str, given: Mapping[str, Any]) -> tuple[dict[str, Any],
                                                                        list[str]]:
        """``given`` with old names replaced by the current ones; also the notes about them.

        Unknown names are left as they are (the table validation reports them). When both an
        old and the new name are given, the new one wins.
        """
        values: dict[str, Any] = {}
        notes = []
        for name, value in given.items():
            found = self.alias(name)
            if found is None:
                values[name] = value
                continue
            option, alias = found
            note = (f"target {target!r}: option {name!r} is now called {option.name!r}"
                    + (f" ({alias.meaning})" if alias.meaning else "")
                    + "; the old name still works but will be removed")
            notes.append(note)
            deprecation(note)
            if option.name not in given:
                values[option.name] = alias.convert(value) if alias.convert else value
        return values, notes


def deprecation(note: str) -> None:
    """Print ``note`` once per process (a ``FutureWarning``, shown to users by default)."""
    warnings.warn(note, FutureWarning, stacklevel=4)


#: Options of every target kind.
COMMON = Options([
    Option("threads", int, 1, "NEST threads of every run (CPUs per task on a cluster).",
           minimum=1),
    Option("timestep", (int, float), 0.1, "Simulation time step.", unit="ms", positive=True),
    Option("site", str, "", "Site name recorded with each run (default: the target name "
                            "or the site the service names)."),
    Option("parallel", int, 1, "Runs kept in flight at once.", identity=False),
    Option("max_wall", (int, float, str), "", "Wall limit of one run: seconds or "
           "[D-]HH:MM[:SS] (default: the kind's time limit, else a day); longer runs are "
           "stopped and recorded as failed.", unit="s", identity=False),
])
#: Options of kinds that talk to a remote service or scheduler and must ride out outages.
OUTAGE_LIMIT = Option(
    "outage_limit", (int, float), 3600.0,
    "How long the site may give no definite answer (transient faults: 5xx, dropped "
    "connections, timeouts) while a job is submitted, polled or its results downloaded, "
    "before the run is given up (until then its state is 'unknown', never 'gone'); "
    "`repro targets check` does not wait.", unit="s", identity=False,
    positive=True)
#: A Slurm time limit: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS.
TIME_LIMIT = re.compile(r"^(\d+-)?\d{1,2}(:\d{2}){0,2}$|^\d+$")
#: Batch resources, named as Slurm names them, for every kind that ends in a Slurm job.
SLURM_RESOURCES = (
    Option("nodes", int, 1, "Nodes per run.", minimum=1),
    Option("ntasks", int, 1, "Tasks (MPI processes) per run.", minimum=1),
    Option("time", (str, int), "00:30:00", "Wall-clock limit of a run, in Slurm's syntax: "
           "minutes, MM:SS, HH:MM:SS or D-HH:MM:SS.", identity=False, pattern=TIME_LIMIT,
           pattern_doc="a Slurm time limit (minutes, MM:SS, HH:MM:SS or D-HH:MM:SS)"),
    Option("partition", str, "", "Slurm partition (UNICORE queue); default: the site's."),
    Option("account", str, "", "Account (UNICORE project) charged for the runs.",
           identity=False),
)


def time_limit_s(limit: str | int) -> float:
    """A Slurm time limit in seconds.

    Examples
    --------
    >>> [time_limit_s(t) for t in (90, "00:30:00", "2:30", "1-02", "1-00:00:01")]
    [5400.0, 1800.0, 150.0, 93600.0, 86401.0]
    """
    days, _, rest = str(limit).rpartition("-")
    fields = [int(f) for f in rest.split(":")]
    if days:
        hours, minutes, seconds = (fields + [0, 0])[:3]
    elif len(fields) == 1:
        hours, minutes, seconds = 0, fields[0], 0
    else:
        hours, minutes, seconds = ([0] * (3 - len(fields)) + fields)
    return float(((int(days or 0) * 24 + hours) * 60 + minutes) * 60 + seconds)


def time_limit_minutes(limit: str | int) -> int:
    """A Slurm time limit in whole minutes (rounded up, at least 1).

    Examples
    --------
    >>> [time_limit_minutes(t) for t in (90, "00:30:00", "2:30", "0:01")]
    [90, 30, 3, 1]
    """
    return max(1, math.ceil(time_limit_s(limit) / 60))


def attempts_option(default: int, retries_meant_attempts: bool) -> Option:
    """``attempts`` (tries per request in total, one name for every remote kind) with the
    kind's old ``retries`` alias."""
    if retries_meant_attempts:
        alias = Alias("retries")
    else:
        alias = Alias("retries", convert=lambda value: value + 1,
                      meaning="retries = N meant N + 1 attempts")
    return Option("attempts", int, default, "Tries per request to the site before giving "
                  "up (5xx answers and dropped connections are retried with growing waits).",
                  identity=False, aliases=(alias,), minimum=1)


#: TLS verification of a remote service (one name for every kind).
VERIFY_TLS = Option("verify_tls", bool, True, "Verify the service's TLS certificate.",
                    identity=False, aliases=(Alias("verify"),))


def polling_options(interval_s: float, max_s: float) -> tuple[Option, Option]:
    """``poll_interval`` and ``poll_max`` with the kind's defaults."""
    return (Option("poll_interval", (int, float), interval_s, "Wait after a status request "
                   "whose answer changed; it grows by half while nothing changes.",
                   unit="s", identity=False, positive=True),
            Option("poll_max", (int, float), max_s, "Longest wait between status requests.",
                   unit="s", identity=False, positive=True))


def token_variable_option(old_name: str, searched: str) -> Option:
    """``token_variable`` (one name for every kind) with the kind's old name as alias."""
    return Option("token_variable", str, "", "Environment variable holding the access token "
                  f"(default: {searched}). Tokens are never options.", identity=False,
                  aliases=(Alias(old_name),) if old_name != "token_variable" else ())


def markdown(kinds: Mapping[str, tuple[str, Options]]) -> str:
    """The options of every kind as Markdown (``docs/targets.md``).

    Parameters
    ----------
    kinds : mapping
        ``kind -> (one-line description, declared options)``.
    """
    lines = ["# Target kinds and their options", "",
             "Generated by `repro targets docs --output docs/targets.md` from the option",
             "declarations in `repro/targets/`; do not edit by hand.", "",
             "*identity*: the option is part of the run identity (a different value is a "
             "different run). Old names in the last column still work and print a note.", ""]
    for kind, (summary, options) in kinds.items():
        lines += [f"## `{kind}`", "", summary, "",
                  "| option | type | default | unit | identity | meaning | old names |",
                  "|---|---|---|---|---|---|---|"]
        for option in options.values():
            old = ", ".join(f"`{a.name}`" + (f" ({a.meaning})" if a.meaning else "")
                            for a in option.aliases)
            default = "(secret)" if option.secret else f"`{option.default!r}`"
            lines.append(f"| `{option.name}` | {option.type_names} | {default} | "
                         f"{option.unit} | {'yes' if option.identity else 'no'} | "
                         f"{option.doc} | {old} |")
        lines.append("")
    return "\n".join(lines)
