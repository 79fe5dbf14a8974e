"""Encoding at the partner: extract rows → normalised values → keyed filters, tokens, blocking keys.

Streams: rows are read once, normalised one by one and encoded in chunks, so a partner's extract of
any size fits in memory as encodings (about 200 bytes a record with the default settings).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Final, Literal

import numpy as np
from numpy.typing import NDArray

from kinfold.errors import InputError
from kinfold.linkage import _normalise as norm
from kinfold.linkage._bloom import FieldFilter, qgrams
from kinfold.linkage._columns import ColumnMap
from kinfold.linkage._keys import check_secret, derive, key_id, token64
from kinfold.linkage._settings import BlockingPass, Settings
from kinfold.linkage._table import EncodedTable, TableHeader
from kinfold.linkage.fields import FUZZY_FIELDS, RECORD_ID, REFERENCE_FIELDS

BadValues = Literal["error", "skip-row", "blank"]
CHUNK: Final = 65_536
#: How many nickname groups a record's first given name is encoded into (most names have one).
NICKNAME_SLOTS: Final = 3
#: Tokens every encoded table carries, in this order, besides the reference numbers.
NICKNAME_TOKEN: Final = "given_name.nickname"  # noqa: S105 - a column name, not a password
HOUSEHOLD_TOKEN: Final = "household"  # noqa: S105 - a column name, not a password
#: The house and flat numbers of the address (keyed): close addresses must share them.
ADDRESS_NUMBERS_TOKEN: Final = "address.numbers"  # noqa: S105 - a column name, not a password
_SEP: Final = "\x1f"
_NUMBERS: Final = re.compile(r"\d+")
#: Fields that are normalised and encoded (contact details are not).
_ENCODED: Final[tuple[str, ...]] = (*FUZZY_FIELDS, *REFERENCE_FIELDS)


@dataclass(frozen=True)
class BadValue:
    """A value that could not be read: where it is and why."""

    row: int
    column: str
    message: str
    file: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}, " if self.file else ""
        return f"{where}row {self.row}, column '{self.column}': {self.message}"


@dataclass
class EncodeReport:
    """What an encoding run skipped or blanked (filled in as it goes)."""

    records: int = 0
    skipped_rows: list[BadValue] = field(default_factory=list)
    blanked_values: list[BadValue] = field(default_factory=list)


@dataclass
class _Canonical:
    """Normalised values of one chunk, column by column ('' = missing)."""

    ids: list[str] = field(default_factory=list)
    values: dict[str, list[str]] = field(default_factory=lambda: {f: [] for f in _ENCODED})
    first_names: list[str] = field(default_factory=list)


def encode(
    rows: Iterable[Mapping[str, str | None]],
    column_map: ColumnMap,
    secret: bytes,
    settings: Settings | None = None,
    *,
    source: str = "",
    bad_values: BadValues = "error",
    file: str | Path | None = None,
    report: EncodeReport | None = None,
    first_row: int = 2,
) -> EncodedTable:
    """Encode an extract's rows (dicts of column → text) into an :class:`EncodedTable`.

    ``bad_values`` says what happens to a value that cannot be read (a date that does not parse, a
    sex that is neither): ``"error"`` raises InputError naming file, row and column; ``"skip-row"``
    drops the row and ``"blank"`` treats the value as missing — both record it in ``report``.
    Rows are numbered from ``first_row`` (2: the header is row 1). Missing values are not errors.
    """
    check_secret(secret)
    settings = settings or Settings.default()
    report = report if report is not None else EncodeReport()
    encoder = _Encoder(secret, settings)
    reader = _RowReader(column_map, bad_values, None if file is None else str(file), report)
    chunks = []
    canonical = reader.canonical(rows, first_row)
    while True:
        chunk = _take_chunk(canonical)
        if not chunk.ids:
            break
        chunks.append(encoder.encode_chunk(chunk))
    report.records = sum(len(c[0]) for c in chunks)
    if not chunks:
        chunks.append(encoder.encode_chunk(_Canonical()))
    header = TableHeader(
        source=source,
        key_id=key_id(secret),
        fingerprint=settings.encoding_fingerprint(),
        field_bits={f: encoder.filters[f].encoded_bits for f in FUZZY_FIELDS},
        blocking=blocking_names(settings),
        hardening=settings.hardening,
        salt=settings.salt,
    )
    return EncodedTable(
        header,
        np.asarray([i for c in chunks for i in c[0]], dtype=np.str_),
        {f: np.concatenate([c[1][f] for c in chunks]) for f in FUZZY_FIELDS},
        {t: np.concatenate([c[2][t] for c in chunks]) for t in chunks[0][2]},
        np.concatenate([c[3] for c in chunks]),
    )


def key_domain(field: str) -> str:
    """Whose key a field's filters use: given name and surname share one, so that names recorded
    the wrong way round can be recognised (their filters are comparable across the two fields)."""
    return "name" if field in ("given_name", "surname") else field


def blocking_names(settings: Settings) -> tuple[str, ...]:
    """Names of an encoded table's blocking passes: the settings' then the reference numbers."""
    return (*(p.name for p in settings.blocking), *REFERENCE_FIELDS)


def _take_chunk(records: Iterator[tuple[str, dict[str, str]]]) -> _Canonical:
    chunk = _Canonical()
    for record_id, values in islice(records, CHUNK):
        chunk.ids.append(record_id)
        for name in _ENCODED:
            chunk.values[name].append(values.get(name, ""))
        chunk.first_names.append(values.get("given_name.first", ""))
    return chunk


class _RowReader:
    """Turns raw rows into (record id, normalised values), applying the bad-value policy."""

    def __init__(
        self, column_map: ColumnMap, policy: BadValues, file: str | None, report: EncodeReport
    ) -> None:
        self.map, self.policy, self.file, self.report = column_map, policy, file, report
        self.seen: set[str] = set()
        self.normalisers: dict[str, Callable[[str], dict[str, str]]] = {
            name: _normaliser(name, source.date_format)
            for name, source in column_map.fields.items()
        }

    def canonical(
        self, rows: Iterable[Mapping[str, str | None]], first_row: int
    ) -> Iterator[tuple[str, dict[str, str]]]:
        for number, row in enumerate(rows, start=first_row):
            if number == first_row:
                self._check_columns(row)
            found = self._read(row, number)
            if found is not None:
                yield found

    def _check_columns(self, row: Mapping[str, str | None]) -> None:
        for column, name in self.map.columns():
            if column not in row:
                raise InputError(
                    f"has no column '{column}' (mapped to {name}); its columns are: "
                    + ", ".join(repr(c) for c in row),
                    file=self.file,
                    row=1,
                    field=column,
                )

    def _read(
        self, row: Mapping[str, str | None], number: int
    ) -> tuple[str, dict[str, str]] | None:
        record_id = self._record_id(row, number)
        if record_id is None:
            return None
        values: dict[str, str] = {}
        for name, source in self.map.fields.items():
            raw = source.value(row)
            if not raw:
                continue
            try:
                values.update(self.normalisers[name](raw))
            except ValueError as exc:
                bad = BadValue(number, "+".join(source.columns), str(exc), self.file)
                if not self._tolerate(bad, blank=True):
                    return None
        self.seen.add(record_id)
        return record_id, values

    def _record_id(self, row: Mapping[str, str | None], number: int) -> str | None:
        column = self.map.record_id
        if column is None:
            return str(number)
        record_id = (row.get(column) or "").strip()
        problem = ""
        if not record_id:
            problem = "the record id is blank"
        elif record_id in self.seen:
            problem = f"the record id '{record_id}' is used by an earlier row"
        if problem:
            bad = BadValue(number, column or RECORD_ID, problem, self.file)
            self._tolerate(bad, blank=False)
            return None
        return record_id

    def _tolerate(self, bad: BadValue, *, blank: bool) -> bool:
        """Report ``bad``; True if the row goes on (the value blanked), False if it is skipped."""
        if self.policy == "error" or (self.policy == "blank" and not blank):
            raise InputError(bad.message, file=self.file, row=bad.row, field=bad.column)
        if self.policy == "blank":
            self.report.blanked_values.append(bad)
            return True
        self.report.skipped_rows.append(bad)
        return False


def _normaliser(name: str, date_format: str | None) -> Callable[[str], dict[str, str]]:
    """The function from a field's raw text to its normalised value(s)."""
    if name == "given_name":

        def given(raw: str) -> dict[str, str]:
            whole, first = norm.given_name(raw)
            return {"given_name": whole, "given_name.first": first}

        return given
    if name == "surname":
        return lambda raw: {"surname": norm.surname(raw)}
    if name == "dob":
        fmt = date_format or "%Y-%m-%d"
        return lambda raw: {"dob": norm.dob(raw, fmt)}
    if name == "sex":
        return lambda raw: {"sex": norm.sex(raw)}
    if name == "address":
        return lambda raw: {"address": norm.address(raw)}
    if name == "postcode":
        return lambda raw: {"postcode": norm.postcode(raw)}
    if name in REFERENCE_FIELDS:
        return lambda raw: {name: norm.reference(name, raw)}
    return lambda raw: {}  # contact details are never encoded


class _Encoder:
    """Holds the keys and per-field caches for one encoding run."""

    def __init__(self, secret: bytes, settings: Settings) -> None:
        self.settings = settings
        self.filters = {
            f: FieldFilter(secret, f, settings.fields[f], settings.hardening, key_domain(f))
            for f in FUZZY_FIELDS
        }
        self.blocking_key = derive(secret, "blocking")
        self.reference_keys = {f: derive(secret, f"reference/{f}") for f in REFERENCE_FIELDS}
        self.nickname_key = derive(secret, "nickname")
        self.household_key = derive(secret, "household")
        self.grams: dict[str, Callable[[str], list[str]]] = {
            "given_name": self._text_grams,
            "surname": self._text_grams,
            "dob": _dob_tokens,
            "sex": lambda v: [v],
            "address": self._text_grams,
            "postcode": self._postcode_grams,
        }

    def _text_grams(self, value: str) -> list[str]:
        return qgrams(value, self.settings.qgram)

    def _postcode_grams(self, value: str) -> list[str]:
        return [*qgrams(value, self.settings.qgram), "\x01" + norm.postcode_district(value)]

    def encode_chunk(
        self, chunk: _Canonical
    ) -> tuple[
        list[str], dict[str, NDArray[np.uint64]], dict[str, NDArray[np.uint64]], NDArray[np.uint64]
    ]:
        salts = self._salts(chunk)
        filters = {f: self._field_rows(f, chunk.values[f], salts) for f in FUZZY_FIELDS}
        tokens = {
            f: self._tokens(self.reference_keys[f], chunk.values[f]) for f in REFERENCE_FIELDS
        }
        tokens[NICKNAME_TOKEN] = self._nicknames(chunk.first_names)
        tokens[HOUSEHOLD_TOKEN] = self._households(chunk)
        numbers = [" ".join(_NUMBERS.findall(a)) if a else "" for a in chunk.values["address"]]
        tokens[ADDRESS_NUMBERS_TOKEN] = self._tokens(self.household_key, _prefixed("n", numbers))
        return chunk.ids, filters, tokens, self._blocking(chunk)

    def _salts(self, chunk: _Canonical) -> list[str]:
        if self.settings.salt == "year-of-birth":
            return [d[:4] + _SEP for d in chunk.values["dob"]]
        return [""] * len(chunk.ids)

    def _field_rows(self, name: str, values: list[str], salts: list[str]) -> NDArray[np.uint64]:
        salted = self.settings.salt != "none" and self.settings.fields[name].salted
        keyed = (
            [s + v if v else "" for s, v in zip(salts, values, strict=True)] if salted else values
        )
        distinct: dict[str, int] = {}
        inverse = np.fromiter(
            (distinct.setdefault(v, len(distinct)) for v in keyed), dtype=np.intp, count=len(keyed)
        )
        grams, filt = self.grams[name], self.filters[name]
        masks = []
        for value in distinct:
            salt, _, plain = value.rpartition(_SEP) if salted else ("", "", value)
            prefix = salt + _SEP if salted else ""
            masks.append(filt.mask(prefix + g for g in grams(plain)) if plain else 0)
        return filt.rows(masks)[inverse]

    @staticmethod
    def _tokens(key: bytes, values: list[str]) -> NDArray[np.uint64]:
        cache: dict[str, int] = {"": 0}
        out = [cache[v] if v in cache else cache.setdefault(v, token64(key, v)) for v in values]
        return np.asarray(out, dtype=np.uint64)

    def _nicknames(self, first_names: list[str]) -> NDArray[np.uint64]:
        out = np.zeros((len(first_names), NICKNAME_SLOTS), dtype=np.uint64)
        for row, name in enumerate(first_names):
            for slot, group in enumerate(norm.nicknames(name)[:NICKNAME_SLOTS]):
                out[row, slot] = token64(self.nickname_key, group)
        return out

    def _households(self, chunk: _Canonical) -> NDArray[np.uint64]:
        texts = []
        for uprn, address, postcode in zip(
            chunk.values["uprn"], chunk.values["address"], chunk.values["postcode"], strict=True
        ):
            if uprn:
                texts.append("uprn" + _SEP + uprn)
            elif address and postcode:
                texts.append("address" + _SEP + address + _SEP + postcode)
            else:
                texts.append("")
        return self._tokens(self.household_key, texts)

    def _blocking(self, chunk: _Canonical) -> NDArray[np.uint64]:
        columns = [self._pass_keys(p, chunk) for p in self.settings.blocking]
        columns += [
            self._tokens(self.blocking_key, _prefixed(f, chunk.values[f])) for f in REFERENCE_FIELDS
        ]
        if not columns:
            return np.zeros((len(chunk.ids), 0), dtype=np.uint64)
        return np.stack(columns, axis=1) if chunk.ids else np.zeros((0, len(columns)), np.uint64)

    def _pass_keys(self, blocking: BlockingPass, chunk: _Canonical) -> NDArray[np.uint64]:
        parts = [_component(f, t, chunk) for f, t in blocking.parts]
        texts = []
        for values in zip(*parts, strict=True):
            texts.append(blocking.name + _SEP + _SEP.join(values) if all(values) else "")
        return self._tokens(self.blocking_key, texts)


def _prefixed(name: str, values: list[str]) -> list[str]:
    return [name + _SEP + v if v else "" for v in values]


def _component(field: str, transform: str, chunk: _Canonical) -> list[str]:
    """One blocking-key part for every record of the chunk ('' where it cannot be made)."""
    if field == "names":
        pairs = zip(chunk.first_names, chunk.values["surname"], strict=True)
        return [
            "".join(sorted((norm.phonetic(g), norm.phonetic(s)))) if g and s else ""
            for g, s in pairs
        ]
    if field == "given_name" and transform:
        first = chunk.first_names
        if transform == "first":
            return first
        if transform == "initial":
            return [n[:1] for n in first]
        if transform == "phonetic":
            return [norm.phonetic(n) for n in first]
        return [norm.nicknames(n)[0] if n else "" for n in first]
    values = chunk.values[field]
    if transform == "initial":
        return [v[:1] for v in values]
    if transform == "phonetic":
        return [norm.phonetic(v) for v in values]
    if transform == "year":
        return [v[:4] for v in values]
    if transform == "month-day":
        return [v[4:] for v in values]
    if transform == "district":
        return [norm.postcode_district(v) for v in values]
    if transform == "sector":
        return [norm.postcode_sector(v) for v in values]
    return values


def _dob_tokens(value: str) -> list[str]:
    """Positional digit pairs of YYYYMMDD, plus the day and month as an unordered pair (swaps)."""
    tokens = [f"{i}{value[i : i + 2]}" for i in range(len(value) - 1)]
    day, month = value[6:8], value[4:6]
    tokens.append("dm" + min(day, month) + max(day, month))
    return tokens
