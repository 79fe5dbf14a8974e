"""The partner's side: one extract → one bundle for the hub. Plain Python, no Django, no hub keys.

This is what runs on a partner's own machine (and what the demo harness runs on the partner's
behalf, from its own folder ``<data dir>/partner-side/``). It holds the partners' shared linkage
secret; the hub's code never reads it. What it needs from the hub is public: the hub's transport
public key (bundles are sealed to it) and the published agreement (which categories this partner
may send as flags, and as details).

For each row of the extract, checked against the partner's schema:

- the identity is encoded for linkage (keyed Bloom filters and tokens: ``records.kfe``), and so is
  any other person the row names (a parent or carer: ``related.kfe``);
- indicators become flags — only in categories the agreement lets this partner provide for
  identification; the rest are dropped and counted;
- detail columns are kept only for categories the agreement lets this partner share at the
  ``details`` level for some purpose; the rest are dropped and counted;
- the clear identity, the flags and the detail are sealed to the hub (``content.sealed``).

A bad row (a date that does not parse, a value that is not a number, a sex that is neither, a
repeated record id) stops the whole file with an InputError naming file, row and column, unless
``quarantine`` is set: then the row is set aside (listed in the result and in the manifest by row,
column and problem, never by value) and the rest goes in.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Final

from kinfold.errors import InputError
from kinfold.ingest import bundle
from kinfold.ingest.schema import DateColumn, Identity, ParsedRow, Schema, iter_rows
from kinfold.linkage import (
    BadValue,
    ColumnMap,
    EncodedTable,
    EncodeReport,
    Settings,
    concatenate,
    encode,
    key_id,
)
from kinfold.linkage.fields import DATE_FIELDS, FUZZY_FIELDS, REFERENCE_FIELDS

#: Rows encoded together (the encoder streams within a chunk; this bounds what is held at once).
CHUNK_ROWS: Final = 20_000
#: The suffix of the related-persons table's source name.
RELATED_SOURCE: Final = "~related"
_ENCODED_FIELDS: Final = (*FUZZY_FIELDS, *REFERENCE_FIELDS)
_QUOTED: Final = re.compile(r"'[^']*'")

#: Called as rows are read, with the number read so far.
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Allowance:
    """What the published agreement lets one partner send the hub."""

    organisation: str
    agreements: tuple[str, ...]  # labels like northfield-supporting-families@v2
    flags: frozenset[str]  # categories it may provide for identification (indicators)
    details: frozenset[str]  # categories it may share at the details level for some purpose

    @property
    def empty(self) -> bool:
        """True when no agreement lets this partner send anything."""
        return not self.flags and not self.details


def allowance_from_register(register: Any, organisation: str) -> Allowance:
    """A partner's allowance read from the agreements folder (``agreements.documents``' Register)
    — what a partner consults on its own machine: the approved agreements it is party to."""
    flags: set[str] = set()
    details: set[str] = set()
    labels: set[str] = set()
    for agreement in register.agreements:
        if agreement.status != "approved":
            continue
        for purpose in agreement.purposes:
            for share in purpose.shares:
                if organisation not in share.providers:
                    continue
                labels.add(f"{agreement.slug}@v{agreement.version}")
                if share.level == "details":
                    details.update(share.categories)
                elif purpose.purpose == "identification":
                    flags.update(share.categories)
    return Allowance(organisation, tuple(sorted(labels)), frozenset(flags), frozenset(details))


@dataclass(frozen=True)
class Quarantined:
    """A row set aside: where, and why. ``reason`` may quote the bad value (partner-side only);
    ``problem`` is the same with quoted values removed (what goes to the hub and into reports)."""

    row: int
    field: str
    reason: str

    @property
    def problem(self) -> str:
        return without_values(self.reason)


def without_values(message: str) -> str:
    """A message with every quoted value replaced by '…' (values may be personal data)."""
    return _QUOTED.sub("'…'", message)


@dataclass
class EncodeResult:
    """What encoding one extract produced."""

    partner: str
    extract: Path
    bundle: Path
    rows_read: int = 0
    records: int = 0
    related: int = 0
    indicators: int = 0
    quarantined: list[Quarantined] = field(default_factory=list)
    dropped_indicators: dict[str, int] = field(default_factory=dict)
    dropped_detail: dict[str, int] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)
    seconds: float = 0.0


def encode_extract(
    extract: str | Path,
    schema: Schema,
    *,
    quarter: str,
    secret: bytes,
    hub_key: bytes,
    allowance: Allowance,
    out: str | Path,
    quarantine: bool = False,
    settings: Settings | None = None,
    schema_sha256: str = "",
    progress: Progress | None = None,
) -> EncodeResult:
    """Encode one partner extract into a bundle at ``out`` (see the module doc and docs/ingest.md).

    InputError (file, row, field) for a bad file or, without ``quarantine``, a bad row; nothing is
    left at ``out`` then. ``hub_key`` is the hub's 32-byte transport public key.
    """
    started = time.perf_counter()
    extract, out = Path(extract), Path(out)
    if allowance.empty:
        raise InputError(
            f"no approved agreement lets {schema.organisation} send data to the hub", file=extract
        )
    if not extract.is_file():
        raise InputError("file not found", file=extract)
    if extract.stat().st_size == 0:
        raise InputError("is empty (0 bytes): there is no header row", file=extract, row=1)
    source_sha256 = bundle.sha256_file(extract)
    settings = settings or Settings.default()
    result = EncodeResult(schema.partner, extract, out)
    writer = bundle.BundleWriter(
        out, recipient=hub_key, partner=schema.partner, quarter=quarter, source_sha256=source_sha256
    )
    try:
        encoder = _Encoder(schema, quarter, secret, settings, allowance, result, quarantine)
        rows = _parsed_rows(extract, schema, result, quarantine, progress)
        records, related = encoder.run(rows, writer.content)
        manifest = _manifest(
            schema, quarter, extract, source_sha256, schema_sha256, allowance, secret, settings,
            result, hub_key,
        )  # fmt: skip
        writer.finish(records, related, manifest)
    except BaseException:
        writer.abandon()
        raise
    result.seconds = time.perf_counter() - started
    return result


def _parsed_rows(
    extract: Path,
    schema: Schema,
    result: EncodeResult,
    quarantine: bool,
    progress: Progress | None,
) -> Iterator[ParsedRow]:
    """The file's rows through the schema; bad rows raise, or are quarantined and skipped."""

    def check_header(header: list[str], file: Path) -> None:
        schema.check_header(header, file)
        result.ignored_columns = sorted(set(header) - schema.columns())

    seen: dict[str, int] = {}
    for number, row in iter_rows(extract, schema.format, header_check=check_header):
        result.rows_read += 1
        if progress is not None and result.rows_read % 1000 == 0:
            progress(result.rows_read)
        try:
            parsed = schema.read_row(row, row_number=number, file=extract)
            first = seen.setdefault(parsed.record_id, number)
            if first != number:
                raise InputError(
                    f"repeats record id '{parsed.record_id}' (first on row {first})",
                    file=extract,
                    row=number,
                    field=schema.record_id,
                )
        except InputError as exc:
            if not quarantine:
                raise
            result.quarantined.append(Quarantined(number, exc.location.field or "", exc.message))
            continue
        yield parsed
    if progress is not None:
        progress(result.rows_read)


@dataclass(frozen=True)
class _Related:
    """Another person named on a row, ready to encode."""

    key: str  # <quarter>/<record id>/<n>: its record id in related.kfe
    owner: int  # position of its row in the chunk
    rule: int  # which [[related]] rule of the schema named it
    identity: Identity


class _Encoder:
    """Encodes parsed rows chunk by chunk and writes each accepted row's sealed content."""

    def __init__(
        self,
        schema: Schema,
        quarter: str,
        secret: bytes,
        settings: Settings,
        allowance: Allowance,
        result: EncodeResult,
        quarantine: bool,
    ) -> None:
        self.schema, self.quarter, self.secret, self.settings = schema, quarter, secret, settings
        self.allowance, self.result, self.quarantine = allowance, result, quarantine
        self.main_map = _column_map(schema.identity)
        # one map for every related identity: each field any [[related]] rule names
        related_specs: dict[str, str | DateColumn] = {}
        for rule in schema.related:
            related_specs.update(rule.identity)
        self.related_map = _column_map(related_specs) if related_specs else self.main_map
        self.related_source = schema.partner + RELATED_SOURCE

    def run(
        self, rows: Iterable[ParsedRow], content: bundle.SealedWriter
    ) -> tuple[EncodedTable, EncodedTable]:
        records: list[EncodedTable] = []
        related: list[EncodedTable] = []
        chunk: list[ParsedRow] = []
        for parsed in rows:
            chunk.append(parsed)
            if len(chunk) >= CHUNK_ROWS:
                self._chunk(chunk, content, records, related)
                chunk = []
        if chunk or not records:
            self._chunk(chunk, content, records, related)
        return (
            concatenate(records, source=self.schema.partner),
            concatenate(related, source=self.related_source),
        )

    def _chunk(
        self,
        chunk: list[ParsedRow],
        content: bundle.SealedWriter,
        records: list[EncodedTable],
        related: list[EncodedTable],
    ) -> None:
        main_rows = [_linkage_row(p.record_id, p.identity, self.main_map) for p in chunk]
        main, bad_rows = self._encode(main_rows, self.main_map, self.schema.partner)
        bad = dict.fromkeys(bad_rows, self.schema.identity)
        others = self._related(chunk)
        other_rows = [_linkage_row(o.key, o.identity, self.related_map) for o in others]
        other_table, bad_others = self._encode(other_rows, self.related_map, self.related_source)
        for position, skipped in bad_others.items():
            owner = others[position].owner
            spec = self.schema.related[others[position].rule].identity
            bad_rows.setdefault(owner, skipped)
            bad.setdefault(owner, spec)
        for position, skipped in sorted(bad_rows.items()):
            found = bad[position].get(skipped.column)
            column = _column_name(found) if found is not None else skipped.column
            self._bad(chunk[position], column, skipped.message)
        keep = [i for i in range(len(chunk)) if i not in bad_rows]
        kept_others = [i for i, o in enumerate(others) if o.owner not in bad_rows]
        records.append(main.take(keep) if bad_rows else main)
        related.append(other_table.take(kept_others) if bad_rows else other_table)
        named: dict[int, list[list[Any]]] = {}
        for i in kept_others:
            other = others[i]
            relation = self.schema.related[other.rule].relation
            named.setdefault(other.owner, []).append(
                [relation, other.key, _vault_fields(other.identity)]
            )
        for i in keep:
            content.write(self._content(chunk[i], named.get(i, [])))
        self.result.records += len(keep)
        self.result.related += len(kept_others)

    def _related(self, chunk: list[ParsedRow]) -> list[_Related]:
        found: list[_Related] = []
        relations = [rule.relation for rule in self.schema.related]
        for position, parsed in enumerate(chunk):
            taken: dict[str, int] = {}
            for n, other in enumerate(parsed.related):
                # which [[related]] rule named it: the k-th rule of that relation
                k = taken.get(other.relation, 0)
                taken[other.relation] = k + 1
                rule = [i for i, r in enumerate(relations) if r == other.relation][k]
                key = f"{self.quarter}/{parsed.record_id}/{n}"
                found.append(_Related(key, position, rule, other.identity))
        return found

    def _encode(
        self, rows: list[dict[str, str]], column_map: ColumnMap, source: str
    ) -> tuple[EncodedTable, dict[int, BadValue]]:
        """Encode rows; the rows whose values the encoder could not read, by position."""
        report = EncodeReport()
        table = encode(
            rows, column_map, self.secret, self.settings, source=source,
            bad_values="skip-row", report=report, first_row=0,
        )  # fmt: skip
        bad: dict[int, BadValue] = {}
        for skipped in report.skipped_rows:
            bad.setdefault(skipped.row, skipped)
        return table, bad

    def _bad(self, parsed: ParsedRow, column: str, message: str) -> None:
        row = parsed.row or 0
        if not self.quarantine:
            raise InputError(message, file=self.result.extract, row=row, field=column)
        self.result.quarantined.append(Quarantined(row, column, message))

    def _content(self, parsed: ParsedRow, related: list[list[Any]]) -> dict[str, Any]:
        indicators = []
        for flag in parsed.indicators:
            if flag.category not in self.allowance.flags:
                dropped = self.result.dropped_indicators
                dropped[flag.code] = dropped.get(flag.code, 0) + 1
                continue
            indicators.append([flag.code, flag.category, flag.date.isoformat(), flag.value])
        self.result.indicators += len(indicators)
        detail = {}
        for category, values in parsed.detail.items():
            if category not in self.allowance.details:
                dropped = self.result.dropped_detail
                dropped[category] = dropped.get(category, 0) + 1
                continue
            kept = {column: value for column, value in values.items() if value}
            if kept:
                detail[category] = kept
        item: dict[str, Any] = {
            "r": parsed.record_id,
            "n": parsed.row,
            "id": _vault_fields(parsed.identity),
            "ind": indicators,
            "det": detail,
        }
        if related:
            item["rel"] = related
        return item


def _column_name(spec: str | DateColumn) -> str:
    return spec.column if isinstance(spec, DateColumn) else spec


def _column_map(identity: Mapping[str, str | DateColumn]) -> ColumnMap:
    """The encoder's map over rows made by :func:`_linkage_row`: each field is its own column,
    dates already in ISO form (the schema reader parsed them)."""
    spec: dict[str, object] = {}
    for name in identity:
        if name in DATE_FIELDS:
            spec[name] = {"column": name, "format": "%Y-%m-%d"}
        elif name in _ENCODED_FIELDS:
            spec[name] = name
    return ColumnMap.from_dict(spec, "id")


def _linkage_row(key: str, identity: Identity, column_map: ColumnMap) -> dict[str, str]:
    """One row for the encoder: every mapped field present ('' when the row lacks it)."""
    row = dict.fromkeys(column_map.fields, "")
    row["id"] = key
    for name in column_map.fields:
        value = identity.values.get(name)
        if value:
            parsed: date | None = identity.dates.get(name)
            row[name] = parsed.isoformat() if parsed is not None else value
    return row


def _vault_fields(identity: Identity) -> dict[str, str]:
    """The identity as the vault keeps it: every field the partner holds, dates in ISO form."""
    fields = {}
    for name, value in identity.values.items():
        parsed = identity.dates.get(name)
        fields[name] = parsed.isoformat() if parsed is not None else value.strip()
    return fields


def _manifest(
    schema: Schema,
    quarter: str,
    extract: Path,
    source_sha256: str,
    schema_sha256: str,
    allowance: Allowance,
    secret: bytes,
    settings: Settings,
    result: EncodeResult,
    hub_key: bytes,
) -> dict[str, Any]:
    return {
        "partner": schema.partner,
        "organisation": schema.organisation,
        "quarter": quarter,
        "source": {
            "file": extract.name,
            "sha256": source_sha256,
            "rows": result.rows_read,
            "ignored_columns": result.ignored_columns,
        },
        "schema": {
            "file": Path(schema.source).name if schema.source else "",
            "sha256": schema_sha256,
        },
        "agreements": list(allowance.agreements),
        "allowed": {"flags": sorted(allowance.flags), "details": sorted(allowance.details)},
        "encoding": {"key_id": key_id(secret), "settings": settings.encoding_fingerprint()},
        "transport": {"recipient": bundle.key_fingerprint(hub_key)},
        "counts": {
            "records": result.records,
            "related": result.related,
            "indicators": result.indicators,
            "quarantined": len(result.quarantined),
        },
        "quarantined": [
            {"row": q.row, "field": q.field, "problem": q.problem} for q in result.quarantined
        ],
        "dropped": {
            "indicators": dict(sorted(result.dropped_indicators.items())),
            "detail": dict(sorted(result.dropped_detail.items())),
        },
    }
