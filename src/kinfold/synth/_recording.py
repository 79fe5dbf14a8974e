"""Recording errors: how a partner's records of a person differ from the truth.

Each error is drawn per row with the partner's rate from the settings ([recording.<partner>]) and
noted in the truth's records.csv, so tests can check rates and linkage can be scored. Errors change
identities and duplicate rows; they never change whether an event happened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from kinfold.synth._borough import Borough
from kinfold.synth._dates import MISSING, ymd
from kinfold.synth._settings import PartnerRecording
from kinfold.synth.names import as_recorded, nicknames_of, strip_accents, variants_of

I64 = NDArray[np.int64]

_KEYBOARD = (
    "qwertyuiop",
    "asdfghjkl",
    "zxcvbnm",
)


def _neighbours() -> dict[str, str]:
    found: dict[str, str] = {}
    for r, row in enumerate(_KEYBOARD):
        for c, key in enumerate(row):
            near = [row[c - 1] if c > 0 else "", row[c + 1] if c + 1 < len(row) else ""]
            for other in (r - 1, r + 1):
                if 0 <= other < len(_KEYBOARD):
                    near.extend(_KEYBOARD[other][max(0, c - 1) : c + 1])
            found[key] = "".join(n for n in near if n)
    return found


_NEAR = _neighbours()


def typo(name: str, rng: np.random.Generator) -> str:
    """`name` with one keying slip: a neighbouring key, a letter dropped, doubled or swapped."""
    if len(name) < 2:
        return name + name
    for _ in range(10):
        i = int(rng.integers(len(name)))
        kind = int(rng.integers(4))
        if kind == 0 and name[i].lower() in _NEAR:
            options = _NEAR[name[i].lower()]
            new = options[int(rng.integers(len(options)))]
            new = new.upper() if name[i].isupper() else new
            result = name[:i] + new + name[i + 1 :]
        elif kind == 1 and len(name) > 2:
            result = name[:i] + name[i + 1 :]
        elif kind == 2:
            result = name[: i + 1] + name[i] + name[i + 1 :]
        elif i + 1 < len(name):
            result = name[:i] + name[i + 1] + name[i] + name[i + 2 :]
        else:
            continue
        if result != name:
            return result
    return name[:-1] if len(name) > 2 else name + name[-1]


def variant(name: str, rng: np.random.Generator) -> str | None:
    """Another spelling of `name` (accents dropped, or a variant spelling); None if it has none."""
    plain = strip_accents(name)
    options = [as_recorded(name, v) for v in variants_of(name)]
    if plain != name:
        options.append(plain)
    options = [o for o in options if o != name]
    if not options:
        return None
    return options[int(rng.integers(len(options)))]


def nickname(name: str, rng: np.random.Generator) -> str | None:
    """A familiar form of `name` (Robert → Bob); None if it has none."""
    options = [as_recorded(name, n) for n in nicknames_of(name)]
    options = [o for o in options if o.lower() != name.lower()]
    if not options:
        return None
    return options[int(rng.integers(len(options)))]


@dataclass
class Recorded:
    """Identities as a partner recorded them, one per row, with the errors applied to each."""

    given: list[str]
    surname: list[str]
    dob: NDArray[np.int32]
    home: NDArray[np.int32]
    covered: dict[str, NDArray[np.bool_]] = field(default_factory=dict)
    errors: list[list[str]] = field(default_factory=list)

    def slice(self, start: int, stop: int) -> Recorded:
        """Rows start..stop."""
        return Recorded(
            self.given[start:stop],
            self.surname[start:stop],
            self.dob[start:stop],
            self.home[start:stop],
            {k: v[start:stop] for k, v in self.covered.items()},
            self.errors[start:stop],
        )


class Recorder:
    """Applies one partner's recording errors to rows about the borough's people."""

    def __init__(self, borough: Borough, rates: PartnerRecording, window: tuple[int, int]) -> None:
        self.borough = borough
        self.rates = rates
        self.stale_quarters, self.old_name_quarters = window

    def record(self, positions: I64, rng: np.random.Generator) -> Recorded:
        """Identities of the people at `positions` as the partner holds them."""
        b = self.borough
        people = b.people
        names = b.names
        n = len(positions)
        recorded = Recorded(
            given=names.given_table[people["given"][positions]].tolist(),
            surname=names.surname_table[people["surname"][positions]].tolist(),
            dob=people["dob"][positions].astype(np.int32).copy(),
            home=b.households["home"][b.household_positions()[positions]].astype(np.int32),
            errors=[[] for _ in range(n)],
        )
        self._stale_address(positions, recorded, rng)
        self._old_names(positions, recorded, rng)
        self._names(recorded, rng)
        self._dates(recorded, rng)
        recorded.covered = {
            name: rng.random(n) < self.rates.covers(name)
            for name in ("address", "nhs_number", "ni_number", "upn", "uprn", "phone", "email")
        }
        for i in np.flatnonzero(~recorded.covered["address"]).tolist():
            recorded.errors[i].append("no_address")
        return recorded

    def _chosen(self, rng: np.random.Generator, error: str, eligible: NDArray[np.bool_]) -> I64:
        draws = rng.random(len(eligible)) < self.rates.rate(error)
        return np.flatnonzero(draws & eligible)

    def _stale_address(self, positions: I64, recorded: Recorded, rng: np.random.Generator) -> None:
        people = self.borough.people
        moved = people["moved"][positions].astype(np.int64)
        previous = people["prev_home"][positions]
        eligible = (moved >= self.borough.q - self.stale_quarters + 1) & (previous >= 0)
        for i in self._chosen(rng, "stale_address", eligible).tolist():
            recorded.home[i] = previous[i]
            recorded.errors[i].append("stale_address")

    def _old_names(self, positions: I64, recorded: Recorded, rng: np.random.Generator) -> None:
        b = self.borough
        people = b.people
        since = b.q - self.old_name_quarters + 1
        surname_changed = (people["surname_changed"][positions] >= since) & (
            people["prev_surname"][positions] >= 0
        )
        given_changed = (people["given_changed"][positions] >= since) & (
            people["prev_given"][positions] >= 0
        )
        chosen = self._chosen(rng, "old_surname", surname_changed | given_changed)
        for i in chosen.tolist():
            if surname_changed[i]:
                recorded.surname[i] = b.names.surnames[people["prev_surname"][positions[i]]]
            if given_changed[i]:
                recorded.given[i] = b.names.given[people["prev_given"][positions[i]]]
            recorded.errors[i].append("old_surname")

    def _names(self, recorded: Recorded, rng: np.random.Generator) -> None:
        n = len(recorded.given)
        everyone = np.ones(n, dtype=bool)
        for i in self._chosen(rng, "nickname", everyone).tolist():
            familiar = nickname(recorded.given[i], rng)
            if familiar is not None:
                recorded.given[i] = familiar
                recorded.errors[i].append("nickname")
        for i in self._chosen(rng, "variant", everyone).tolist():
            self._apply_to_a_name(recorded, i, rng, variant, "variant")
        for i in self._chosen(rng, "typo", everyone).tolist():
            self._apply_to_a_name(recorded, i, rng, typo, "typo")
        for i in self._chosen(rng, "swapped_names", everyone).tolist():
            recorded.given[i], recorded.surname[i] = recorded.surname[i], recorded.given[i]
            recorded.errors[i].append("swapped_names")

    def _apply_to_a_name(
        self, recorded: Recorded, i: int, rng: np.random.Generator, change: Any, error: str
    ) -> None:
        """Apply `change` to the given name or the surname (either, at random; the other if one
        has no such change)."""
        fields = ["given", "surname"] if rng.random() < 0.5 else ["surname", "given"]
        for name_field in fields:
            values: list[str] = getattr(recorded, name_field)
            changed = change(values[i], rng)
            if changed is not None and changed != values[i]:
                values[i] = changed
                recorded.errors[i].append(f"{error}_{name_field}")
                return

    def _dates(self, recorded: Recorded, rng: np.random.Generator) -> None:
        year, month, day = ymd(recorded.dob)
        swappable = (day <= 12) & (day != month)
        for i in self._chosen(rng, "dob_transposed", swappable).tolist():
            swapped = np.datetime64(f"{year[i]:04d}-{day[i]:02d}-{month[i]:02d}", "D")
            recorded.dob[i] = int(swapped.astype(np.int64))
            recorded.errors[i].append("dob_transposed")
        n = len(recorded.dob)
        missing = self._chosen(rng, "dob_missing", np.ones(n, dtype=bool))
        recorded.dob[missing] = MISSING
        for i in missing.tolist():
            recorded.errors[i].append("dob_missing")
