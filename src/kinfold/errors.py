"""Domain errors: user mistakes, reported as one clear line and an exit status, never a traceback.

Every part raises these (or subclasses) for bad input. The CLI maps them to an exit status and the web
to a 4xx page. The message names the file, row, field or setting wherever one is known.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class Location:
    """Where in the user's input a problem is: any of file, row (1-based, header is row 1), field."""

    file: str | Path | None = None
    row: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        parts = []
        if self.file is not None:
            parts.append(str(self.file))
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.field is not None:
            parts.append(f"field '{self.field}'")
        return ", ".join(parts)


class KinfoldError(Exception):
    """A problem the user can fix. `exit_status` is what the CLI exits with."""

    exit_status = 2

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        row: int | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.location = Location(file, row, field)
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = str(self.location)
        return f"{where}: {self.message}" if where else self.message


class ConfigError(KinfoldError):
    """A settings, agreement, framework or schema file is missing or invalid."""

    exit_status = 3


class InputError(KinfoldError):
    """A data file (extract, bundle, mapping) is missing, unreadable or invalid."""

    exit_status = 4


class NotPermitted(KinfoldError):
    """The access decision point refused; the reason is the message."""

    exit_status = 5
