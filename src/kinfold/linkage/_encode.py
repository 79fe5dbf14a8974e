"""Encoding at the partner: extract rows → normalised values → keyed filters, tokens, blocking keys.

Streams: rows are read once, normalised one by one and encoded in chunks, so a partner's extract of
any size fits in memory as encodings (about 200 bytes a record with the default settings).
"""

from __future__ import annotations

import multiprocessing
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import islice, pairwise
from pathlib import Path
from typing import Final, Literal

import numpy as np
from numpy.typing import NDArray

from kinfold.errors import InputError
from kinfold.linkage import _normalise as norm
from kinfold.linkage._bloom import FieldFilter, qgrams
from kinfold.linkage._columns import ColumnMap, FieldSource
from kinfold.linkage._keys import check_secret, derive, key_id, tokens64
from kinfold.linkage._settings import BlockingPass, Settings
from kinfold.linkage._table import EncodedTable, TableHeader
from kinfold.linkage.fields import FUZZY_FIELDS, REFERENCE_FIELDS

BadValues = Literal["error", "skip-row", "blank"]
CHUNK: Final = 65_536
#: How many nickname groups a record's first given name is encoded into (most names have one).
NICKNAME_SLOTS: Final = 3
#: Tokens every encoded table carries, in this order, besides the reference numbers.
NICKNAME_TOKEN: Final = "given_name.nickname"  # noqa: S105 - a column name, not a password
HOUSEHOLD_TOKEN: Final = "household"  # noqa: S105 - a column name, not a password
#: The house and flat numbers of the address (keyed): close addresses must share them.
ADDRESS_NUMBERS_TOKEN: Final = "address.numbers"  # noqa: S105 - a column name, not a password
#: The date of birth with day and month in either order (keyed): equal for a day-month swap.
DOB_UNORDERED_TOKEN: Final = "dob.unordered"  # noqa: S105 - a column name, not a password
_SEP: Final = "\x1f"
_NUMBERS: Final = re.compile(r"\d+")
#: Fields whose filters are made of the letter pairs of their text.
_TEXT_FIELDS: Final = frozenset({"given_name", "surname", "address"})
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

    def part(self, start: int, stop: int) -> _Canonical:
        """Rows ``start`` to ``stop`` of the chunk."""
        return _Canonical(
            self.ids[start:stop],
            {f: v[start:stop] for f, v in self.values.items()},
            self.first_names[start:stop],
        )


#: One encoded chunk: record ids, filters, tokens, blocking keys.
Encoded = tuple[
    list[str], dict[str, NDArray[np.uint64]], dict[str, NDArray[np.uint64]], NDArray[np.uint64]
]
#: Chunks at least this long are encoded in parts in worker processes when ``workers`` > 1.
PARALLEL_ENCODE_FROM: Final = 20_000
#: What forked encoding workers read (fork shares it; only the results are sent back).
_JOB: dict[str, tuple[_Encoder, _Canonical]] = {}


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
    workers: int = 1,
) -> EncodedTable:
    """Encode an extract's rows (dicts of column → text) into an :class:`EncodedTable`.

    ``bad_values`` says what happens to a value that cannot be read (a date that does not parse, a
    sex that is neither): ``"error"`` raises InputError naming file, row and column; ``"skip-row"``
    drops the row and ``"blank"`` treats the value as missing — both record it in ``report``.
    Rows are numbered from ``first_row`` (2: the header is row 1). Missing values are not errors.
    ``workers`` > 1 encodes big chunks in that many forked processes (rows are still read and
    checked in order here; the result is identical). Leave it at 1 inside a process holding
    connections or threads it should not fork (a web or database process).
    """
    check_secret(secret)
    settings = settings or Settings.default()
    report = report if report is not None else EncodeReport()
    encoder = _Encoder(secret, settings)
    reader = _RowReader(column_map, bad_values, None if file is None else str(file), report)
    chunks = [_encode_chunk(encoder, chunk, workers) for chunk in reader.chunks(rows, first_row)]
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


def _encode_chunk(encoder: _Encoder, chunk: _Canonical, workers: int) -> Encoded:
    """One chunk encoded, in ``workers`` forked processes when it is big enough to pay."""
    size = len(chunk.ids)
    fork = "fork" in multiprocessing.get_all_start_methods()
    if workers < 2 or size < PARALLEL_ENCODE_FROM or not fork:
        return encoder.encode_chunk(chunk)
    bounds = np.linspace(0, size, workers + 1).astype(int).tolist()
    _JOB["job"] = (encoder, chunk)
    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            parts = list(pool.map(_encode_part, pairwise(bounds)))
    finally:
        _JOB.clear()
    return (
        [i for p in parts for i in p[0]],
        {f: np.concatenate([p[1][f] for p in parts]) for f in parts[0][1]},
        {t: np.concatenate([p[2][t] for p in parts]) for t in parts[0][2]},
        np.concatenate([p[3] for p in parts]),
    )


def _encode_part(bounds: tuple[int, int]) -> Encoded:
    encoder, chunk = _JOB["job"]
    return encoder.encode_chunk(chunk.part(*bounds))


def key_domain(field: str) -> str:
    """Whose key a field's filters use: given name and surname share one, so that names recorded
    the wrong way round can be recognised (their filters are comparable across the two fields)."""
    return "name" if field in ("given_name", "surname") else field


def blocking_names(settings: Settings) -> tuple[str, ...]:
    """Names of an encoded table's blocking passes: the settings' then the reference numbers."""
    return (*(p.name for p in settings.blocking), *REFERENCE_FIELDS)


class _Bad:
    """A value that did not normalise, and why (cached like a good value)."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message


Normalised = tuple[str, ...] | _Bad


class _RowReader:
    """Turns raw rows into chunks of normalised columns, applying the bad-value policy."""

    def __init__(
        self, column_map: ColumnMap, policy: BadValues, file: str | None, report: EncodeReport
    ) -> None:
        self.map, self.policy, self.file, self.report = column_map, policy, file, report
        self.seen: set[str] = set()
        self.fields = [
            (name, source, _normaliser(name, source.date_format))
            for name, source in column_map.fields.items()
            if name in _ENCODED
        ]

    def chunks(
        self, rows: Iterable[Mapping[str, str | None]], first_row: int
    ) -> Iterator[_Canonical]:
        """Chunks of up to CHUNK normalised records; rows numbered from ``first_row``."""
        source = iter(rows)
        number = first_row
        while batch := list(islice(source, CHUNK)):
            if number == first_row:
                self._check_columns(batch[0])
            chunk = self._chunk(batch, number)
            number += len(batch)
            if chunk.ids:
                yield chunk

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

    def _chunk(self, batch: list[Mapping[str, str | None]], start: int) -> _Canonical:
        columns: dict[str, list[Normalised]] = {}
        bad: list[tuple[int, int, BadValue]] = []
        for order, (name, source, normalise) in enumerate(self.fields):
            found = [normalise(raw) for raw in _raw_values(batch, source)]
            columns[name] = found
            bad.extend(
                (i, order, BadValue(start + i, "+".join(source.columns), v.message, self.file))
                for i, v in enumerate(found)
                if isinstance(v, _Bad)
            )
        skipped = self._apply_policy(sorted(bad, key=lambda b: (b[0], b[1])))
        ids = self._record_ids(batch, start, skipped)
        return self._canonical(columns, ids)

    def _apply_policy(self, bad: list[tuple[int, int, BadValue]]) -> set[int]:
        """Raise, skip or blank the bad values (in file order); the positions of skipped rows."""
        if bad and self.policy == "error":
            first = bad[0][2]
            raise InputError(first.message, file=self.file, row=first.row, field=first.column)
        if self.policy == "blank":
            self.report.blanked_values.extend(b for _, _, b in bad)
            return set()
        skipped: set[int] = set()
        for position, _, value in bad:
            if position not in skipped:
                skipped.add(position)
                self.report.skipped_rows.append(value)
        return skipped

    def _record_ids(
        self, batch: list[Mapping[str, str | None]], start: int, skipped: set[int]
    ) -> list[str | None]:
        """Each row's record id, or None for a row left out (skipped, blank or repeated id)."""
        column = self.map.record_id
        ids: list[str | None] = []
        for position, row in enumerate(batch):
            if position in skipped:
                ids.append(None)
                continue
            if column is None:
                ids.append(str(start + position))
                continue
            record_id = (row.get(column) or "").strip()
            problem = ""
            if not record_id:
                problem = "the record id is blank"
            elif record_id in self.seen:
                problem = f"the record id '{record_id}' is used by an earlier row"
            if problem:
                value = BadValue(start + position, column, problem, self.file)
                if self.policy != "skip-row":
                    raise InputError(problem, file=self.file, row=value.row, field=column)
                self.report.skipped_rows.append(value)
                ids.append(None)
                continue
            self.seen.add(record_id)
            ids.append(record_id)
        return ids

    def _canonical(self, columns: dict[str, list[Normalised]], ids: list[str | None]) -> _Canonical:
        kept = [i for i, record_id in enumerate(ids) if record_id is not None]
        chunk = _Canonical()
        chunk.ids = [ids[i] or "" for i in kept]
        empty = [""] * len(kept)
        for name in _ENCODED:
            chunk.values[name] = empty
        chunk.first_names = empty
        for name, found in columns.items():
            values = [found[i] for i in kept]
            chunk.values[name] = [v[0] if isinstance(v, tuple) else "" for v in values]
            if name == "given_name":
                chunk.first_names = [v[1] if isinstance(v, tuple) else "" for v in values]
        return chunk


def _raw_values(batch: list[Mapping[str, str | None]], source: FieldSource) -> list[str]:
    if len(source.columns) == 1:
        column = source.columns[0]
        return [(row.get(column) or "").strip() for row in batch]
    return [source.value(row) for row in batch]


def _normaliser(name: str, date_format: str | None) -> Callable[[str], Normalised]:
    """The cached function from a field's raw text to its normalised value(s) or a _Bad."""
    plain = _plain_normaliser(name, date_format)

    @lru_cache(maxsize=1_000_000)
    def normalise(raw: str) -> Normalised:
        if not raw:
            return ("", "")
        try:
            return plain(raw)
        except ValueError as exc:
            return _Bad(str(exc))

    return normalise


def _plain_normaliser(name: str, date_format: str | None) -> Callable[[str], tuple[str, ...]]:
    if name == "given_name":
        return norm.given_name
    if name == "surname":
        return lambda raw: (norm.surname(raw),)
    if name == "dob":
        fmt = date_format or "%Y-%m-%d"
        return lambda raw: (norm.dob(raw, fmt),)
    if name == "sex":
        return lambda raw: (norm.sex(raw),)
    if name == "address":
        return lambda raw: (norm.address(raw),)
    if name == "postcode":
        return lambda raw: (norm.postcode(raw),)
    return lambda raw: (norm.reference(name, raw),)


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
        self.dob_key = derive(secret, "token/dob.unordered")
        self._words: dict[str, int] = {}  # address word (with its neighbours' marks) → mask
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

    def encode_chunk(self, chunk: _Canonical) -> Encoded:
        salts = self._salts(chunk)
        filters = {f: self._field_rows(f, chunk.values[f], salts) for f in FUZZY_FIELDS}
        tokens = {
            f: self._tokens(self.reference_keys[f], chunk.values[f]) for f in REFERENCE_FIELDS
        }
        tokens[NICKNAME_TOKEN] = self._nicknames(chunk.first_names)
        tokens[HOUSEHOLD_TOKEN] = self._households(chunk)
        numbers = [" ".join(_NUMBERS.findall(a)) if a else "" for a in chunk.values["address"]]
        tokens[ADDRESS_NUMBERS_TOKEN] = self._tokens(self.household_key, _prefixed("n", numbers))
        tokens[DOB_UNORDERED_TOKEN] = self._tokens(
            self.dob_key, _component("dob", "unordered", chunk)
        )
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
        if not salted and self.settings.qgram == 2 and name in _TEXT_FIELDS:
            present = [value for value in distinct if value]
            found = np.zeros((len(distinct), filt.encoded_bits // 64), dtype=np.uint64)
            if present:
                rows = np.fromiter((distinct[v] for v in present), np.intp, len(present))
                found[rows] = filt.bigram_rows(present)
            if len(present) < len(distinct):  # a missing value's filter: hardened zeros
                found[distinct[""]] = filt.rows([0])[0]
            return found[inverse]
        if name == "address" and self.settings.qgram == 2:
            # addresses repeat their words: build each from its words' cached filters
            mask: Callable[[str, str], int] = self._address_mask
        else:
            mask = lambda value, prefix: filt.mask(grams(value), prefix)  # noqa: E731
        masks = []
        if salted:
            for value in distinct:
                salt, _, plain = value.rpartition(_SEP)
                masks.append(mask(plain, salt + _SEP) if plain else 0)
        else:
            masks = [mask(value, "") if value else 0 for value in distinct]
        return filt.rows(masks)[inverse]

    def _address_mask(self, value: str, prefix: str) -> int:
        """The address filter of a value, OR-ed together word by word.

        A normalised address is words joined by single spaces, so its bigrams are each word's
        bigrams with the space (or the start or end mark) on either side of it: the filter is
        the OR of its words' filters, which are cached, as streets and towns repeat."""
        words = self._words
        result = 0
        pieces = value.split(" ")
        last = len(pieces) - 1
        for i, word in enumerate(pieces):
            padded = ("\x02" if i == 0 else " ") + word + ("\x03" if i == last else " ")
            key = prefix + padded
            found = words.get(key)
            if found is None:
                found = words[key] = self.filters["address"].mask(
                    [padded[j : j + 2] for j in range(len(padded) - 1)], prefix
                )
            result |= found
        return result

    @staticmethod
    def _tokens(key: bytes, values: list[str]) -> NDArray[np.uint64]:
        return tokens64(key, values)

    def _nicknames(self, first_names: list[str]) -> NDArray[np.uint64]:
        out = np.zeros((len(first_names), NICKNAME_SLOTS), dtype=np.uint64)
        for slot in range(NICKNAME_SLOTS):
            groups = [_slot(norm.nicknames(name), slot) for name in first_names]
            out[:, slot] = tokens64(self.nickname_key, groups)
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
        parts: dict[tuple[str, str], list[str]] = {}  # several passes share a part
        columns = [self._pass_keys(p, chunk, parts) for p in self.settings.blocking]
        columns += [
            self._tokens(self.blocking_key, _prefixed(f, chunk.values[f])) for f in REFERENCE_FIELDS
        ]
        if not columns:
            return np.zeros((len(chunk.ids), 0), dtype=np.uint64)
        return np.stack(columns, axis=1) if chunk.ids else np.zeros((0, len(columns)), np.uint64)

    def _pass_keys(
        self, blocking: BlockingPass, chunk: _Canonical, made: dict[tuple[str, str], list[str]]
    ) -> NDArray[np.uint64]:
        parts = []
        for part in blocking.parts:
            if part not in made:
                made[part] = _component(*part, chunk)
            parts.append(made[part])
        label = blocking.name + _SEP
        texts = [
            label + _SEP.join(values) if all(values) else "" for values in zip(*parts, strict=True)
        ]
        return self._tokens(self.blocking_key, texts)


def _slot(groups: tuple[str, ...], slot: int) -> str:
    return groups[slot] if slot < len(groups) else ""


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
    if transform == "year-month":
        return [v[:6] for v in values]
    if transform == "month-day":
        return [v[4:] for v in values]
    if transform == "unordered":  # the same whichever way round day and month were written
        return [v[:4] + min(v[4:6], v[6:]) + max(v[4:6], v[6:]) if v else "" for v in values]
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
