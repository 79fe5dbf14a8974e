"""`kinfold quarter`: a quarter's jobs — `ingest` (from kinfold.ingest) and `identify`.

Subcommands plug in from the parts that own them. Each module named in `QUARTER_COMMAND_MODULES`
defines ``register(subparsers)``, which adds its parser(s) to ``subparsers`` and sets
``parser.set_defaults(run=handler)``, where ``handler(command, options)`` takes this
`KinfoldCommand` (for ``command.stdout``/``stderr``) and the parsed options as a dict. A module
that does not exist yet is skipped, so the parts can land in any order.
"""

from __future__ import annotations

import importlib
from argparse import ArgumentParser
from typing import Any

from kinfold.commands import KinfoldCommand

#: Where `kinfold quarter` subcommands come from, in the order `--help` lists them.
QUARTER_COMMAND_MODULES = ("kinfold.ingest.commands", "kinfold.programme.commands")


class Command(KinfoldCommand):
    help = "a quarter's jobs: ingest partners' extracts, identify families"

    def add_arguments(self, parser: ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        for name in QUARTER_COMMAND_MODULES:
            try:
                module = importlib.import_module(name)
            except ModuleNotFoundError as exc:
                if exc.name != name:
                    raise
                continue
            module.register(actions)

    def handle(self, *args: Any, **options: Any) -> None:
        options["run"](self, options)
