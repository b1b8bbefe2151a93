"""The root command group that imports a command's module only when that command runs.

Importing every command module at start costs the whole dependency tree (RO-Crate, Neo,
Elephant, the report, ...) on every invocation, even for a request the resource guard
refuses in a millisecond. :class:`LazyGroup` knows each command from a table (name ->
module, short help): ``repro --help`` lists them without importing any, and ``repro NAME``
imports only ``NAME``'s module and asks its ``register(app)`` to add its commands.
"""

from __future__ import annotations

import importlib
import textwrap
from collections.abc import Mapping
from difflib import get_close_matches
from typing import Any

import typer
import typer.main
from typer.core import TyperGroup


class LazyGroup(TyperGroup):
    """A :class:`typer.core.TyperGroup` whose subcommands come from a table, loaded on use.

    A subclass sets the class attribute :attr:`table`: command name -> (module, short help).
    """

    table: Mapping[str, tuple[str, str]] = {}

    def list_commands(self, ctx: Any) -> list[str]:
        """Every command of the table, in table order (nothing is imported)."""
        return [*self.table, *(n for n in self.commands if n not in self.table)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        """The command ``cmd_name``, importing its module on first use (None if unknown)."""
        if cmd_name not in self.commands and cmd_name in self.table:
            self.load(self.table[cmd_name][0])
        return self.commands.get(cmd_name)

    def load(self, module_name: str) -> None:
        """Import ``module_name`` and add every command its ``register(app)`` declares."""
        module = importlib.import_module(module_name)
        app = typer.Typer(rich_markup_mode=None, add_completion=False)
        module.register(app)
        for name, command in typer.main.get_group(app).commands.items():
            self.commands.setdefault(name, command)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """The ``Commands`` section of ``--help``, from the table's short helps."""
        if not self.table:
            return
        limit = formatter.width - 6 - max(len(name) for name in self.table)
        rows = [(name, textwrap.shorten(text, limit, placeholder="..."))
                for name, (_, text) in self.table.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        """Resolve as click does; an unknown name is answered with the closest table names."""
        try:
            return super().resolve_command(ctx, args)
        except Exception as exc:  # typer's own copy of click's UsageError
            message = getattr(exc, "message", None)
            if isinstance(message, str) and args and "Did you mean" not in message:
                matches = get_close_matches(args[0], list(self.table))
                if matches:
                    exc.message = (f"{message.rstrip('.')}. Did you mean "  # type: ignore
                                   f"{', '.join(repr(m) for m in matches)}?")
            raise
