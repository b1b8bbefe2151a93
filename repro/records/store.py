"""The run store: crate directories under ``crates/`` and a SQLite index (WAL) over them.

Layout::

    crates/
      index.sqlite                  run index (rebuildable from the crates)
      runs/<experiment>/<run_id>/   one run crate each
      campaigns/<campaign_id>/      comparison (campaign) crates

Several repro processes may use one store at once: SQLite in WAL mode serialises writers,
and crates are renamed into place only when complete.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from repro.site.files import RESULT, read_json, recorded_spikes

INDEX_FILE = "index.sqlite"
RUNS_DIR = "runs"
CAMPAIGNS_DIR = "campaigns"
DEFAULT_STORE = "crates"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    crate_path TEXT NOT NULL,
    experiment TEXT NOT NULL,
    model_hash TEXT NOT NULL,
    run_key TEXT NOT NULL,
    request_key TEXT NOT NULL,
    env_digest TEXT NOT NULL,
    target TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    site TEXT NOT NULL,
    seed INTEGER NOT NULL,
    status TEXT NOT NULL,
    created TEXT NOT NULL,
    wall_seconds REAL,
    extra TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS runs_model ON runs (model_hash);
CREATE INDEX IF NOT EXISTS runs_run_key ON runs (run_key);
CREATE INDEX IF NOT EXISTS runs_request_key ON runs (request_key);
CREATE INDEX IF NOT EXISTS runs_env ON runs (env_digest);
CREATE INDEX IF NOT EXISTS runs_experiment ON runs (experiment, target, seed);
"""

#: Columns a selection may filter on.
SELECTABLE = ("run_id", "experiment", "model_hash", "run_key", "request_key", "env_digest",
              "target", "target_kind", "site", "seed", "status")


@dataclass(frozen=True)
class RunRecord:
    """One row of the index.

    Attributes
    ----------
    run_id : str
        Unique run identifier (also the crate directory name).
    crate_path : str
        Crate directory relative to the store root.
    status : str
        ``completed`` or ``failed``.
    extra : dict
        Small facts for listings (job ids, populations).
    """

    run_id: str
    crate_path: str
    experiment: str
    model_hash: str
    run_key: str
    request_key: str
    env_digest: str
    target: str
    target_kind: str
    site: str
    seed: int
    status: str
    created: str
    wall_seconds: float | None
    extra: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (for ``--json`` output)."""
        return asdict(self)


class Store:
    """A run store rooted at ``root`` (created on first write).

    Parameters
    ----------
    root : str or Path
        Store directory (``crates/`` by default).
    """

    def __init__(self, root: str | Path = DEFAULT_STORE) -> None:
        self.root = Path(root).resolve()

    @classmethod
    def from_env(cls, root: str | Path | None = None) -> Store:
        """Store at ``root``, else ``$REPRO_STORE``, else ``./crates``."""
        return cls(root or os.environ.get("REPRO_STORE") or DEFAULT_STORE)

    @property
    def runs_dir(self) -> Path:
        """Directory holding run crates."""
        return self.root / RUNS_DIR

    @property
    def campaigns_dir(self) -> Path:
        """Directory holding campaign crates."""
        return self.root / CAMPAIGNS_DIR

    def crate_dir(self, record: RunRecord) -> Path:
        """Absolute crate directory of a record."""
        return self.root / record.crate_path

    def new_run_dir(self, experiment: str, run_id: str) -> Path:
        """Where the crate of a new run goes (not created)."""
        return self.runs_dir / experiment / run_id

    def scratch_dir(self) -> Path:
        """Directory for work in progress; never holds a crate."""
        path = self.root / ".scratch"
        path.mkdir(parents=True, exist_ok=True)
        return path

    @contextmanager
    def _connect(self, *, write: bool = False) -> Iterator[sqlite3.Connection]:
        index = self.root / INDEX_FILE
        if write:
            self.root.mkdir(parents=True, exist_ok=True)
        elif not index.exists():
            connection = sqlite3.connect(":memory:")
            connection.executescript(_SCHEMA)
            try:
                yield connection
            finally:
                connection.close()
            return
        connection = sqlite3.connect(index, timeout=60, isolation_level=None)
        try:
            connection.execute("PRAGMA busy_timeout=60000")
            _ensure_wal(connection)
            connection.executescript(_SCHEMA)
            yield connection
        finally:
            connection.close()

    def add(self, record: RunRecord) -> None:
        """Index a crate that is already in place under the store."""
        row = record.to_dict()
        row["extra"] = json.dumps(record.extra, sort_keys=True, default=str)
        columns = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        with self._connect(write=True) as db:
            db.execute("BEGIN IMMEDIATE")
            db.execute(f"INSERT OR REPLACE INTO runs ({columns}) VALUES ({marks})",
                       tuple(row.values()))
            db.execute("COMMIT")

    def select(self, **filters: Any) -> list[RunRecord]:
        """Records matching every filter; a list value matches any of its items.

        Raises
        ------
        ValueError
            For a filter name that is not a column.
        """
        clauses, values = [], []
        for key, value in filters.items():
            if value is None:
                continue
            if key not in SELECTABLE:
                raise ValueError(f"cannot select runs by {key!r} (use {', '.join(SELECTABLE)})")
            if isinstance(value, list | tuple | set):
                if not value:
                    continue
                clauses.append(f"{key} IN ({', '.join('?' for _ in value)})")
                values.extend(value)
            else:
                clauses.append(f"{key} = ?")
                values.append(value)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        with self._connect() as db:
            db.row_factory = sqlite3.Row
            rows = db.execute(f"SELECT * FROM runs {where} ORDER BY created, run_id",
                              values).fetchall()
        return [self._record(row) for row in rows]

    def get(self, run_id: str) -> RunRecord | None:
        """The record of ``run_id`` (or a unique prefix of it), if any."""
        exact = self.select(run_id=run_id)
        if exact:
            return exact[0]
        with self._connect() as db:
            db.row_factory = sqlite3.Row
            rows = db.execute("SELECT * FROM runs WHERE run_id LIKE ? ESCAPE '\\'",
                              (run_id.replace("%", r"\%").replace("_", r"\_") + "%",)).fetchall()
        return self._record(rows[0]) if len(rows) == 1 else None

    def cached(self, *, run_key: str | None = None, request_key: str | None = None
               ) -> RunRecord | None:
        """Latest completed run with this run key (or request key) whose crate still exists."""
        filters = {"run_key": run_key} if run_key else {"request_key": request_key}
        for record in reversed(self.select(status="completed", **filters)):
            if (self.crate_dir(record) / "ro-crate-metadata.json").is_file():
                return record
        return None

    def find_crate(self, reference: str | Path) -> Path:
        """Resolve a crate path or a run id (prefix) to a crate directory.

        Raises
        ------
        FileNotFoundError
            If nothing matches.
        """
        path = Path(reference)
        if (path / "ro-crate-metadata.json").is_file():
            return path
        record = self.get(str(reference))
        if record is not None:
            return self.crate_dir(record)
        raise FileNotFoundError(f"{reference}: neither a crate directory nor a run id in "
                                f"{self.root}")

    def reindex(self) -> int:
        """Rebuild the index from the crates on disk; return the number of runs found."""
        records = [r for r in (record_from_crate(self, d) for d in
                               sorted(self.runs_dir.glob("*/*")) if d.is_dir()) if r]
        with self._connect(write=True) as db:
            db.execute("BEGIN IMMEDIATE")
            db.execute("DELETE FROM runs")
            db.execute("COMMIT")
        for record in records:
            self.add(record)
        return len(records)

    @staticmethod
    def _record(row: sqlite3.Row) -> RunRecord:
        data = dict(row)
        data["extra"] = json.loads(data["extra"] or "{}")
        return RunRecord(**data)


def _ensure_wal(connection: sqlite3.Connection) -> None:
    """Put the index in WAL mode (persistent), retrying while another process creates it.

    Changing the journal mode can fail with "database is locked" without waiting on the busy
    handler when two processes open a new index at the same moment.
    """
    for attempt in range(100):
        try:
            if connection.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == 99:
                raise
            time.sleep(0.02 * (1 + attempt % 10))


def record_from_crate(store: Store, crate_dir: Path) -> RunRecord | None:
    """Rebuild an index record from a run crate's metadata (None if it is not a run crate)."""
    from repro.records.run_crate import read_metadata

    try:
        graph = read_metadata(crate_dir)
    except Exception:
        return None
    ids = {e.get("name"): e.get("value") for e in graph.values()
           if e.get("@type") == "PropertyValue"}
    action = next((e for e in graph.values() if e.get("@type") == "CreateAction"), None)
    spec_path = crate_dir / "run_spec.json"
    if action is None or "run_key" not in ids or not spec_path.is_file():
        return None
    spec = json.loads(spec_path.read_text())
    completed = action.get("actionStatus", "").endswith("CompletedActionStatus")
    silent = completed and not recorded_spikes(read_json(crate_dir / RESULT) or {})
    return RunRecord(
        run_id=crate_dir.name, crate_path=str(crate_dir.resolve().relative_to(store.root)),
        experiment=spec["experiment"], model_hash=ids["model_hash"], run_key=ids["run_key"],
        request_key=ids.get("request_key", ""), env_digest=ids.get("environment_digest", ""),
        target=spec["target"], target_kind=str(ids.get("target_kind", "")), site=spec["site"],
        seed=int(spec["seed"]), status="completed" if completed else "failed",
        created=action.get("endTime", ""), wall_seconds=None,
        extra={"spikes_recorded": False} if silent else {})
