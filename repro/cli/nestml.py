"""``repro nestml``: build an experiment's NESTML models (NEST module and SpiNNaker target)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from repro.cli.common import ExperimentArgument, JsonOption, console, print_json
from repro.config.experiment import load_experiment
from repro.errors import InputError
from repro.nestml.cache import default_cache_dir
from repro.nestml.integration import build_record, prepare_experiment

nestml_app = typer.Typer(help="NESTML custom neuron models: build and inspect.",
                         no_args_is_help=True)


@nestml_app.command("build")
def build(
    experiment: ExperimentArgument,
    cache_dir: Path | None = typer.Option(
        None, "--cache-dir", help="Build cache (default: $REPRO_CACHE_DIR/nestml or "
                                  "~/.cache/repro/nestml).", show_default=False),
    as_json: JsonOption = False,
) -> None:
    """Build (or take from the cache) the NEST module and SpiNNaker target of an experiment.

    This is what `repro run` does before it submits anything; run it alone to check a model.
    A NESTML or compiler error is reported with the .nestml file and line (exit code 2).

    Example:

      repro nestml build experiments/nestml_equivalence
    """
    exp = load_experiment(experiment)
    if not exp.nestml:
        raise InputError("the experiment lists no NESTML files", path=exp.path,
                         field="experiment.nestml")
    inputs = prepare_experiment(exp, cache_dir)
    assert inputs is not None
    if as_json:
        print_json(build_record(inputs.module, inputs.spinnaker))
        return
    module, spinnaker = inputs.module, inputs.spinnaker
    table = Table(title=f"NESTML build of {exp.name}", show_header=False)
    table.add_column("what")
    table.add_column("value", overflow="fold")
    state = (f"cache hit ({module.lookup_seconds * 1000:.0f} ms; built in "
             f"{module.build_seconds:.1f} s)" if module.cache_hit
             else f"built in {module.build_seconds:.1f} s")
    rows = [
        ("NEST module", f"{module.name} ({', '.join(module.models)})"),
        ("build", state),
        ("module hash", module.module_hash),
        ("generated sources hash", module.generated_sources_hash),
        ("toolchain", f"NESTML {module.nestml_version}, NEST {module.nest_version}, "
                      f"g++ {module.compiler_version}"),
        ("SpiNNaker target", f"{spinnaker.status} (NESTML {spinnaker.nestml_version}"
                             f"{', cache hit' if spinnaker.cache_hit else ''})"),
    ]
    if spinnaker.status == "generated":
        rows += [("SpiNNaker sources hash", spinnaker.generated_sources_hash),
                 ("SpiNNaker binary", spinnaker.binary.get("detail", "")),
                 ("virtual board", f"{spinnaker.virtual_board.get('status')}: "
                                   f"{spinnaker.virtual_board.get('detail', '')}")]
        rows += [("missing", part) for part in spinnaker.binary.get("missing", [])]
    elif spinnaker.error:
        rows.append(("SpiNNaker error", spinnaker.error.splitlines()[0]))
    rows.append(("cache", str(cache_dir or default_cache_dir())))
    for what, value in rows:
        table.add_row(what, value)
    console.print(table)
    for warning in module.warnings:
        console.print(f"NESTML warning: {warning}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``repro nestml``."""
    app.add_typer(nestml_app, name="nestml")
