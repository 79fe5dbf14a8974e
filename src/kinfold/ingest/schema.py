"""Extract schemas: how one partner's file becomes identities, indicators and sealed detail.

A schema is a TOML file (``config/schemas/<partner>.toml``, format in docs/contracts.md). This module
is plain Python (no Django), so a partner can run it where the data lives. The API:

- ``load_schema(path) -> Schema`` and ``load_schemas(folder) -> {partner id: Schema}`` read and check
  schema files; every problem is a ``ConfigError`` naming the file and the dotted key.
- ``iter_rows(path) -> (row number, {column: text})`` streams a CSV or XLSX extract; the header is
  row 1, so the first data row is row 2.
- ``Schema.check_header(columns)`` says which columns the file lacks; ``Schema.read_row(row)`` turns
  one row into a ``ParsedRow`` (record id, identity, related identities, indicators, sealed
  detail); ``Schema.read_file(path)`` does both for a whole file, and refuses a repeated record id.
  Bad values are ``InputError`` naming the file, row and column.
- ``parse_date(text, format)`` and ``parse_value(text)`` are the value parsers on their own.
"""

from __future__ import annotations

import csv
import math
import re
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

from kinfold.errors import ConfigError, InputError
from kinfold.linkage.fields import ALL_FIELDS, DATE_FIELDS

#: Data categories (docs/contracts.md): what sealed detail and indicators are filed under.
CATEGORIES: Final = (
    "social-care",
    "police-courts-probation",
    "employment",
    "antisocial-behaviour",
    "violence-in-the-home",
    "substance-misuse",
    "education",
    "vulnerable-children",
    "health",
)
FORMATS: Final = ("csv", "xlsx")
#: The date format meaning "Excel serial day numbers" (days since 1899-12-30).
EXCEL: Final = "excel"

_SLUG = re.compile(r"^[a-z][a-z0-9-]*$")
_PARTNER = re.compile(r"^[a-z][a-z0-9_]*$")
_CODE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")


# -- values ---------------------------------------------------------------------------------------

_MONTHS: Final = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"),
            ("may",), ("jun", "june"), ("jul", "july"), ("aug", "august"),
            ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}  # fmt: skip
_DIRECTIVES: Final = {
    "d": ("day", r"(\d{1,2})"),
    "m": ("month", r"(\d{1,2})"),
    "Y": ("year", r"(\d{4})"),
    "y": ("year2", r"(\d{2})"),
    "b": ("month_name", r"([A-Za-z]{3,4})"),
    "B": ("month_name", r"([A-Za-z]{3,9})"),
    "H": ("ignored", r"(\d{1,2})"),
    "M": ("ignored", r"(\d{1,2})"),
    "S": ("ignored", r"(\d{1,2})"),
}
_EXCEL_EPOCH: Final = date(1899, 12, 30)


@dataclass(frozen=True)
class _DateFormat:
    pattern: re.Pattern[str]
    parts: tuple[str, ...]


@lru_cache(maxsize=64)
def _compile(fmt: str) -> _DateFormat:
    """A strftime-style format as a regular expression (faster than strptime, locale-free)."""
    regex, parts, i = [], [], 0
    while i < len(fmt):
        char = fmt[i]
        if char != "%":
            regex.append(re.escape(char))
            i += 1
            continue
        if i + 1 >= len(fmt):
            raise ValueError("ends with a lone %")
        directive = fmt[i + 1]
        if directive == "%":
            regex.append("%")
        elif directive in _DIRECTIVES:
            name, pattern = _DIRECTIVES[directive]
            regex.append(pattern)
            parts.append(name)
        else:
            raise ValueError(f"uses %{directive}; dates may use %d %m %Y %y %b %B %H %M %S")
        i += 2
    names = set(parts)
    if not ({"year", "year2"} & names and {"month", "month_name"} & names and "day" in names):
        raise ValueError("must give a day, a month and a year")
    return _DateFormat(re.compile("^" + "".join(regex) + "$"), tuple(parts))


def check_date_format(fmt: str) -> None:
    """Raise ValueError unless `fmt` is ``excel`` or a strftime format with a day, month and year."""
    if fmt != EXCEL:
        _compile(fmt)


def parse_date(text: str, fmt: str) -> date:
    """The date `text` gives in format `fmt` (strftime directives, or ``excel`` serial days).

    Surrounding spaces are ignored; ValueError if the text does not match or is no real date.
    Two-digit years follow Python's rule (69-99 are 1900s). A time of day, if the format has one,
    is checked for shape and dropped.
    """
    text = text.strip()
    if fmt == EXCEL:
        return _excel_date(text)
    compiled = _compile(fmt)
    match = compiled.pattern.match(text)
    if not match:
        raise ValueError(f"'{text}' does not match the date format {fmt}")
    year = month = day = None
    for name, value in zip(compiled.parts, match.groups(), strict=True):
        if name == "day":
            day = int(value)
        elif name == "month":
            month = int(value)
        elif name == "month_name":
            month = _MONTHS.get(value.lower())
            if month is None:
                raise ValueError(f"'{value}' is not a month")
        elif name == "year":
            year = int(value)
        elif name == "year2":
            short = int(value)
            year = 1900 + short if short >= 69 else 2000 + short
    if year is None or month is None or day is None:  # _compile makes sure they are all there
        raise ValueError(f"the format {fmt} lacks a day, month or year")
    return date(year, month, day)


def _excel_date(text: str) -> date:
    try:
        serial = float(text)
    except ValueError:
        raise ValueError(f"'{text}' is not an Excel day number") from None
    if not math.isfinite(serial) or serial < 1 or serial >= 2_958_466:
        raise ValueError(f"'{text}' is not an Excel day number")
    whole = int(serial)
    if whole == 60:
        raise ValueError("Excel day 60 is 29 February 1900, which never was")
    # Excel counts a 29 February 1900 that never was: days before it are one day later.
    return _EXCEL_EPOCH + timedelta(days=whole + (1 if whole < 60 else 0))


def excel_serial(day: date) -> int:
    """The Excel serial day number of a date (the inverse of the ``excel`` format)."""
    serial = (day - _EXCEL_EPOCH).days
    return serial - 1 if serial <= 60 else serial


def parse_value(text: str) -> float | None:
    """A numeric indicator value: empty is None; a trailing % is allowed; ValueError otherwise."""
    text = text.strip()
    if not text:
        return None
    number = float(text[:-1] if text.endswith("%") else text)
    if not math.isfinite(number):
        raise ValueError(f"'{text}' is not a finite number")
    return number


# -- the schema -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DateColumn:
    """A column holding dates in one format (strftime, or ``excel``)."""

    column: str
    format: str


FieldSpec = str | DateColumn


@dataclass(frozen=True)
class Condition:
    """Which rows an indicator applies to: the column's value (spaces stripped) is one of `values`."""

    column: str
    values: frozenset[str]

    def matches(self, row: Mapping[str, str]) -> bool:
        """True when the row's value for the column is one of the values."""
        return row.get(self.column, "").strip() in self.values


@dataclass(frozen=True)
class IndicatorRule:
    """How rows become one indicator code."""

    code: str
    category: str
    date: DateColumn
    when: Condition | None = None
    value: str | None = None


@dataclass(frozen=True)
class RelatedRule:
    """Another person named on the row (a parent or carer), and the columns of their identity."""

    relation: str
    identity: Mapping[str, FieldSpec]


@dataclass(frozen=True)
class Identity:
    """A person's identity as the row holds it.

    `values` maps linkage field names to the raw text (empty fields are left out); `date_formats`
    says which format each date field's text is in; `dates` holds those fields parsed.
    """

    values: Mapping[str, str] = field(default_factory=dict)
    date_formats: Mapping[str, str] = field(default_factory=dict)
    dates: Mapping[str, date] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.values)


@dataclass(frozen=True)
class RelatedIdentity:
    relation: str
    identity: Identity


@dataclass(frozen=True)
class Indicator:
    """A flag about the row's person: an indicator code, the date it applies to, a value if any."""

    code: str
    category: str
    date: date
    value: float | None = None


@dataclass(frozen=True)
class ParsedRow:
    """One extract row split the way kinfold keeps it: identity apart from content."""

    row: int | None
    record_id: str
    identity: Identity
    related: tuple[RelatedIdentity, ...]
    indicators: tuple[Indicator, ...]
    detail: Mapping[str, Mapping[str, str]]


@dataclass(frozen=True)
class Schema:
    """One partner's extract shape (see docs/contracts.md)."""

    partner: str
    organisation: str
    name: str
    file: str
    format: str
    record_id: str
    identity: Mapping[str, FieldSpec]
    related: tuple[RelatedRule, ...] = ()
    indicators: tuple[IndicatorRule, ...] = ()
    detail: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    source: str = ""

    def columns(self) -> frozenset[str]:
        """Every column the schema reads."""
        found = {self.record_id}
        for spec in self.identity.values():
            found.add(_column(spec))
        for related in self.related:
            found.update(_column(spec) for spec in related.identity.values())
        for rule in self.indicators:
            found.add(rule.date.column)
            if rule.when is not None:
                found.add(rule.when.column)
            if rule.value is not None:
                found.add(rule.value)
        for columns in self.detail.values():
            found.update(columns)
        return frozenset(found)

    def check_header(self, header: Sequence[str], file: str | Path | None = None) -> None:
        """InputError naming the first column the schema needs that the file's header lacks."""
        present = set(header)
        missing = sorted(self.columns() - present)
        if missing:
            raise InputError(
                f"has no column '{missing[0]}', which the {self.partner} schema needs "
                f"({len(missing)} missing)",
                file=file or self.file,
                row=1,
                field=missing[0],
            )

    def read_row(
        self,
        row: Mapping[str, str],
        *,
        row_number: int | None = None,
        file: str | Path | None = None,
    ) -> ParsedRow:
        """Split one row (column → text) into record id, identities, indicators and sealed detail.

        InputError, naming the file, row and column, for a missing record id or a bad date or value.
        """
        where = _Where(file or self.file, row_number)
        record_id = where.text(row, self.record_id).strip()
        if not record_id:
            raise where.error("has no record id", self.record_id)
        related = []
        for rule in self.related:
            identity = _identity(rule.identity, row, where)
            if identity:
                related.append(RelatedIdentity(rule.relation, identity))
        return ParsedRow(
            row=row_number,
            record_id=record_id,
            identity=_identity(self.identity, row, where),
            related=tuple(related),
            indicators=tuple(_indicators(self.indicators, row, where)),
            detail={
                category: {column: where.text(row, column).strip() for column in columns}
                for category, columns in self.detail.items()
            },
        )

    def read_file(self, path: str | Path, *, sheet: str | None = None) -> Iterator[ParsedRow]:
        """Every row of an extract, parsed; InputError on a bad row or a repeated record id."""
        seen: dict[str, int] = {}
        rows = iter_rows(path, self.format, sheet=sheet, header_check=self.check_header)
        for number, row in rows:
            parsed = self.read_row(row, row_number=number, file=path)
            if parsed.record_id in seen:
                raise InputError(
                    f"repeats record id '{parsed.record_id}' (first on row {seen[parsed.record_id]})",
                    file=path,
                    row=number,
                    field=self.record_id,
                )
            seen[parsed.record_id] = number
            yield parsed


def _column(spec: FieldSpec) -> str:
    return spec.column if isinstance(spec, DateColumn) else spec


@dataclass(frozen=True)
class _Where:
    file: str | Path
    row: int | None

    def error(self, message: str, column: str) -> InputError:
        return InputError(message, file=self.file, row=self.row, field=column)

    def text(self, row: Mapping[str, str], column: str) -> str:
        try:
            return row[column] or ""
        except KeyError:
            raise self.error("is missing from the row", column) from None

    def date(self, row: Mapping[str, str], spec: DateColumn) -> date:
        text = self.text(row, spec.column)
        try:
            return parse_date(text, spec.format)
        except ValueError as exc:
            raise self.error(
                f"is not a date in the format {spec.format}: {exc}", spec.column
            ) from None


def _identity(specs: Mapping[str, FieldSpec], row: Mapping[str, str], where: _Where) -> Identity:
    values: dict[str, str] = {}
    formats: dict[str, str] = {}
    dates: dict[str, date] = {}
    for name, spec in specs.items():
        text = where.text(row, _column(spec)).strip()
        if not text:
            continue
        values[name] = text
        if isinstance(spec, DateColumn):
            formats[name] = spec.format
            dates[name] = where.date(row, spec)
    return Identity(values, formats, dates)


def _indicators(
    rules: Sequence[IndicatorRule], row: Mapping[str, str], where: _Where
) -> Iterator[Indicator]:
    for rule in rules:
        if rule.when is not None and not rule.when.matches(row):
            continue
        if not where.text(row, rule.date.column).strip():
            raise where.error(f"has no date for {rule.code}", rule.date.column)
        value = None
        if rule.value is not None:
            text = where.text(row, rule.value)
            try:
                value = parse_value(text)
            except ValueError:
                raise where.error(f"'{text.strip()}' is not a number", rule.value) from None
        yield Indicator(rule.code, rule.category, where.date(row, rule.date), value)


# -- loading and checking schema files -------------------------------------------------------------


class _Fail(Exception):
    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


def _table(raw: Any, key: str, allowed: set[str], required: set[str]) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise _Fail(key, "must be a table")
    for name in raw:
        if name not in allowed:
            raise _Fail(f"{key}.{name}" if key else name, "is not a key schemas have")
    for name in sorted(required - set(raw)):
        raise _Fail(f"{key}.{name}" if key else name, "is missing")
    return raw


def _string(raw: Any, key: str) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise _Fail(key, "must be a non-empty string")
    return raw


def _date_column(raw: Any, key: str) -> DateColumn:
    table = _table(raw, key, {"column", "format"}, {"column", "format"})
    fmt = _string(table["format"], f"{key}.format")
    try:
        check_date_format(fmt)
    except ValueError as exc:
        raise _Fail(f"{key}.format", f"'{fmt}' is not a date format: {exc}") from None
    return DateColumn(_string(table["column"], f"{key}.column"), fmt)


def _identity_specs(raw: Any, key: str) -> dict[str, FieldSpec]:
    if not isinstance(raw, Mapping) or not raw:
        raise _Fail(key, "must be a table naming at least one identity field")
    specs: dict[str, FieldSpec] = {}
    for name, value in raw.items():
        where = f"{key}.{name}"
        if name not in ALL_FIELDS:
            raise _Fail(where, f"is not an identity field ({', '.join(ALL_FIELDS)})")
        if name in DATE_FIELDS:
            if not isinstance(value, Mapping):
                raise _Fail(where, 'is a date: give { column = "…", format = "…" }')
            specs[name] = _date_column(value, where)
        else:
            specs[name] = _string(value, where)
    return specs


def _condition(raw: Any, key: str) -> Condition:
    table = _table(raw, key, {"column", "in"}, {"column", "in"})
    values = table["in"]
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise _Fail(f"{key}.in", "must be a non-empty list of strings")
    return Condition(
        _string(table["column"], f"{key}.column"), frozenset(v.strip() for v in values)
    )


def _category(raw: Any, key: str) -> str:
    if raw not in CATEGORIES:
        raise _Fail(key, f"'{raw}' is not a data category ({', '.join(CATEGORIES)})")
    return str(raw)


def _indicator(raw: Any, key: str) -> IndicatorRule:
    table = _table(
        raw, key, {"code", "category", "date", "when", "value"}, {"code", "category", "date"}
    )
    code = _string(table["code"], f"{key}.code")
    if not _CODE.match(code):
        raise _Fail(f"{key}.code", f"'{code}' is not an indicator code like police.offence")
    return IndicatorRule(
        code=code,
        category=_category(table["category"], f"{key}.category"),
        date=_date_column(table["date"], f"{key}.date"),
        when=_condition(table["when"], f"{key}.when") if "when" in table else None,
        value=_string(table["value"], f"{key}.value") if "value" in table else None,
    )


def _related(raw: Any, key: str) -> RelatedRule:
    table = _table(raw, key, {"relation", "identity"}, {"relation", "identity"})
    relation = _string(table["relation"], f"{key}.relation")
    if not _SLUG.match(relation):
        raise _Fail(f"{key}.relation", "must be a lower-case word such as parent")
    return RelatedRule(relation, _identity_specs(table["identity"], f"{key}.identity"))


def _detail(raw: Any) -> dict[str, tuple[str, ...]]:
    if not isinstance(raw, Mapping):
        raise _Fail("detail", "must be a table of category = [columns]")
    detail: dict[str, tuple[str, ...]] = {}
    for category, columns in raw.items():
        _category(category, f"detail.{category}")
        if not isinstance(columns, list) or not all(isinstance(c, str) and c for c in columns):
            raise _Fail(f"detail.{category}", "must be a list of column names")
        detail[category] = tuple(columns)
    return detail


def _partner(raw: Any) -> Mapping[str, Any]:
    keys = {"id", "organisation", "name", "file", "format", "record_id"}
    table = _table(raw, "partner", keys, keys)
    for key in keys:
        _string(table[key], f"partner.{key}")
    if not _PARTNER.match(table["id"]):
        raise _Fail("partner.id", "must be a lower-case partner id such as police")
    if not _SLUG.match(table["organisation"]):
        raise _Fail(
            "partner.organisation", "must be an organisation slug such as northfield-police"
        )
    if table["format"] not in FORMATS:
        raise _Fail("partner.format", f"must be one of {', '.join(FORMATS)}")
    name = table["file"]
    if "/" in name or "\\" in name or not name.lower().endswith("." + table["format"]):
        raise _Fail("partner.file", f"must be a file name ending .{table['format']}")
    return table


def schema_from_toml(raw: Mapping[str, Any], source: str = "") -> Schema:
    """A Schema from already-parsed TOML; ConfigError naming `source` and the bad key."""
    try:
        top = _table(raw, "", {"partner", "identity", "related", "indicators", "detail"},
                     {"partner", "identity"})  # fmt: skip
        partner = _partner(top["partner"])
        related = top.get("related", [])
        indicators = top.get("indicators", [])
        if not isinstance(related, list):
            raise _Fail("related", "must be an array of tables ([[related]])")
        if not isinstance(indicators, list):
            raise _Fail("indicators", "must be an array of tables ([[indicators]])")
        return Schema(
            partner=partner["id"],
            organisation=partner["organisation"],
            name=partner["name"],
            file=partner["file"],
            format=partner["format"],
            record_id=partner["record_id"],
            identity=_identity_specs(top["identity"], "identity"),
            related=tuple(_related(r, f"related[{i}]") for i, r in enumerate(related)),
            indicators=tuple(_indicator(r, f"indicators[{i}]") for i, r in enumerate(indicators)),
            detail=_detail(top.get("detail", {})),
            source=source,
        )
    except _Fail as exc:
        raise ConfigError(exc.message, file=source or None, field=exc.key) from None


def load_schema(path: str | Path) -> Schema:
    """Read and check one schema file."""
    file = Path(path)
    try:
        raw = tomllib.loads(file.read_text("utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot be read: {exc.strerror}", file=file) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"is not valid TOML: {exc}", file=file) from None
    return schema_from_toml(raw, str(file))


def load_schemas(folder: str | Path) -> dict[str, Schema]:
    """Every ``*.toml`` schema in a folder, by partner id; ConfigError if two claim one partner."""
    schemas: dict[str, Schema] = {}
    for path in sorted(Path(folder).glob("*.toml")):
        schema = load_schema(path)
        if schema.partner in schemas:
            raise ConfigError(
                f"is a second schema for partner '{schema.partner}' (the first is "
                f"{schemas[schema.partner].source})",
                file=path,
                field="partner.id",
            )
        schemas[schema.partner] = schema
    return schemas


# -- reading extract files ------------------------------------------------------------------------

HeaderCheck = Any  # Callable[[Sequence[str], str | Path], None]


def iter_rows(
    path: str | Path,
    format: str | None = None,  # noqa: A002 - the schema's word for it
    *,
    sheet: str | None = None,
    header_check: HeaderCheck | None = None,
) -> Iterator[tuple[int, dict[str, str]]]:
    """Stream an extract's rows as (row number, {column: text}); the header is row 1.

    CSV is read as UTF-8 (a byte-order mark is ignored); XLSX from the named or first sheet, with
    date cells as ISO text (``2016-03-15``, or with the time when it is not midnight), whole numbers
    without ``.0``, and empty cells as ''. Blank lines are skipped. InputError for an unreadable
    file, a bad header or a row with the wrong number of cells.
    """
    file = Path(path)
    kind = (format or file.suffix.lstrip(".")).lower()
    if kind not in FORMATS:
        raise InputError(f"is not a CSV or XLSX file (format '{kind}')", file=file)
    if not file.is_file():
        raise InputError("does not exist", file=file)
    rows = _csv_rows(file) if kind == "csv" else _xlsx_rows(file, sheet)
    header: list[str] | None = None
    for number, cells in rows:
        if header is None:
            header = _header(cells, file)
            if header_check is not None:
                header_check(header, file)
            continue
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
            raise InputError(f"has {len(cells)} cells but the header has {len(header)}", file=file,
                             row=number)  # fmt: skip
        if kind == "csv" and len(cells) < len(header):
            raise InputError(f"has {len(cells)} cells but the header has {len(header)}", file=file,
                             row=number)  # fmt: skip
        padded = list(cells) + [""] * (len(header) - len(cells))
        yield number, dict(zip(header, padded, strict=False))
    if header is None:
        raise InputError("is empty: there is no header row", file=file, row=1)


def _header(cells: Sequence[str], file: Path) -> list[str]:
    header = [c.strip() for c in cells]
    while header and not header[-1]:
        header.pop()
    seen: set[str] = set()
    for position, name in enumerate(header, start=1):
        if not name:
            raise InputError(f"column {position} of the header has no name", file=file, row=1)
        if name in seen:
            raise InputError(
                f"the header names column '{name}' twice", file=file, row=1, field=name
            )
        seen.add(name)
    return header


def _csv_rows(file: Path) -> Iterator[tuple[int, list[str]]]:
    try:
        with file.open(newline="", encoding="utf-8-sig") as handle:
            number = 0
            try:
                # Rows are counted as records (a spreadsheet's rows), not lines: a quoted cell may
                # hold a line break.
                for number, cells in enumerate(csv.reader(handle), start=1):
                    yield number, cells
            except csv.Error as exc:
                raise InputError(f"is not valid CSV: {exc}", file=file, row=number + 1) from None
    except UnicodeDecodeError:
        raise InputError("is not UTF-8 text", file=file) from None
    except OSError as exc:
        raise InputError(f"cannot be read: {exc.strerror}", file=file) from None


def _xlsx_rows(file: Path, sheet: str | None) -> Iterator[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(file, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged workbook
        raise InputError(f"is not a readable XLSX workbook: {exc}", file=file) from None
    try:
        if sheet is not None and sheet not in workbook.sheetnames:
            raise InputError(f"has no sheet '{sheet}'", file=file)
        worksheet = workbook[sheet] if sheet is not None else workbook.worksheets[0]
        for number, values in enumerate(worksheet.iter_rows(values_only=True), start=1):
            yield number, [_cell_text(v) for v in values]
    finally:
        workbook.close()


def _cell_text(value: Any) -> str:
    """An XLSX cell as the text a CSV export would hold."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
