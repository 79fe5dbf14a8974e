"""Outcomes frameworks as data: reading and validating a framework file. No Django.

A framework file (TOML, `config/frameworks/*.toml`, format in docs/programme.md) says which
headline problems there are, which partners' indicator codes evidence each (with thresholds and
look-back windows), how many problems make a family eligible, each problem's outcome measure, how
long success must last, and the payments. Every error names the file and the key
(``problems[1].indicators[0].below``) so whoever edits a framework can find the mistake, and
unknown keys are errors, so a typo cannot pass silently.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kinfold.errors import ConfigError
from kinfold.programme.codes import CODE_PATTERN, CONTRACT_CODES, PARTNER_ORGANISATIONS
from kinfold.quarters import Quarter

#: Whose flags an indicator counts: anyone in the family, adults (parents living elsewhere
#: included) or dependent children.
WHO = ("any", "adult", "child")
_ID = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")


@dataclass(frozen=True)
class IndicatorRule:
    """Which flags evidence a problem: a code, optionally one partner's, with a value threshold.

    ``mean_quarters`` > 1 compares the mean of a person's values over that many quarters (the one
    being evaluated and those before it) instead of each value on its own.
    """

    code: str
    organisation: str = ""
    below: float | None = None
    at_least: float | None = None
    mean_quarters: int = 1
    who: str = "any"
    age_under: int | None = None
    age_from: int | None = None

    def value_qualifies(self, value: float | None) -> bool:
        """Whether a value passes this rule's threshold (a rule without one takes every flag)."""
        if self.below is None and self.at_least is None:
            return True
        if value is None:
            return False
        if self.below is not None and not value < self.below:
            return False
        return self.at_least is None or value >= self.at_least

    @property
    def has_threshold(self) -> bool:
        return self.below is not None or self.at_least is not None


@dataclass(frozen=True)
class ValueCondition:
    """Part of an outcome: each member who had the problem has values of `code` meeting the
    threshold in each of `quarters` consecutive quarters (a quarter with no value is not held
    against the family)."""

    code: str
    quarters: int
    at_least: float | None = None
    below: float | None = None

    def met(self, value: float) -> bool:
        if self.at_least is not None and value < self.at_least:
            return False
        return self.below is None or value < self.below


@dataclass(frozen=True)
class Outcome:
    """A problem's outcome measure: no flag for it in the family for `clear_quarters`
    consecutive quarters, and every value condition met."""

    description: str
    clear_quarters: int
    values: tuple[ValueCondition, ...] = ()

    @property
    def quarters_needed(self) -> int:
        return max([self.clear_quarters, *(v.quarters for v in self.values)])


@dataclass(frozen=True)
class Problem:
    id: str
    name: str
    indicators: tuple[IndicatorRule, ...]
    outcome: Outcome

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(rule.code for rule in self.indicators)


@dataclass(frozen=True)
class Alternative:
    """Another way to succeed, e.g. an adult into work with no out-of-work benefit for
    `quarters` quarters after the quarter the job started."""

    id: str
    name: str
    start: str
    without: tuple[str, ...]
    quarters: int
    who: str = "adult"


@dataclass(frozen=True)
class Payments:
    currency: str
    attachment: int
    results: int


@dataclass(frozen=True)
class FamilyRule:
    """Who is a dependent child: under `child_under`, or under `in_education_under` with a flag
    of one of `in_education_codes` in the quarter or the one before."""

    child_under: int = 18
    in_education_under: int = 20
    in_education_codes: tuple[str, ...] = ("school.attendance",)


@dataclass(frozen=True)
class Framework:
    """A validated outcomes framework."""

    path: Path
    sha256: str
    text: str
    id: str
    name: str
    version: int
    description: str
    first_quarter: Quarter | None
    last_quarter: Quarter | None
    problems_at_least: int
    lookback_quarters: int
    problems: tuple[Problem, ...]
    alternatives: tuple[Alternative, ...]
    payments: Payments
    families: FamilyRule
    local_codes: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.id}@v{self.version}"

    @property
    def codes(self) -> frozenset[str]:
        """Every indicator code the framework reads."""
        codes: set[str] = set(self.families.in_education_codes)
        for problem in self.problems:
            codes |= problem.codes
            codes |= {v.code for v in problem.outcome.values}
        for alternative in self.alternatives:
            codes |= {alternative.start, *alternative.without}
        return frozenset(codes)

    @property
    def history_quarters(self) -> int:
        """How many quarters of flags an evaluation at one quarter needs, that one included."""
        longest_mean = max(
            (r.mean_quarters for p in self.problems for r in p.indicators), default=1
        )
        return self.lookback_quarters + longest_mean - 1

    def problem(self, problem_id: str) -> Problem:
        for problem in self.problems:
            if problem.id == problem_id:
                return problem
        raise KeyError(problem_id)

    def problem_name(self, problem_id: str) -> str:
        try:
            return self.problem(problem_id).name
        except KeyError:
            return problem_id


# ---------------------------------------------------------------------------- reading


class _Reader:
    """Typed access to parsed TOML that names the file and key path in every error."""

    def __init__(self, path: Path, data: Any, where: str = "") -> None:
        self.path, self.data, self.where = path, data, where

    def key(self, key: str | int) -> str:
        if isinstance(key, int):
            return f"{self.where}[{key}]"
        return f"{self.where}.{key}" if self.where else key

    def fail(self, message: str, key: str | int | None = None) -> ConfigError:
        where = self.key(key) if key is not None else (self.where or None)
        return ConfigError(message, file=self.path, field=where)

    def table(self, allowed: tuple[str, ...] | None = None) -> dict[str, Any]:
        if not isinstance(self.data, dict):
            raise self.fail("must be a table")
        if allowed is not None:
            for name in self.data:
                if name not in allowed:
                    raise self.fail(
                        f"is not a key kinfold knows here (expected one of: {', '.join(allowed)})",
                        name,
                    )
        return self.data

    def has(self, key: str) -> bool:
        return isinstance(self.data, dict) and key in self.data

    def child(self, key: str | int) -> _Reader:
        try:
            value = self.data[key]
        except (KeyError, IndexError, TypeError):
            raise self.fail("is missing", key) from None
        return _Reader(self.path, value, self.key(key))

    def items(self) -> Iterator[_Reader]:
        if not isinstance(self.data, list):
            raise self.fail("must be a list")
        for index in range(len(self.data)):
            yield self.child(index)

    def text(self, key: str, default: str | None = None) -> str:
        if default is not None and not self.has(key):
            return default
        value = self.child(key).data
        if not isinstance(value, str) or not value.strip():
            raise self.fail("must be non-empty text", key)
        return value.strip()

    def whole(self, key: str, minimum: int = 1, default: int | None = None) -> int:
        if default is not None and not self.has(key):
            return default
        value = self.child(key).data
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise self.fail(f"must be a whole number of {minimum} or more", key)
        return value

    def number(self, key: str) -> float | None:
        if not self.has(key):
            return None
        value = self.child(key).data
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value != value:
            raise self.fail("must be a number", key)
        return float(value)

    def quarters(self, key: str, default: int | None = None) -> int:
        """A duration written in months, a whole number of quarters (3, 6, 9, 12 …)."""
        if default is not None and not self.has(key):
            return default
        months = self.whole(key)
        if months % 3:
            raise self.fail("must be a whole number of quarters, in months (3, 6, 9, 12 …)", key)
        return months // 3

    def texts(self, key: str, default: tuple[str, ...] | None = None) -> tuple[str, ...]:
        if default is not None and not self.has(key):
            return default
        value = self.child(key).data
        if not isinstance(value, list) or not value:
            raise self.fail("must be a non-empty list of text", key)
        if not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail("must be a non-empty list of text", key)
        return tuple(v.strip() for v in value)

    def choice(self, key: str, choices: tuple[str, ...], default: str) -> str:
        value = self.text(key, default)
        if value not in choices:
            raise self.fail(f"must be one of {', '.join(choices)}", key)
        return value


def load_framework(path: str | Path) -> Framework:
    """Read and validate a framework file; raises ConfigError naming the file and the key."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the framework file: {exc.strerror}", file=path) from exc
    try:
        text = raw.decode("utf-8")
        data = tomllib.loads(text)
    except UnicodeDecodeError as exc:
        raise ConfigError("is not UTF-8 text", file=path) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"is not valid TOML: {exc}", file=path) from exc
    return parse_framework(path, data, text, hashlib.sha256(raw).hexdigest())


def parse_framework(path: Path, data: dict[str, Any], text: str, sha256: str) -> Framework:
    """Validate parsed TOML as a framework (`load_framework` reads the file)."""
    top = _Reader(path, data)
    top.table(
        (
            "framework",
            "eligibility",
            "families",
            "outcomes",
            "payments",
            "problems",
            "local_codes",
        )
    )
    local = _local_codes(top)
    known = set(CONTRACT_CODES) | set(local)
    head = top.child("framework")
    head.table(("id", "name", "version", "description", "from", "to"))
    framework_id = head.text("id")
    if not _ID.match(framework_id):
        raise head.fail("must be lower-case letters, digits and hyphens", "id")
    first, last = _quarter(head, "from"), _quarter(head, "to")
    if first and last and last < first:
        raise head.fail(f"is before 'from' ({first})", "to")
    eligibility = top.child("eligibility")
    eligibility.table(("problems_at_least", "lookback_months"))
    outcomes = top.child("outcomes")
    outcomes.table(("clear_months", "alternatives"))
    clear = outcomes.quarters("clear_months")
    problems = _problems(top, known, clear)
    at_least = eligibility.whole("problems_at_least")
    if at_least > len(problems):
        raise eligibility.fail(
            f"asks for {at_least} problems but the framework defines {len(problems)}",
            "problems_at_least",
        )
    return Framework(
        path=path,
        sha256=sha256,
        text=text,
        id=framework_id,
        name=head.text("name"),
        version=head.whole("version"),
        description=head.text("description", ""),
        first_quarter=first,
        last_quarter=last,
        problems_at_least=at_least,
        lookback_quarters=eligibility.quarters("lookback_months"),
        problems=problems,
        alternatives=_alternatives(outcomes, known),
        payments=_payments(top),
        families=_families(top, known),
        local_codes=local,
    )


def _quarter(reader: _Reader, key: str) -> Quarter | None:
    if not reader.has(key):
        return None
    text = reader.text(key)
    try:
        return Quarter.parse(text)
    except Exception:
        raise reader.fail("must be a quarter like 2015Q2", key) from None


def _local_codes(top: _Reader) -> dict[str, str]:
    if not top.has("local_codes"):
        return {}
    codes: dict[str, str] = {}
    for entry in top.child("local_codes").items():
        entry.table(("code", "partner", "description"))
        code = entry.text("code")
        if not CODE_PATTERN.match(code):
            raise entry.fail("must look like partner.indicator_name (lower case)", "code")
        if code in CONTRACT_CODES or code in codes:
            raise entry.fail(f"'{code}' is already defined", "code")
        partner = entry.text("partner")
        if partner not in PARTNER_ORGANISATIONS and not _SLUG.match(partner):
            raise entry.fail("must be a partner id like housing or police", "partner")
        codes[code] = entry.text("description")
    return codes


def _code(reader: _Reader, key: str, known: set[str]) -> str:
    code = reader.text(key)
    if code not in known:
        raise reader.fail(
            f"'{code}' is not an indicator code in docs/contracts.md; "
            "declare a local one under [[local_codes]]",
            key,
        )
    return code


def _codes(reader: _Reader, key: str, known: set[str]) -> tuple[str, ...]:
    values = reader.texts(key)
    for index, code in enumerate(values):
        if code not in known:
            raise reader.fail(
                f"'{code}' is not an indicator code in docs/contracts.md; "
                "declare a local one under [[local_codes]]",
                f"{key}[{index}]",
            )
    return values


def _thresholds(reader: _Reader) -> tuple[float | None, float | None]:
    below, at_least = reader.number("below"), reader.number("at_least")
    if below is not None and at_least is not None and below <= at_least:
        raise reader.fail(f"must be more than at_least ({at_least:g})", "below")
    return below, at_least


def _problems(top: _Reader, known: set[str], clear: int) -> tuple[Problem, ...]:
    problems: list[Problem] = []
    seen: set[str] = set()
    entries = list(top.child("problems").items())
    if not entries:
        raise top.fail("must list at least one problem", "problems")
    for entry in entries:
        entry.table(("id", "name", "indicators", "outcome"))
        problem_id = entry.text("id")
        if not _ID.match(problem_id):
            raise entry.fail("must be lower-case letters, digits and hyphens", "id")
        if problem_id in seen:
            raise entry.fail(f"'{problem_id}' is used by another problem", "id")
        seen.add(problem_id)
        rules = tuple(_indicator(i, known) for i in entry.child("indicators").items())
        if not rules:
            raise entry.fail("must list at least one indicator", "indicators")
        problems.append(
            Problem(problem_id, entry.text("name"), rules, _outcome(entry, known, clear))
        )
    return tuple(problems)


def _indicator(entry: _Reader, known: set[str]) -> IndicatorRule:
    entry.table(
        ("code", "organisation", "below", "at_least", "mean_months", "who", "age_under", "age_from")
    )
    below, at_least = _thresholds(entry)
    organisation = entry.text("organisation", "")
    if organisation and not _SLUG.match(organisation):
        raise entry.fail("must be an organisation slug like northfield-police", "organisation")
    mean_quarters = entry.quarters("mean_months", 1)
    if mean_quarters > 1 and below is None and at_least is None:
        raise entry.fail("needs a threshold (below or at_least) to average against", "mean_months")
    age_under = entry.whole("age_under", 1) if entry.has("age_under") else None
    age_from = entry.whole("age_from", 0) if entry.has("age_from") else None
    if age_under is not None and age_from is not None and age_under <= age_from:
        raise entry.fail(f"must be more than age_from ({age_from})", "age_under")
    return IndicatorRule(
        code=_code(entry, "code", known),
        organisation=organisation,
        below=below,
        at_least=at_least,
        mean_quarters=mean_quarters,
        who=entry.choice("who", WHO, "any"),
        age_under=age_under,
        age_from=age_from,
    )


def _outcome(entry: _Reader, known: set[str], clear: int) -> Outcome:
    reader = entry.child("outcome")
    if isinstance(reader.data, str):
        if not reader.data.strip():
            raise entry.fail("must be non-empty text", "outcome")
        return Outcome(reader.data.strip(), clear)
    reader.table(("description", "clear_months", "values"))
    values = []
    if reader.has("values"):
        for value in reader.child("values").items():
            value.table(("code", "at_least", "below", "months"))
            below, at_least = _thresholds(value)
            if below is None and at_least is None:
                raise value.fail("needs a threshold: at_least or below")
            values.append(
                ValueCondition(
                    code=_code(value, "code", known),
                    quarters=value.quarters("months"),
                    at_least=at_least,
                    below=below,
                )
            )
    return Outcome(
        description=reader.text("description"),
        clear_quarters=reader.quarters("clear_months", clear),
        values=tuple(values),
    )


def _alternatives(outcomes: _Reader, known: set[str]) -> tuple[Alternative, ...]:
    if not outcomes.has("alternatives"):
        return ()
    found: list[Alternative] = []
    for entry in outcomes.child("alternatives").items():
        entry.table(("id", "name", "start", "without", "months", "who"))
        alternative_id = entry.text("id")
        if not _ID.match(alternative_id):
            raise entry.fail("must be lower-case letters, digits and hyphens", "id")
        found.append(
            Alternative(
                id=alternative_id,
                name=entry.text("name"),
                start=_code(entry, "start", known),
                without=_codes(entry, "without", known),
                quarters=entry.quarters("months"),
                who=entry.choice("who", WHO, "adult"),
            )
        )
    return tuple(found)


def _payments(top: _Reader) -> Payments:
    payments = top.child("payments")
    payments.table(("currency", "attachment", "results"))
    currency = payments.text("currency", "GBP")
    if currency != "GBP":
        raise payments.fail("must be GBP", "currency")
    return Payments(
        currency=currency,
        attachment=payments.whole("attachment", 0),
        results=payments.whole("results", 0),
    )


def _families(top: _Reader, known: set[str]) -> FamilyRule:
    if not top.has("families"):
        return FamilyRule()
    families = top.child("families")
    families.table(("child_under", "in_education_under", "in_education_codes"))
    rule = FamilyRule(
        child_under=families.whole("child_under", 1, 18),
        in_education_under=families.whole("in_education_under", 1, 20),
        in_education_codes=_codes(families, "in_education_codes", known)
        if families.has("in_education_codes")
        else ("school.attendance",),
    )
    if rule.in_education_under < rule.child_under:
        raise families.fail(
            f"must be at least child_under ({rule.child_under})", "in_education_under"
        )
    return rule
