"""The store index: many processes creating and writing one new store at once."""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import sys
from pathlib import Path

WRITER = """
import sys
from repro.records.store import RunRecord, Store

store = Store(sys.argv[1])
for i in range(20):
    store.add(RunRecord(
        run_id=f"{sys.argv[2]}-{i}", crate_path="runs/e/x", experiment="e", model_hash="m",
        run_key=f"k{i}", request_key="r", env_digest="d", target="t", target_kind="local",
        site="s", seed=i, status="completed", created="2026-01-01T00:00:00+00:00",
        wall_seconds=None, extra={}))
"""


def test_processes_creating_one_store_at_once_lose_nothing(tmp_path: Path) -> None:
    for trial in range(3):
        root = tmp_path / f"store{trial}"
        writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(root), str(n)],
                                    stderr=subprocess.PIPE, text=True) for n in range(8)]
        errors = [w.communicate(timeout=120)[1] for w in writers]
        assert [w.returncode for w in writers] == [0] * 8, errors
        with sqlite3.connect(root / "index.sqlite") as db:
            assert db.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 160
            assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_store_being_created_by_another_process_is_waited_for(tmp_path: Path) -> None:
    """The index exists but is still in rollback-journal mode, write-locked by its creator."""
    root = tmp_path / "store"
    root.mkdir()
    creator = sqlite3.connect(root / "index.sqlite", isolation_level=None)
    creator.execute("BEGIN IMMEDIATE")
    creator.execute("CREATE TABLE placeholder (x INTEGER)")
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(root), "b"],
                              stderr=subprocess.PIPE, text=True)
    with contextlib.suppress(subprocess.TimeoutExpired):
        writer.wait(timeout=1.5)  # blocked by the creator's lock (or, wrongly, failed at once)
    creator.execute("COMMIT")
    creator.close()
    _, err = writer.communicate(timeout=120)
    assert writer.returncode == 0, err
    with sqlite3.connect(root / "index.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 20
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
