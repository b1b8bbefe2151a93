"""Soak: many runs through each remote target with faults injected at random (seeded).

Every run goes through the dispatcher (``run_experiment``, as ``repro run`` does) to the local
UNICORE server (native and batch mode) or the NMPI queue, behind
:class:`~tests.servers.fault_proxy.FaultProxy`, which answers 5xx, drops connections, hangs,
declares outages and fails login-node ``squeue`` probes on a seeded schedule. Asserted:

* no lost run: every run ends completed, or failed with a reason (a failed crate with an
  error message, or an error with a message);
* no duplicate job: at most one live job per run on the server;
* no orphan job: after the soak, no job on the server (or in Slurm) is still queued or
  running, and no finished job exists whose run left no crate and no error naming it;
* no token in any file of the store or in anything printed.

``REPRO_SOAK_RUNS`` (default 1, for CI) sets the runs per target, ``REPRO_SOAK_SEED`` the
schedule, ``REPRO_SOAK_WORKERS`` the runs in flight at once, ``REPRO_SOAK_FAULT_SCALE`` a
factor on every fault rate (0: no faults), ``REPRO_SOAK_DEADLINE_S`` a time after which no
new run starts, ``REPRO_SOAK_PROGRESS`` a file that gets a line per run. The counts are
always printed.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from repro.config.experiment import load_experiment
from repro.execution.dispatch import run_experiment
from repro.records.store import Store
from repro.targets.tables import make_target
from tests.servers.fault_proxy import FaultPlan, FaultProxy

pytestmark = [pytest.mark.slow, pytest.mark.infra]

RUNS = int(os.environ.get("REPRO_SOAK_RUNS", "1"))
SEED = int(os.environ.get("REPRO_SOAK_SEED", "20261203"))
WORKERS = int(os.environ.get("REPRO_SOAK_WORKERS", "3"))
SCALE = float(os.environ.get("REPRO_SOAK_FAULT_SCALE", "1"))
#: File that gets one line per finished run (to follow a long soak while it runs).
PROGRESS = os.environ.get("REPRO_SOAK_PROGRESS", "")
#: Start no new run after this many seconds (0: no limit); the counts cover the runs started.
DEADLINE_S = float(os.environ.get("REPRO_SOAK_DEADLINE_S", "0"))
NETWORK = Path(__file__).resolve().parents[1] / "nmpi" / "networks" / "tiny.py"
#: Fault probabilities per request; high enough that most runs meet several faults.
RATES = {k: v * SCALE for k, v in {
    "5xx": 0.04, "5xx_after": 0.02, "drop": 0.03, "drop_after": 0.02, "hang": 0.01,
    "outage": 0.004, "probe_fail": 0.3}.items()}
#: Lifetime of the soak's UNICORE token: longer than any soak (the fixture's lives an hour).
SOAK_TOKEN_LIFETIME_S = 24 * 3600.0
UNICORE_ACTIVE = ("STAGINGIN", "READY", "QUEUED", "RUNNING", "STAGINGOUT")
NMPI_ACTIVE = ("submitted", "validated", "running")


@dataclass
class SoakCounts:
    """What the soak saw for one target."""

    target: str
    runs: int = 0
    completed: int = 0
    failed_with_reason: int = 0
    lost: int = 0
    duplicates: int = 0
    orphans: int = 0
    token_leaks: int = 0
    failed_but_site_succeeded: int = 0
    injected: Counter = field(default_factory=Counter)
    reasons: Counter = field(default_factory=Counter)
    lost_details: list[str] = field(default_factory=list)
    orphan_details: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def line(self) -> str:
        """The printed summary."""
        faults = ", ".join(f"{k} {v}" for k, v in sorted(self.injected.items()))
        return (f"soak {self.target}: runs {self.runs}, faults injected: {faults or 'none'}; "
                f"completed {self.completed}, failed-with-reason {self.failed_with_reason}, "
                f"lost {self.lost}, duplicates {self.duplicates}, orphans {self.orphans}, "
                f"token leaks {self.token_leaks}; failed although the site finished the job "
                f"{self.failed_but_site_succeeded} ({self.seconds:.0f} s)")


def _experiment(directory: Path) -> Path:
    directory.mkdir(parents=True)
    shutil.copy(NETWORK, directory / "network.py")
    (directory / "experiment.toml").write_text(
        '[experiment]\nname = "soak"\nscript = "network.py"\nduration = 100.0\n'
        'record = ["cells"]\n\n[params]\nn = 10\nrate = 2000.0\nweight = 0.5\n')
    return directory


def soak(tmp_path: Path, name: str, table: dict[str, Any], proxy: FaultProxy,
         secrets: list[str], capsys: pytest.CaptureFixture) -> tuple[SoakCounts, dict[str, str]]:
    """Run RUNS seeds one ``run_experiment`` each (WORKERS at once); classify every run.

    Returns the counts and ``{run id: status}`` of the runs that left a crate.
    """
    experiment = load_experiment(_experiment(tmp_path / "experiment"))
    store_root = tmp_path / "store"
    counts = SoakCounts(name)
    crated: dict[str, str] = {}
    lock = threading.Lock()
    messages: list[str] = []
    started = time.monotonic()

    def note(seed: int, outcome: str) -> None:
        if PROGRESS:
            with open(PROGRESS, "a", encoding="utf-8") as handle:
                handle.write(f"{time.strftime('%H:%M:%S')} {name} seed {seed}: {outcome}\n")

    def one(seed: int) -> None:
        if DEADLINE_S and time.monotonic() - started > DEADLINE_S:
            return
        with lock:
            counts.runs += 1
        target = make_target(name, table, None)
        try:
            (outcome,) = run_experiment(experiment, [target], [seed], Store(store_root),
                                        force=True)
        except Exception as exc:  # noqa: BLE001 - a run that ends in an error is classified
            text = f"{type(exc).__name__}: {exc}"
            note(seed, f"error {text[:300]}")
            with lock:
                messages.append(text)
                if str(exc).strip():
                    counts.failed_with_reason += 1
                    counts.reasons[f"error {type(exc).__name__}"] += 1
                else:
                    counts.lost += 1
                    counts.lost_details.append(f"seed {seed}: {text}")
            return
        record = outcome.record
        note(seed, f"{record.status} {str(record.extra.get('error') or '')[:300]}")
        with lock:
            crated[record.run_id] = record.status
            if record.status == "completed":
                counts.completed += 1
            elif str(record.extra.get("error") or "").strip():
                counts.failed_with_reason += 1
                counts.reasons[str(record.extra["error"])[:90]] += 1
                messages.append(str(record.extra["error"]))
            else:
                counts.lost += 1
                counts.lost_details.append(f"seed {seed}: failed crate without a reason")

    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(one, range(1, RUNS + 1)))
    counts.seconds = time.monotonic() - started
    counts.injected = Counter(proxy.plan.injected)
    printed = capsys.readouterr()
    haystacks = [printed.out, printed.err, *messages]
    for path in store_root.rglob("*"):
        if path.is_file():
            haystacks.append(path.read_bytes().decode("utf-8", "replace"))
    counts.token_leaks = sum(secret in text for secret in secrets for text in haystacks)
    return counts, crated


def _run_of(tags: list[str]) -> str | None:
    return next((t.removeprefix("repro-run-") for t in tags if t.startswith("repro-run-")),
                None)


def _check_jobs(counts: SoakCounts, jobs: list[dict[str, Any]], crated: dict[str, str],
                active: tuple[str, ...], live: Callable[[dict[str, Any]], bool],
                succeeded: str) -> None:
    """Count duplicates (live jobs per run > 1) and orphans (active, or owned by no run)."""
    per_run: Counter[str] = Counter()
    for job in jobs:
        run = _run_of(job.get("tags") or [])
        if run in crated and crated[run] == "failed" and job["status"] == succeeded:
            counts.failed_but_site_succeeded += 1
        if job["status"] in active:
            counts.orphans += 1
            counts.orphan_details.append(f"job {job['id']} still {job['status']} (run {run})")
            continue
        if run is None or not live(job):
            continue
        per_run[run] += 1
        if run not in crated:
            counts.orphans += 1
            counts.orphan_details.append(f"job {job['id']} ({job['status']}) of run {run}, "
                                         "which left no crate")
    counts.duplicates = sum(n - 1 for n in per_run.values() if n > 1)


def _report(counts: SoakCounts, capsys: pytest.CaptureFixture) -> None:
    with capsys.disabled():
        print(f"\n{counts.line()}")
        for reason, n in counts.reasons.most_common(8):
            print(f"    {n} x {reason}")
        for detail in counts.lost_details[:5] + counts.orphan_details[:5]:
            print(f"    ! {detail}")


def _assert_clean(counts: SoakCounts) -> None:
    assert counts.completed + counts.failed_with_reason + counts.lost == counts.runs
    assert counts.lost == 0, counts.lost_details
    assert counts.duplicates == 0
    assert counts.orphans == 0, counts.orphan_details
    assert counts.token_leaks == 0


def _unicore_plan(seed: int) -> FaultPlan:
    return FaultPlan(seed, RATES, hang_s=2.0, outage_s=3.0, skip=("/__admin__",))


@pytest.mark.parametrize("mode", ["native", "batch"])
def test_unicore_soak(unicore_site, unicore_token, slurm_cluster, tmp_path, capsys, monkeypatch,
                     mode):
    # the fixture's token lives an hour; a long soak must not end in expiry (a real user would
    # refresh it), so the soak's token outlives the soak
    token = unicore_site.token(lifetime=SOAK_TOKEN_LIFETIME_S)
    monkeypatch.setenv("UNICORE_TOKEN", token)
    upstream = unicore_site.http_url.split("/DEMO-SITE")[0]
    before = {j["id"] for j in unicore_site.jobs()}
    with FaultProxy(upstream, _unicore_plan(SEED + (mode == "batch"))) as proxy:
        table = {"kind": "unicore", "url": proxy.url + "/DEMO-SITE/rest/core", "mode": mode,
                 "module": "ebrains/24.10", "poll_interval": 0.2, "poll_max": 1.0,
                 "slurm_check": 1.0, "time": 5, "mpi": "pmix", "parallel": 1}
        counts, crated = soak(tmp_path, f"uc-{mode}", table, proxy, [unicore_token, token],
                              capsys)
    jobs = [j for j in unicore_site.jobs() if j["id"] not in before
            and any(t.startswith("repro-run-") for t in j["tags"])]
    _check_jobs(counts, jobs, crated, UNICORE_ACTIVE, live=lambda job: True,
                succeeded="SUCCESSFUL")
    if mode == "batch":
        queued = slurm_cluster.run("squeue", "-h", "-o", "%i %j %T").stdout.strip()
        for line in filter(None, queued.splitlines()):
            if "repro-" in line:
                counts.orphans += 1
                counts.orphan_details.append(f"Slurm job still queued/running: {line}")
    _report(counts, capsys)
    _assert_clean(counts)


def test_nmpi_soak(nmpi_queue, nmpi_user, tmp_path, capsys):
    plan = FaultPlan(SEED + 7, {k: v for k, v in RATES.items() if k != "probe_fail"},
                     hang_s=2.0, outage_s=3.0, skip=("/_admin/",))
    with FaultProxy(nmpi_queue.url, plan) as proxy:
        table = {"kind": "nmpi", **nmpi_queue.target_options(
            url=proxy.url, user_info_url=proxy.url + "/userinfo", preflight=False)}
        counts, crated = soak(tmp_path, "nmpi-soak", table, proxy, [nmpi_queue.token], capsys)
    jobs = nmpi_queue.state()["jobs"]
    _check_jobs(counts, jobs, crated, NMPI_ACTIVE,
                live=lambda job: job["status"] != "removed", succeeded="finished")
    _report(counts, capsys)
    _assert_clean(counts)
