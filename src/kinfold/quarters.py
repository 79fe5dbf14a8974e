"""Calendar quarters as the programme counts them ("2015Q2" = April to June 2015). No Django.

Programme reporting runs on calendar quarters; financial years start in Q2 (April).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import total_ordering

from kinfold.errors import KinfoldError

_PATTERN = re.compile(r"^(\d{4})\s*[Qq]([1-4])$")


@total_ordering
@dataclass(frozen=True)
class Quarter:
    """A calendar quarter. Ordered, hashable, and arithmetic by whole quarters."""

    year: int
    number: int

    def __post_init__(self) -> None:
        if not 1 <= self.number <= 4:
            raise ValueError(f"quarter number must be 1-4, not {self.number}")

    @classmethod
    def parse(cls, text: str) -> Quarter:
        """Parse ``2015Q2`` (case and a space before Q tolerated); KinfoldError if malformed."""
        match = _PATTERN.match(text.strip())
        if not match:
            raise KinfoldError(f"'{text}' is not a quarter; write it like 2015Q2")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def containing(cls, day: date) -> Quarter:
        return cls(day.year, (day.month - 1) // 3 + 1)

    @property
    def index(self) -> int:
        """Quarters since year 0; differences of indexes count quarters between."""
        return self.year * 4 + self.number - 1

    @classmethod
    def from_index(cls, index: int) -> Quarter:
        return cls(index // 4, index % 4 + 1)

    def __add__(self, quarters: int) -> Quarter:
        return Quarter.from_index(self.index + quarters)

    def __sub__(self, quarters: int) -> Quarter:
        return Quarter.from_index(self.index - quarters)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Quarter):
            return NotImplemented
        return self.index < other.index

    @property
    def start(self) -> date:
        return date(self.year, 3 * (self.number - 1) + 1, 1)

    @property
    def end(self) -> date:
        """The last day of the quarter."""
        return (self + 1).start - timedelta(days=1)

    def __str__(self) -> str:
        return f"{self.year}Q{self.number}"


def quarter_range(first: Quarter, count: int) -> list[Quarter]:
    """`count` consecutive quarters starting at `first`."""
    return [first + i for i in range(count)]
