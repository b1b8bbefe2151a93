"""Run selections (``SEL``): parse them and resolve them to run crates in a store.

A selection is either a path (a run crate, or a directory holding run crates) or
comma-separated ``key=value`` terms that must all hold. A piece without ``=`` adds another
value to the previous key, so ``seed=1,2,3`` and ``seed=1-5`` both work::

    experiment=balanced_random,target=local,seed=1-5
    model=6502fc11,env=91ab07,seed=6-10
    crates/runs/balanced_random/20261123T234741-local-s1-c44fae

Keys: ``experiment`` (``e``), ``target`` (``t``), ``seed`` (``s``; integers and ranges),
``kind``, ``site``, ``model`` (model hash prefix), ``env`` (environment digest prefix),
``run`` (run id prefix). Only completed runs are selected.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from repro.errors import SelectionError
from repro.records.run_crate import METADATA_FILE
from repro.records.store import RunRecord, Store

#: Selection keys and the index column they filter (prefix keys match hash prefixes).
KEYS = {"experiment": "experiment", "e": "experiment", "target": "target", "t": "target",
        "seed": "seed", "s": "seed", "kind": "target_kind", "site": "site"}
PREFIX_KEYS = {"model": "model_hash", "env": "env_digest", "run": "run_id"}


@dataclass(frozen=True)
class Selection:
    """A parsed selection.

    Attributes
    ----------
    text : str
        What the user wrote (for messages).
    filters : dict
        ``{index column: [values]}`` for exact matches.
    prefixes : dict
        ``{index column: [prefixes]}`` for hash and run id prefixes.
    path : Path or None
        A crate (or directory of crates) given by path.
    """

    text: str
    filters: dict[str, list] = field(default_factory=dict)
    prefixes: dict[str, list[str]] = field(default_factory=dict)
    path: Path | None = None


def parse_selection(text: str, option: str = "SEL") -> Selection:
    """Parse a selection string.

    Raises
    ------
    SelectionError
        For an empty selection, an unknown key, a bad seed or a path that does not exist.
    """
    text = text.strip()
    if not text:
        raise SelectionError("empty selection", field=option)
    if "=" not in text:
        path = Path(text)
        if not path.exists():
            raise SelectionError(f"{text!r} is neither a crate path nor key=value terms "
                                 f"(keys: {', '.join(sorted({*KEYS, *PREFIX_KEYS}))})",
                                 field=option)
        return Selection(text=text, path=path)
    filters: dict[str, list] = {}
    prefixes: dict[str, list[str]] = {}
    current: tuple[dict, str] | None = None
    for piece in (p.strip() for p in text.split(",")):
        if not piece:
            continue
        if "=" in piece:
            key, value = (s.strip() for s in piece.split("=", 1))
            key = key.lower()
            if key in KEYS:
                current = (filters, KEYS[key])
            elif key in PREFIX_KEYS:
                current = (prefixes, PREFIX_KEYS[key])
            else:
                raise SelectionError(f"unknown selection key {key!r} (keys: "
                                     f"{', '.join(sorted({*KEYS, *PREFIX_KEYS}))})",
                                     field=option)
        elif current is None:
            raise SelectionError(f"{piece!r} has no key (write key=value)", field=option)
        else:
            value = piece
        table, column = current
        table.setdefault(column, []).extend(_values(column, value, option))
    return Selection(text=text, filters=filters, prefixes=prefixes)


def _values(column: str, value: str, option: str) -> list:
    if not value:
        raise SelectionError(f"empty value for {column}", field=option)
    if column != "seed":
        return [value]
    try:
        if "-" in value[1:]:
            low, high = (int(v) for v in value.split("-", 1))
            if high < low:
                raise ValueError
            return list(range(low, high + 1))
        return [int(value)]
    except ValueError:
        raise SelectionError(f"cannot read seed {value!r} (use 3 or 1-5)", field=option) from None


def resolve_selection(store: Store, selection: Selection) -> list[Path]:
    """Crate directories of the completed runs a selection matches, in index order.

    A path selection returns the crate itself or every run crate below the directory.

    Raises
    ------
    SelectionError
        If nothing matches.
    """
    if selection.path is not None:
        path = selection.path
        if (path / METADATA_FILE).is_file():
            return [path.resolve()]
        found = sorted(p.parent.resolve() for p in path.rglob(METADATA_FILE)
                       if (p.parent / "run_spec.json").is_file())
        if not found:
            raise SelectionError(f"no run crates in {path}", field="SEL")
        return found
    records: list[RunRecord] = store.select(status="completed", **selection.filters)
    for column, prefixes in selection.prefixes.items():
        records = [r for r in records
                   if any(str(getattr(r, column)).startswith(p) for p in prefixes)]
    if not records:
        raise SelectionError(f"selection {selection.text!r} matches no completed run in "
                             f"{store.root}", field="SEL")
    return [store.crate_dir(r) for r in records]
