"""The ``repro`` command: one entry point, one module per group of subcommands.

Every module ``repro/cli/<name>.py`` that defines ``register(app)`` adds its commands; the
table :data:`COMMANDS` names the module and short help of each command, so that a command's
module (and its dependencies) is imported only when that command runs and ``repro --help``
imports none (tests/foundation/test_cli_options.py keeps the table complete and true).
"""

from __future__ import annotations

import signal
import sys

import typer

from repro import __version__
from repro.cli.lazy import LazyGroup
from repro.errors import ReproError

#: Command name -> (module that registers it, short help shown by ``repro --help``).
COMMANDS: dict[str, tuple[str, str]] = {
    "campaign": ("repro.cli.campaign", "Run an experiment on all its targets, compare each "
                                       "target with the first, report."),
    "run": ("repro.cli.run", "Run an experiment on every target for every seed and record "
                             "one crate per run."),
    "compare": ("repro.cli.compare", "Judge whether candidate runs match baseline runs "
                                     "within tolerance."),
    "regress": ("repro.cli.compare", "CI regression gate between two run sets (e.g. two ESD "
                                     "releases)."),
    "drift": ("repro.cli.compare", "Classify environment drift between runs of the same "
                                   "model."),
    "calibrate": ("repro.cli.compare", "Derive R thresholds R*(k) from a target compared "
                                       "with itself on disjoint seed sets."),
    "verify": ("repro.cli.crates", "Recompute the sha256 of every file a crate records; "
                                   "name each file that differs."),
    "crates": ("repro.cli.crates", "List and inspect the runs in the store."),
    "report": ("repro.cli.report", "Write the HTML validation report of a campaign into its "
                                   "crate."),
    "publish": ("repro.cli.report", "Package a campaign with all its run crates as one "
                                    "validated zip, optionally deposit it."),
    "targets": ("repro.cli.targets", "List execution targets and run their pre-flight "
                                     "checks."),
    "containers": ("repro.cli.containers", "Push SIF images to an OCI registry (ORAS), "
                                           "resolve tags to digests, pull by digest."),
    "nest": ("repro.cli.nest", "NEST builds: NEST with MPI from its source distribution."),
    "nestml": ("repro.cli.nestml", "NESTML custom neuron models: build and inspect."),
}



class ReproGroup(LazyGroup):
    """The ``repro`` group: the commands of :data:`COMMANDS`."""

    table = COMMANDS


app = typer.Typer(
    cls=ReproGroup,
    name="repro",
    help=(
        "Run one spiking-network experiment on several targets, record every run as a "
        "validated RO-Crate, and compare the results with seed-aware statistics.\n\n"
        "\b\n"
        "Typical session:\n"
        "  repro campaign experiments/balanced_random   NEST + emulator, compare, report\n"
        "  repro run experiments/balanced_random -s 1-5 just the runs (cached runs are reused)\n"
        "  repro compare -e balanced_random -t local,spinnaker_emulator\n"
        "  repro crates ls                              what the store holds\n"
        "  repro verify <crate or run id>               recompute every checksum\n\n"
        "Every command has --help with examples."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"repro {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """Root options."""


#: The signal that interrupted the command (SIGINT unless SIGTERM arrived).
_interrupted_by = {"signal": signal.SIGINT}


def _on_signal(signum: int, _frame: object) -> None:
    """SIGINT and SIGTERM stop a command: submitted runs are cancelled on the way out."""
    _interrupted_by["signal"] = signal.Signals(signum)
    raise KeyboardInterrupt


def _interrupted(exc: BaseException | None = None) -> None:
    """Say that the command was interrupted (and what could not be cancelled); exit 128+N."""
    number = _interrupted_by["signal"]
    from repro.cli.common import err_console

    notes = [n for n in getattr(exc, "__notes__", []) if isinstance(n, str)]
    err_console.print(f"interrupted ({number.name}): submitted runs were cancelled; no "
                      "partial crate kept" + "".join(f"; {n}" for n in notes), highlight=False)
    sys.exit(128 + int(number))


def main() -> None:
    """Console entry point: run the app, turning repro errors into one clear line."""
    # Installed explicitly: a process started in the background of a script (or by a test
    # runner that was) inherits SIGINT *ignored*, and Python then never raises
    # KeyboardInterrupt, so `kill -INT` would leave the run and its remote jobs going.
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, _on_signal)
    try:
        code = app(standalone_mode=False)
    except ReproError as exc:
        from repro.cli.common import report_error

        report_error(exc)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt as exc:
        _interrupted(exc)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(1)
    except Exception as exc:
        # Usage errors: typer ships its own copy of click, so test the interface, not a class.
        if callable(getattr(exc, "show", None)) and isinstance(getattr(exc, "exit_code", None),
                                                                int):
            exc.show()
            sys.exit(exc.exit_code)
        raise
    if code == 130:  # click turns Ctrl-C into Exit(130) and returns it without standalone mode
        _interrupted()
    if isinstance(code, int) and code:
        sys.exit(code)
