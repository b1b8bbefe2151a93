"""Dispatch one experiment to every (target, seed): cache lookup, submit, track, fetch, record.

Nothing here knows how a particular target works; everything goes through the
:class:`~repro.targets.base.Target` interface.
"""

from __future__ import annotations

import contextlib
import importlib
import secrets
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from repro.config.experiment import Experiment, noise_seed
from repro.config.hashes import model_hash, request_key, run_key
from repro.errors import ReproError, SelectionError
from repro.execution.bundle import build_bundle
from repro.execution.guard import check_request, wall_limit
from repro.records.store import RunRecord, Store
from repro.site.clock import utc_now
from repro.site.envinfo import environment_digest, sha256_file
from repro.site.files import ENVIRONMENT, RESULT, read_json, recorded_spikes, run_completed
from repro.site.runspec import RunSpec
from repro.targets.base import JobHandle, JobState, JobStatus, RunBundle, Target
from repro.targets.polling import PollSchedule

if TYPE_CHECKING:  # imported where needed: NESTML is rare and heavy to import
    from repro.nestml.integration import NestmlInputs

#: Progress callback: ``progress(event, **info)`` with events
#: ``planned`` (total=), ``cached`` / ``submitted`` / ``finished`` (target=, seed=, ...).
Progress = Callable[..., None]

#: Where a replayed frozen-input file sits in a run bundle.
FROZEN_INPUT_PATH = "frozen/frozen_input.npz"
POLL_START_S = 0.05
POLL_MAX_S = 5.0
#: On an interrupt, how long cancelling every submitted job may take in all (they are
#: cancelled in parallel; a site that does not answer in time is named in the message).
CANCEL_BUDGET_S = 6.0


@dataclass
class RunOutcome:
    """What happened to one (target, seed) pair."""

    target: str
    seed: int
    record: RunRecord
    cached: bool = False
    notes: list[str] = field(default_factory=list)
    noise_seed: int | None = None

    @property
    def ok(self) -> bool:
        """True for a completed (or cached completed) run."""
        return self.record.status == "completed"


@dataclass
class _Pending:
    target: Target
    seed: int
    run_id: str
    request_key: str
    expected_digest: str | None
    noise_seed: int | None = None
    frozen: str | None = None
    frozen_file: Path | None = None
    bundle: RunBundle | None = None
    handle: JobHandle | None = None
    submitted_at: float = 0.0
    running_since: float | None = None
    poll: PollSchedule = field(default_factory=lambda: PollSchedule(POLL_START_S, POLL_MAX_S))


def new_run_id(target: str, seed: int, replicate: int = 0) -> str:
    """Sortable, unique run identifier: UTC time, target, seed (and noise replicate), suffix."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    noise = f"n{replicate}" if replicate else ""
    return f"{stamp}-{target}-s{seed}{noise}-{secrets.token_hex(3)}"


def make_spec(experiment: Experiment, target: Target, seed: int, model: str,
              noise: int | None = None) -> RunSpec:
    """The run spec for one (target, seed, noise seed) of an experiment."""
    spec = RunSpec(
        experiment=experiment.name, mode=experiment.mode, script=experiment.script.name,
        backend=target.backend, seed=seed, params=dict(experiment.params),
        duration_ms=experiment.duration_ms or 0.0, record=list(experiment.record),
        model_hash=model, script_args=list(experiment.script_args), noise_seed=noise)
    return target.prepare(spec)


def run_experiment(experiment: Experiment, targets: list[Target], seeds: list[int],
                   store: Store, *, force: bool = False, progress: Progress | None = None,
                   replicates: list[int] | None = None, export_frozen: bool = False,
                   frozen_inputs: dict[int, Path] | None = None) -> list[RunOutcome]:
    """Run ``experiment`` on every target for every seed; return one outcome per run.

    Each connectivity seed runs once per noise replicate (``replicates``, default
    ``range(experiment.noise_seeds)``; replicate 0 is the plain seeded run, see
    :func:`repro.config.experiment.noise_seed`). ``export_frozen`` makes every run export
    its input spike trains and connectivity (``frozen_input.npz``); ``frozen_inputs`` maps a
    connectivity seed to the frozen-input file its runs replay (see
    :mod:`repro.site.frozen`).

    Completed runs with an equal run key (or, for targets that cannot report their
    environment in advance, an equal request key) are reused unless ``force``. A run that
    fails still yields a complete crate with ``FailedActionStatus``. On Ctrl-C every
    submitted run is cancelled and no partial crate is left. Unless ``force``, the request
    first passes the resource guard (:func:`repro.execution.guard.check_request`); a run
    that exceeds its target's wall limit is cancelled and recorded as failed.
    """
    if not force:
        check_request(experiment, targets, seeds)
    notify = progress or (lambda *_a, **_k: None)
    model = model_hash(experiment)
    outcomes: list[RunOutcome] = []
    queue: list[_Pending] = []
    wanted = list(range(experiment.noise_seeds)) if replicates is None else list(replicates)
    runs = [(seed, r, noise_seed(seed, r)) for seed in seeds for r in wanted]
    notify("planned", total=len(targets) * len(runs))
    for target in targets:
        probed = target.probe_environment()
        expected = environment_digest(probed) if probed else None
        identity = target.identity()
        for seed, replicate, noise in runs:
            frozen_file = (frozen_inputs or {}).get(seed)
            if frozen_inputs is not None and frozen_file is None:
                raise SelectionError(f"no frozen input for connectivity seed {seed}")
            frozen = (f"replay:{sha256_file(frozen_file)}" if frozen_file is not None
                      else "export" if export_frozen else None)
            req = request_key(model, identity, seed, noise, frozen)
            if not force:
                hit = (store.cached(run_key=run_key(model, identity, seed, expected, noise,
                                                    frozen))
                       if expected else store.cached(request_key=req))
                if hit is not None:
                    outcomes.append(RunOutcome(target.name, seed, hit, cached=True,
                                               noise_seed=noise))
                    notify("cached", target=target.name, seed=seed, run_id=hit.run_id)
                    continue
            queue.append(_Pending(target, seed, new_run_id(target.name, seed, replicate), req,
                                  expected, noise, frozen, frozen_file))
    if queue:
        nestml = _prepare_nestml(experiment, notify)
        outcomes.extend(_execute(experiment, queue, store, model, notify, nestml))
    order = {(t.name, s, n): i for i, (t, (s, _, n)) in enumerate(
        (t, run) for t in targets for run in runs)}
    return sorted(outcomes, key=lambda o: order[(o.target, o.seed, o.noise_seed)])


def _execute(experiment: Experiment, queue: list[_Pending], store: Store, model: str,
             notify: Progress, nestml: NestmlInputs | None = None) -> list[RunOutcome]:
    scratch = store.scratch_dir()
    waiting = list(queue)
    running: list[_Pending] = []
    outcomes: list[RunOutcome] = []
    # Crate writing needs ro-crate-py, a slow import: load it while the first run computes.
    threading.Thread(target=_import_quietly, args=("rocrate.rocrate",), daemon=True).start()
    try:
        while waiting or running:
            for target in {id(p.target): p.target for p in waiting}.values():
                busy = sum(1 for p in running if p.target is target)
                free = target.max_concurrent - busy
                batch = [p for p in waiting if p.target is target][:max(0, free)]
                if batch:
                    with interrupts_deferred():  # a job the site accepted gets its handle
                        running.extend(batch)
                        _submit(experiment, batch, scratch, model, notify, nestml)
                    waiting = [p for p in waiting if p not in batch]
            now = time.monotonic()
            for pending in [p for p in running if p.poll.due(now)]:
                status = _over_wall_limit(pending) or _poll(pending)
                if status.state.terminal:
                    running.remove(pending)
                    outcome = _collect(experiment, pending, status, store, model)
                    outcomes.append(outcome)
                    notify("finished", target=pending.target.name, seed=pending.seed,
                           run_id=pending.run_id, status=outcome.record.status,
                           message=status.message)
            if running:
                time.sleep(max(0.0, min(p.poll.next_at for p in running) - time.monotonic()))
    except BaseException as exc:
        unconfirmed = cancel_all([p for p in running if p.handle is not None])
        if unconfirmed:
            exc.add_note("not confirmed cancelled (check the site): " + ", ".join(unconfirmed))
        raise
    finally:
        for pending in queue:
            shutil.rmtree(scratch / pending.run_id, ignore_errors=True)
    return outcomes


def _import_quietly(name: str) -> None:
    """Import ``name`` now so a later import is free; failures surface at that later import."""
    with contextlib.suppress(Exception):
        importlib.import_module(name)


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM until the block ends, then deliver them.

    Submission is the one place where an interrupt would orphan a job: the site has accepted
    it (``sbatch`` answered, the UNICORE job exists) but its handle has not reached the
    dispatcher, so the cancel on the way out would miss it. Outside the main thread (where
    signals are never delivered) this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    numbers = (signal.SIGINT, signal.SIGTERM)
    previous = {n: signal.signal(n, lambda number, _frame: held.append(number))
                for n in numbers}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        for number in dict.fromkeys(held):
            signal.raise_signal(number)


def cancel_all(running: list[_Pending], budget_s: float = CANCEL_BUDGET_S) -> list[str]:
    """Cancel every submitted run at once, waiting at most ``budget_s`` in all.

    Returns
    -------
    list of str
        ``target job-id`` of the runs whose cancel failed or did not return in time.
    """
    failed: list[str] = []

    def cancel(pending: _Pending) -> None:
        assert pending.handle is not None
        try:
            pending.target.cancel(pending.handle)
        except Exception as exc:  # noqa: BLE001 - reported, the interrupt goes on
            failed.append(f"{pending.target.name} job {pending.handle.job_id} "
                          f"({type(exc).__name__}: {exc})")

    threads = {threading.Thread(target=cancel, args=(p,), daemon=True): p for p in running}
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + budget_s
    for thread, pending in threads.items():
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive() and pending.handle is not None:
            failed.append(f"{pending.target.name} job {pending.handle.job_id} (no answer "
                          f"within {budget_s:g} s)")
    return failed


def _over_wall_limit(pending: _Pending) -> JobStatus | None:
    """Cancel a run that has been running longer than its wall limit; None if it has not."""
    if pending.running_since is None or pending.handle is None:
        return None
    limit_s, source = wall_limit(pending.target)
    elapsed = time.monotonic() - pending.running_since
    if elapsed <= limit_s:
        return None
    try:
        pending.target.cancel(pending.handle)
        cancelled = "cancelled"
    except Exception as exc:  # noqa: BLE001 - recorded in the failed crate
        cancelled = f"cancelling it failed ({type(exc).__name__}: {exc})"
    return JobStatus(JobState.FAILED, f"stopped by repro: running for {elapsed:.1f} s, over "
                                      f"the wall limit of {limit_s:g} s ({source}); "
                                      f"{cancelled}")


def _submit(experiment: Experiment, batch: list[_Pending], scratch: Path, model: str,
            notify: Progress, nestml: NestmlInputs | None = None) -> None:
    for pending in batch:
        spec = make_spec(experiment, pending.target, pending.seed, model, pending.noise_seed)
        extra = (nestml.apply(spec) if nestml is not None else None) or {}
        spec.frozen_export = pending.frozen == "export"
        if pending.frozen_file is not None:
            spec.frozen_input = FROZEN_INPUT_PATH
            extra[FROZEN_INPUT_PATH] = pending.frozen_file
        pending.bundle = build_bundle(scratch / pending.run_id / "bundle", spec,
                                      experiment.directory, pending.run_id, extra_files=extra)
    handles = batch[0].target.submit_many([p.bundle for p in batch if p.bundle])
    for pending, handle in zip(batch, handles, strict=True):
        pending.handle = handle
        pending.submitted_at = time.monotonic()
        pending.poll = PollSchedule(POLL_START_S, min(POLL_MAX_S, pending.target.poll_max_s))
        pending.poll.next_at = pending.submitted_at + POLL_START_S
        notify("submitted", target=pending.target.name, seed=pending.seed,
               run_id=pending.run_id, job_id=handle.job_id)


def _prepare_nestml(experiment: Experiment, notify: Progress) -> NestmlInputs | None:
    """Build (or take from the cache) the experiment's NESTML artefacts; see repro.nestml.

    Runs before any bundle or crate exists, so a NESTML error leaves nothing behind.
    """
    if not experiment.nestml:
        return None
    from repro.nestml.integration import prepare_experiment

    try:
        inputs = prepare_experiment(experiment, spinnaker=experiment.mode != "script")
    except ReproError as exc:
        if experiment.mode != "script":
            raise
        from repro.site.script_scan import nestml_models

        uses = ", ".join(f"{use.name} ({experiment.script.name}:{use.line}) needs NESTML "
                         f"model {model}" for model, use in nestml_models(experiment.script))
        raise ReproError(f"{uses}; building the NEST module failed, nothing was run: "
                         f"{exc}") from exc
    if inputs is not None:
        module = inputs.module
        notify("nestml", module=module.name, cache_hit=module.cache_hit,
               seconds=module.lookup_seconds, build_seconds=module.build_seconds,
               spinnaker=inputs.spinnaker.status)
    return inputs


def _poll(pending: _Pending) -> JobStatus:
    assert pending.handle is not None
    try:
        status = pending.target.status(pending.handle)
    except Exception as exc:  # noqa: BLE001 - a target that cannot report is a failed run
        status = JobStatus(JobState.FAILED, f"{type(exc).__name__}: {exc}")
    if status.state is JobState.RUNNING and pending.running_since is None:
        pending.running_since = time.monotonic()
    pending.poll.polled(time.monotonic(), changed=False)
    return status


def _collect(experiment: Experiment, pending: _Pending, status: JobStatus, store: Store,
             model: str) -> RunOutcome:
    from repro.records.run_crate import RunFacts, write_run_crate

    assert pending.handle is not None and pending.bundle is not None
    outputs = store.scratch_dir() / pending.run_id / "outputs"
    outputs.mkdir(parents=True, exist_ok=True)
    message = status.message
    try:
        pending.target.fetch(pending.handle, outputs)
    except Exception as exc:  # noqa: BLE001 - recorded in the failed crate
        message = f"{message}; fetching outputs failed: {type(exc).__name__}: {exc}".strip("; ")
    manifest = read_json(outputs / ENVIRONMENT)
    digest = environment_digest(manifest) if manifest else "unknown"
    identity = pending.target.identity()
    notes = []
    if pending.expected_digest and digest not in ("unknown", pending.expected_digest):
        notes.append(f"the environment at {pending.target.name} changed while the run was "
                     "queued; recorded the one the run saw")
    facts = RunFacts(
        run_id=pending.run_id, experiment=experiment.name, target=pending.target.name,
        target_kind=pending.target.kind, site=pending.target.site, seed=pending.seed,
        model_hash=model, run_key=run_key(model, identity, pending.seed, digest,
                                          pending.noise_seed, pending.frozen),
        request_key=pending.request_key, env_digest=digest, target_identity=identity,
        job={**pending.handle.info, **({"option_notes": list(pending.target.notes)}
                                       if pending.target.notes else {})},
        params=dict(pending.bundle.spec.params),
        status_message=message, output_files=dict(pending.target.output_files))
    dest = store.new_run_dir(experiment.name, pending.run_id)
    write_run_crate(dest, outputs, pending.bundle.directory, facts)
    result = read_json(dest / RESULT) or {}
    completed = run_completed(result, dest)
    record = RunRecord(
        run_id=pending.run_id, crate_path=str(dest.relative_to(store.root)),
        experiment=experiment.name, model_hash=model, run_key=facts.run_key,
        request_key=pending.request_key, env_digest=digest, target=pending.target.name,
        target_kind=pending.target.kind, site=pending.target.site, seed=pending.seed,
        status="completed" if completed else "failed",
        created=utc_now(),
        wall_seconds=result.get("timings", {}).get("wall_s"),
        extra={**({"noise_seed": pending.noise_seed} if pending.noise_seed is not None else {}),
               **({"spikes_recorded": False} if completed and not recorded_spikes(result)
                  else {}),
               "job": {k: v for k, v in pending.handle.info.items()
                       if isinstance(v, str | int | float)},
               "error": (result.get("error") or {}).get("message") or (
                   message if not completed else "")})
    store.add(record)
    return RunOutcome(pending.target.name, pending.seed, record, notes=notes,
                      noise_seed=pending.noise_seed)
