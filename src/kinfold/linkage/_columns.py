"""Column maps: which column of a partner's extract holds which identity field.

Two spellings, one type. On the command line a MAP string::

    given_name=forename,surname=surname,dob=dob:%Y-%m-%d,sex=sex,address=address,id=school_ref

and in an extract schema's ``[identity]`` table a dict of field → column or ``{column, format}``.
Several columns may feed one field (``address=line1+line2+town`` or ``{columns = [...]}``); their
values are joined with a space. A literal comma inside a MAP item is written ``\\,``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Final

from kinfold.errors import InputError
from kinfold.linkage.fields import (
    ALL_FIELDS,
    DATE_FIELDS,
    FUZZY_FIELDS,
    RECORD_ID,
    REFERENCE_FIELDS,
)

#: How a date is written when the map does not say.
DEFAULT_DATE_FORMAT: Final = "%Y-%m-%d"
#: Excel's day zero: serial 1 is 1900-01-01, and counting from 1899-12-30 steps over Excel's
#: phantom 1900-02-29 for every date after February 1900.
EXCEL_EPOCH: Final = date(1899, 12, 30)
_SPLIT = re.compile(r"(?<!\\),")


@dataclass(frozen=True)
class FieldSource:
    """Where one field comes from: one or more columns and, for dates, their format."""

    columns: tuple[str, ...]
    date_format: str | None = None

    def value(self, row: Mapping[str, str | None]) -> str:
        """The field's raw text in ``row``: the columns' values joined by a space ('' if none)."""
        parts = [row.get(c) or "" for c in self.columns]
        return " ".join(p.strip() for p in parts if p and p.strip())


@dataclass(frozen=True)
class ColumnMap:
    """Identity field → source column(s), plus the record id column (None: use the row number)."""

    fields: Mapping[str, FieldSource]
    record_id: str | None = None
    _ordered: tuple[str, ...] = field(default=(), repr=False, compare=False)

    @classmethod
    def parse(cls, text: str) -> ColumnMap:
        """Read a MAP string such as ``given_name=forename,dob=dob:%d/%m/%Y,id=ref``."""
        fields: dict[str, FieldSource] = {}
        record_id: str | None = None
        items = [i.replace("\\,", ",").strip() for i in _SPLIT.split(text)]
        for item in (i for i in items if i):
            name, sep, spec = item.partition("=")
            name, spec = name.strip(), spec.strip()
            if not sep or not name or not spec:
                raise InputError(f"map item '{item}' is not field=column", field="map")
            if name == RECORD_ID:
                _check_new(name, fields, record_id)
                record_id = spec
                continue
            _check_field(name)
            _check_new(name, fields, record_id)
            fields[name] = _source_from_text(name, spec)
        return cls.build(fields, record_id)

    @classmethod
    def from_dict(cls, identity: Mapping[str, object], record_id: str | None = None) -> ColumnMap:
        """Build from a schema's ``[identity]`` table: field → "COLUMN" or {column(s), format}."""
        fields: dict[str, FieldSource] = {}
        for name, spec in identity.items():
            if name == RECORD_ID and isinstance(spec, str):
                record_id = record_id or spec
                continue
            _check_field(name)
            fields[name] = _source_from_object(name, spec)
        return cls.build(fields, record_id)

    @classmethod
    def build(cls, fields: Mapping[str, FieldSource], record_id: str | None) -> ColumnMap:
        """Validate and freeze: at least one linkable field; formats only on date fields."""
        if not any(f in fields for f in (*FUZZY_FIELDS, *REFERENCE_FIELDS)):
            raise InputError("the map names no identity field to link on", field="map")
        for name, source in fields.items():
            if source.date_format is not None and name not in DATE_FIELDS:
                raise InputError(f"only {', '.join(DATE_FIELDS)} takes a format", field=name)
            if source.date_format is not None:
                check_date_format(source.date_format, name)
        ordered = tuple(f for f in ALL_FIELDS if f in fields)
        return cls(dict(fields), record_id, ordered)

    def columns(self) -> list[tuple[str, str]]:
        """Every (column, field) the map reads, record id first, for header checks."""
        found = [(self.record_id, RECORD_ID)] if self.record_id else []
        for name in self._ordered:
            found.extend((c, name) for c in self.fields[name].columns)
        return found

    def to_text(self) -> str:
        """The MAP string for this map (round-trips through :meth:`parse`)."""
        items = []
        for name in self._ordered:
            source = self.fields[name]
            spec = "+".join(source.columns)
            if source.date_format is not None:
                spec += ":" + source.date_format
            items.append(f"{name}={spec}".replace(",", "\\,"))
        if self.record_id:
            items.append(f"{RECORD_ID}={self.record_id}".replace(",", "\\,"))
        return ",".join(items)


def _check_field(name: str) -> None:
    if name not in ALL_FIELDS:
        known = ", ".join((*ALL_FIELDS, RECORD_ID))
        raise InputError(f"'{name}' is not an identity field; use one of {known}", field="map")


def _check_new(name: str, fields: Mapping[str, FieldSource], record_id: str | None) -> None:
    if name in fields or (name == RECORD_ID and record_id is not None):
        raise InputError(f"the map names '{name}' twice", field="map")


def _source_from_text(name: str, spec: str) -> FieldSource:
    date_format: str | None = None
    if name in DATE_FIELDS:
        spec, _, fmt = spec.partition(":")
        date_format = fmt.strip() or DEFAULT_DATE_FORMAT
    columns = tuple(c.strip() for c in spec.split("+"))
    if not all(columns):
        raise InputError(f"'{name}' names an empty column", field="map")
    return FieldSource(columns, date_format)


def _source_from_object(name: str, spec: object) -> FieldSource:
    if isinstance(spec, str) and spec.strip():
        fmt = DEFAULT_DATE_FORMAT if name in DATE_FIELDS else None
        return FieldSource((spec.strip(),), fmt)
    if isinstance(spec, Mapping):
        raw = spec.get("columns", [spec.get("column")])
        columns = tuple(c.strip() for c in raw if isinstance(c, str) and c.strip())
        fmt = spec.get("format")
        if not columns or (fmt is not None and not isinstance(fmt, str)):
            raise InputError("needs a column (and an optional text format)", field=name)
        if name in DATE_FIELDS and fmt is None:
            fmt = DEFAULT_DATE_FORMAT
        return FieldSource(columns, fmt)
    raise InputError("must be a column name or {column, format}", field=name)


def check_date_format(fmt: str, name: str) -> None:
    """Refuse a format that cannot carry a whole date (strftime needs a year, month and day)."""
    if fmt == "excel":
        return
    for part, codes in (("day", ("%d",)), ("month", ("%m", "%b", "%B")), ("year", ("%Y", "%y"))):
        if not any(c in fmt for c in codes):
            raise InputError(f"date format '{fmt}' has no {part} (or use 'excel')", field=name)


@lru_cache(maxsize=200_000)
def parse_date(text: str, fmt: str) -> date:
    """Parse ``text`` in strftime ``fmt`` or Excel serial days; ValueError if it does not parse."""
    if fmt == "excel":
        serial = float(text)
        if not 1 <= serial < 2_958_466:  # 9999-12-31
            raise ValueError(f"{text} is not an Excel date serial")
        return EXCEL_EPOCH + timedelta(days=int(serial))
    numeric = _numeric_format(fmt)
    if numeric is not None:  # the usual all-digit formats, read without strptime (10x faster)
        found = numeric.fullmatch(text)
        if found is None:
            raise ValueError(f"{text!r} does not match {fmt!r}")
        return date(int(found["Y"]), int(found["m"]), int(found["d"]))
    return datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a date of birth has no time zone


@lru_cache(maxsize=64)
def _numeric_format(fmt: str) -> re.Pattern[str] | None:
    """A regular expression for a format made only of %Y, %m, %d and separators, else None."""
    parts = re.split(r"(%[Ymd])", fmt)
    if sorted(p for p in parts if p.startswith("%")) != ["%Y", "%d", "%m"]:
        return None
    if any("%" in p for p in parts if not p.startswith("%")):
        return None
    widths = {"%Y": r"(?P<Y>\d{4})", "%m": r"(?P<m>\d{1,2})", "%d": r"(?P<d>\d{1,2})"}
    if "" in parts[1:-1]:  # fields run together (%Y%m%d): fixed widths
        widths = {"%Y": r"(?P<Y>\d{4})", "%m": r"(?P<m>\d{2})", "%d": r"(?P<d>\d{2})"}
    return re.compile("".join(widths.get(p, re.escape(p)) for p in parts))
