"""The base class for kinfold's management commands: one-line errors and honest exit statuses."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, SystemCheckError

from kinfold.errors import KinfoldError


class KinfoldCommand(BaseCommand):
    """A management command whose user errors print one line and exit non-zero.

    Subclasses raise `KinfoldError` (or its subclasses) for anything the user can fix.
    """

    def execute(self, *args: Any, **options: Any) -> str | None:
        try:
            return super().execute(*args, **options)
        except KinfoldError as exc:
            raise CommandError(str(exc), returncode=exc.exit_status) from exc

    def run_from_argv(self, argv: list[str]) -> None:
        self._called_from_command_line = True
        parser = self.create_parser(argv[0], argv[1])
        options = parser.parse_args(argv[2:])
        cmd_options = vars(options)
        args = cmd_options.pop("args", ())
        try:
            self.execute(*args, **cmd_options)
        except CommandError as exc:
            if options.traceback:
                raise
            if isinstance(exc, SystemCheckError):
                self.stderr.write(str(exc), lambda x: x)
            else:
                self.stderr.write(f"kinfold {argv[1]}: error: {exc}")
            sys.exit(exc.returncode)
        except KeyboardInterrupt:
            self.stderr.write(f"kinfold {argv[1]}: interrupted; the database is as it was")
            sys.exit(130)
