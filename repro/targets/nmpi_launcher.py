"""The program an NMPI job runs: unpack the run bundle it carries and run the repro harness.

:mod:`repro.targets.nmpi` sends the source of this module as the job's inline ``code``,
followed by a call ``main(PAYLOAD)`` whose payload holds the run bundle as a base64
``.tar.gz`` and its sha256. The platform's runner writes it to ``run.py`` and executes
``python run.py {system}``, with ``{system}`` replaced by the platform's PyNN backend name.

At the site it needs nothing but the standard library (the harness itself needs numpy and
pyNN, which every NMPI platform has). It unpacks the bundle into a temporary directory
outside the job's working directory, so only its results become job outputs; runs the
harness with the backend that ``{system}`` names; writes the outputs to ``repro_output/`` in
the working directory; and, on real SpiNNaker, turns sPyNNaker's provenance database into
``repro_output/provenance.json`` (dropped packets, timer overruns, weight saturation, ...).
Its exit code is the harness's, so a failed run shows as an NMPI job in status ``error``.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

#: Directory (in the job's working directory) that receives the harness outputs.
OUTPUT_DIR = "repro_output"
#: Backend short name of real SpiNNaker hardware and the module the harness imports for it.
HARDWARE_BACKEND = ("spinnaker", "repro_spinnaker_hardware")
#: That module, written into the bundle's site directory: pyNN.spiNNaker plus the facts
#: the harness records (without it the harness would describe the run by NEST's kernel).
HARDWARE_MODULE = '''\
"""pyNN.spiNNaker as the repro harness uses it on SpiNNaker (from the NMPI launcher)."""
from importlib import metadata

import pyNN.spiNNaker as _backend

globals().update({k: v for k, v in vars(_backend).items() if not k.startswith("__")})


def repro_simulator_info():
    """sPyNNaker version and the machine the run was mapped on."""
    facts = {"name": "sPyNNaker", "version": metadata.version("sPyNNaker"),
             "pynn_backend": "pyNN.spiNNaker"}
    try:
        from spynnaker.pyNN.data import SpynnakerDataView as view

        facts["timestep_ms"] = view.get_simulation_time_step_ms()
        facts["time_scale_factor"] = view.get_time_scale_factor()
        machine = view.get_machine()
        facts["machine"] = f"{machine.n_chips} chips, version {view.get_machine_version()}"
    except Exception as exc:  # the run did not get as far as a machine
        facts["machine_error"] = f"{type(exc).__name__}: {exc}"
    return facts
'''
#: ``{system}`` values that mean real SpiNNaker hardware.
SPINNAKER_SYSTEMS = ("spinnaker", "spynnaker", "spinnaker8", "spynnaker8", "pynnspinnaker")
#: Runs the shipped harness with the hardware backend registered beside the shipped ones.
BOOTSTRAP = (
    "import sys\n"
    "from repro.site import runspec\n"
    f"runspec.BACKEND_MODULES[{HARDWARE_BACKEND[0]!r}] = {HARDWARE_BACKEND[1]!r}\n"
    "from repro.site.harness import main\n"
    "main(sys.argv[1:])\n"
)
#: sPyNNaker provenance entries worth a line in the run record.
KEY_COUNTERS = (
    "Times_synaptic_weights_have_saturated",
    "Times_the_input_buffer_lost_packets",
    "Number_of_late_spikes",
    "Times_the_timer_tic_over_ran",
    "Max_number_of_times_timer_tic_over_ran",
    "Times_the_transmission_of_spikes_overran",
    "Dropped_Multicast_Packets",
    "Dropped_Multicast_Packets_via_local_transmission",
)


def backend_for(system: str, known: list[str]) -> str:
    """The harness backend for the platform's ``{system}`` name.

    Raises
    ------
    SystemExit
        If ``system`` names no backend the bundle knows.
    """
    if system in known:
        return system
    squashed = system.lower().replace(".", "").replace("_", "")
    if squashed in SPINNAKER_SYSTEMS:
        return HARDWARE_BACKEND[0]
    raise SystemExit(f"repro launcher: platform system {system!r} is not a backend this run "
                     f"bundle knows ({', '.join(known + [HARDWARE_BACKEND[0]])})")


def unpack(archive: bytes, dest: Path) -> None:
    """Extract a bundle archive, refusing members that are not plain relative files/dirs."""
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        for member in tar.getmembers():
            name = PurePosixPath(member.name)
            if name.is_absolute() or ".." in name.parts or not (member.isfile()
                                                               or member.isdir()):
                raise SystemExit(f"repro launcher: refusing bundle member {member.name!r}")
        tar.extractall(dest, filter="data")


def spynnaker_provenance(search_root: Path) -> dict[str, Any] | None:
    """Totals of sPyNNaker's core and router provenance counters, if a database exists."""
    totals: dict[str, int] = {}
    databases = []
    for path in sorted(search_root.rglob("*.sqlite3")):
        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
                tables = {row[0] for row in db.execute(
                    "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
                rows: list[tuple[str, int]] = []
                if "core_provenance_view" in tables:
                    rows += db.execute("SELECT description, SUM(the_value) FROM "
                                       "core_provenance_view GROUP BY description").fetchall()
                if "router_provenance" in tables:
                    rows += db.execute("SELECT description, SUM(the_value) FROM "
                                       "router_provenance GROUP BY description").fetchall()
        except sqlite3.Error:
            continue
        if rows:
            databases.append(str(path.relative_to(search_root)))
            for description, total in rows:
                totals[description] = totals.get(description, 0) + int(total or 0)
    if not databases:
        return None
    return {"format": "repro.spynnaker-provenance/1", "source": "sPyNNaker provenance database",
            "databases": databases,
            "summary": {name: totals[name] for name in KEY_COUNTERS if name in totals},
            "counters": dict(sorted(totals.items()))}


def main(payload: dict[str, Any]) -> int:
    """Unpack, run the harness, collect provenance; return the harness exit code."""
    system = sys.argv[1] if len(sys.argv) > 1 else "spiNNaker"
    archive = base64.b64decode(payload["bundle"])
    if hashlib.sha256(archive).hexdigest() != payload["sha256"]:
        print("repro launcher: the run bundle does not match its sha256", file=sys.stderr)
        return 2
    out_dir = Path(OUTPUT_DIR).resolve()
    with tempfile.TemporaryDirectory(prefix="repro-bundle-") as tmp:
        work = Path(tmp)
        unpack(archive, work)
        site = work / "site"
        sys.path.insert(0, str(site))
        from repro.site.runspec import BACKEND_MODULES  # the bundle's own copy

        if payload.get("spynnaker_cfg"):  # read by sPyNNaker from its working directory
            (work / "spynnaker.cfg").write_text(payload["spynnaker_cfg"], encoding="utf-8")
        spec_path = work / "run_spec.json"
        spec = json.loads(spec_path.read_text(encoding="utf-8"))
        spec["backend"] = backend_for(system, sorted(BACKEND_MODULES))
        if spec["backend"] == HARDWARE_BACKEND[0]:
            (site / f"{HARDWARE_BACKEND[1]}.py").write_text(HARDWARE_MODULE, encoding="utf-8")
        spec_path.write_text(json.dumps(spec, sort_keys=True, indent=1), encoding="utf-8")
        print(f"repro launcher: run {payload.get('run_id', '?')} of experiment "
              f"{spec.get('experiment')!r}, seed {spec.get('seed')}, on system {system!r} "
              f"(backend {spec['backend']})", flush=True)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [str(site), *filter(None, [os.environ.get("PYTHONPATH")])]),
            "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"}
        code = subprocess.call([sys.executable, "-c", BOOTSTRAP, spec_path.name, str(out_dir)],
                               cwd=work, env=env, stdin=subprocess.DEVNULL)
        provenance = out_dir / "provenance.json"
        if not provenance.exists():
            found = spynnaker_provenance(work)
            if found is not None:
                out_dir.mkdir(parents=True, exist_ok=True)
                provenance.write_text(json.dumps(found, indent=1, sort_keys=True))
    log = out_dir / "harness.log"
    if log.is_file():
        tail = log.read_text(errors="replace").splitlines()[-40:]
        print("repro launcher: last lines of harness.log:", *tail, sep="\n")
    print(f"repro launcher: harness exit code {code}", flush=True)
    return code
