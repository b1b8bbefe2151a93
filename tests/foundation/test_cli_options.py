"""The options several commands share are spelled the same way in every command."""

from __future__ import annotations

from pathlib import Path

import click
import typer.main
from typer.testing import CliRunner

from repro.cli import app
from repro.errors import InputError
from tests.foundation.helpers import REFERENCE

#: Short flag -> the one long option it may mean, in any command.
SHORT = {"-t": "--targets", "-s": "--seeds", "-p": "--profile", "-e": "--experiment"}


def _commands(group: click.Group, prefix: str = "") -> dict[str, click.Command]:
    found = {}
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found.update(_commands(command, f"{prefix}{name} "))
        else:
            found[f"{prefix}{name}"] = command
    return found


COMMANDS = _commands(typer.main.get_command(app))


def test_short_flags_mean_one_option_everywhere() -> None:
    wrong = [f"{name}: {flag} is {'/'.join(p.opts)}"
             for name, command in COMMANDS.items() for p in command.params
             for flag in p.opts if flag in SHORT and SHORT[flag] not in p.opts]
    assert COMMANDS and not wrong, wrong


def test_shared_options_have_one_declaration() -> None:
    helps: dict[str, set[str]] = {}
    for command in COMMANDS.values():
        for p in command.params:
            for long in {"--json", "--targets", "--seeds", "--profile", "--experiment"} & set(
                    p.opts):
                helps.setdefault(long, set()).add(p.help or "")
    assert set(helps) == {"--json", "--targets", "--seeds", "--profile", "--experiment"}
    assert all(len(texts) == 1 for texts in helps.values()), helps


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
