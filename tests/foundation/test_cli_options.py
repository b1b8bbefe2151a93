"""The options several commands share are spelled the same way in every command; the
command table the CLI starts from is complete and true."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import typer.main
from typer.testing import CliRunner

import repro.cli
from repro.cli import COMMANDS, app
from repro.errors import InputError
from tests.foundation.helpers import REFERENCE

#: Short flag -> the one long option it may mean, in any command.
SHORT = {"-t": "--targets", "-s": "--seeds", "-p": "--profile", "-e": "--experiment"}


def _commands(group: click.Group, prefix: str = "") -> dict[str, click.Command]:
    """Every leaf command under ``group`` (loading the lazily imported ones)."""
    found = {}
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        if hasattr(command, "list_commands"):
            found.update(_commands(command, f"{prefix}{name} "))
        else:
            found[f"{prefix}{name}"] = command
    return found


ROOT = typer.main.get_command(app)
LEAVES = _commands(ROOT)


def test_short_flags_mean_one_option_everywhere() -> None:
    wrong = [f"{name}: {flag} is {'/'.join(p.opts)}"
             for name, command in LEAVES.items() for p in command.params
             for flag in p.opts if flag in SHORT and SHORT[flag] not in p.opts]
    assert LEAVES and not wrong, wrong


def test_shared_options_have_one_declaration() -> None:
    helps: dict[str, set[str]] = {}
    for command in LEAVES.values():
        for p in command.params:
            for long in {"--json", "--targets", "--seeds", "--profile", "--experiment"} & set(
                    p.opts):
                helps.setdefault(long, set()).add(p.help or "")
    assert set(helps) == {"--json", "--targets", "--seeds", "--profile", "--experiment"}
    assert all(len(texts) == 1 for texts in helps.values()), helps


def test_the_command_table_names_every_command_with_its_own_short_help() -> None:
    context = click.Context(ROOT)
    package = Path(repro.cli.__file__).parent
    registering = {f"repro.cli.{path.stem}" for path in package.glob("*.py")
                   if "\ndef register(" in path.read_text(encoding="utf-8")}
    assert {module for module, _ in COMMANDS.values()} == registering
    assert set(ROOT.commands) == set(COMMANDS)  # loading every module added nothing else
    for name, (module, short) in COMMANDS.items():
        command = ROOT.get_command(context, name)
        own = " ".join((command.help or "").split("\n\n")[0].split())
        assert own.startswith(short.rstrip(".")), (name, short, own)
        assert command.callback is None or command.callback.__module__ == module


def test_help_lists_every_command_without_importing_any() -> None:
    shown = subprocess.run([sys.executable, "-X", "importtime", "-m", "repro", "--help"],
                           capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"},
                           timeout=60, check=True)
    imported = {line.rsplit("|", 1)[-1].strip() for line in shown.stderr.splitlines()}
    assert not {module for module, _ in COMMANDS.values()} & imported
    assert not {"repro.cli.common", "rich.console", "pydantic"} & imported
    for name, (_, short) in COMMANDS.items():
        assert f"  {name} " in shown.stdout and short[:40] in shown.stdout, name


def _crates_ls(store: Path, *args: str):
    """``repro crates ls ARGS --store STORE`` in this process (stdout and stderr apart)."""
    return CliRunner().invoke(app, ["crates", "ls", *args, "--store", str(store)])


def test_old_target_spelling_still_filters_with_a_note(tmp_path: Path) -> None:
    done = _crates_ls(tmp_path, "--target", "local", "--json")
    assert done.exit_code == 0, done.stderr
    assert "--target is deprecated" in done.stderr and done.stdout.strip() == "[]"


def test_experiment_option_takes_a_name_or_a_file(tmp_path: Path) -> None:
    by_name = _crates_ls(tmp_path, "-e", "balanced_random", "--json")
    by_file = _crates_ls(tmp_path, "-e", str(REFERENCE / "experiment.toml"), "--json")
    missing = _crates_ls(tmp_path, "-e", str(tmp_path / "none.toml"))
    assert by_name.exit_code == by_file.exit_code == 0, by_file.stderr
    assert isinstance(missing.exception, InputError) and "none.toml" in str(missing.exception)
