"""Persons, data keys and vault identities in bulk, for jobs that load a quarter at a time.

The single-row services (`people.services.create_person`, `people.vault.store`) are right for a
page or a test; a quarter's ingest touches a hundred thousand persons, so these do the same work
set-based: keys are wrapped and unwrapped with the key-epoch key read once, rows are written with
`bulk_create`, and "is this identity already in the vault?" is one query per batch, not per row.
The rules are the same as the single-row versions (and tested against them): one data key per
person, an identity sealed once per unchanged fingerprint, blind indexes for the same fields.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Final, cast

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.utils import timezone

from kinfold import crypto, keystore
from kinfold.agreements.models import Organisation
from kinfold.people import keys
from kinfold.people.models import BlindIndex, DataKey, Identity, Person
from kinfold.people.vault import INDEXED_FIELDS, _associated_data

#: Rows per batch of writes.
BATCH: Final = 2_000
#: Bound parameters per statement when ids come back (SQLite builds may allow as few as 999).
_PARAMETERS: Final = 900
#: PostgreSQL allows 65,535 bound parameters a statement.
_PARAMETERS_POSTGRESQL: Final = 30_000


# -- raw inserts ----------------------------------------------------------------------------------
# `bulk_create` builds a model instance per row and prepares each value through the ORM; for a
# quarter's hundreds of thousands of rows that is most of the time. These write plain tuples with
# executemany (or multi-row INSERT … RETURNING when the ids are needed), adapting only the
# date and time values, as the ORM would.


_PLAIN: Final = (models.CharField, models.IntegerField, models.FloatField, models.BooleanField)


def _columns(
    model: type[models.Model], names: Sequence[str]
) -> tuple[list[str], list[Callable[[Any], Any] | None]]:
    """Column names and, where the ORM would change a value, the function that does it."""
    real = connections[DEFAULT_DB_ALIAS]  # not the proxy: it looks the connection up per use
    columns: list[str] = []
    adapters: list[Callable[[Any], Any] | None] = []
    for name in names:
        concrete = cast("models.Field[Any, Any]", model._meta.get_field(name))
        columns.append(real.ops.quote_name(str(concrete.column)))
        target = concrete.target_field if concrete.is_relation else concrete  # type: ignore[attr-defined]
        adapters.append(_adapter(target, real))
    return columns, adapters


def _adapter(target: models.Field[Any, Any], real: Any) -> Callable[[Any], Any] | None:
    if isinstance(target, models.UUIDField):
        return lambda value: target.get_db_prep_save(value, real)
    if isinstance(target, models.DateTimeField):
        return _last_one(real.ops.adapt_datetimefield_value)
    if isinstance(target, models.DateField):
        return _last_one(real.ops.adapt_datefield_value)
    if isinstance(target, (*_PLAIN, models.BinaryField)):
        return None  # both drivers take str, int, float, bool and bytes as they are
    return lambda value: target.get_db_prep_save(value, real)


def _last_one(adapt: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``adapt``, remembering its last answer: a batch's rows mostly share a date (a census date,
    the time the batch was written), so most values are the one before."""
    last: list[Any] = [object(), None]

    def run(value: Any) -> Any:
        if value != last[0]:
            last[0], last[1] = value, adapt(value)
        return last[1]

    return run


def _insert_sql(model: type[models.Model], columns: list[str], values: str) -> str:
    """INSERT into the model's own table and columns (quoted names; values stay parameters)."""
    table = connection.ops.quote_name(model._meta.db_table)
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES {values}"  # noqa: S608


def _adapt(
    rows: Iterable[Sequence[Any]], adapters: list[Callable[[Any], Any] | None]
) -> list[Sequence[Any]]:
    changing = [(i, adapt) for i, adapt in enumerate(adapters) if adapt is not None]
    if not changing:
        return list(rows)
    adapted: list[Sequence[Any]] = []
    for row in rows:
        values = list(row)
        for i, adapt in changing:
            values[i] = adapt(values[i])
        adapted.append(values)
    return adapted


def insert_rows(
    model: type[models.Model], names: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """INSERT plain rows (values in the order of the field ``names``): COPY on PostgreSQL,
    executemany elsewhere."""
    if not rows:
        return
    columns, adapters = _columns(model, names)
    if connection.vendor == "postgresql":
        _copy(model, columns, _adapt(rows, adapters))
        return
    sql = _insert_sql(model, columns, f"({', '.join(['%s'] * len(columns))})")
    with connection.cursor() as cursor:
        for start in range(0, len(rows), BATCH * 5):
            cursor.executemany(sql, _adapt(rows[start : start + BATCH * 5], adapters))


def _copy(model: type[models.Model], columns: list[str], rows: Iterable[Sequence[Any]]) -> None:
    """PostgreSQL's COPY FROM STDIN: several times faster than INSERT for a quarter's rows."""
    table = connection.ops.quote_name(model._meta.db_table)
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(
            f"COPY {table} ({', '.join(columns)}) FROM STDIN"  # our own table and columns, quoted
        ) as copy,
    ):
        for row in rows:
            copy.write_row(row)


def insert_returning_ids(
    model: type[models.Model], names: Sequence[str], rows: Sequence[Sequence[Any]]
) -> list[int]:
    """INSERT plain rows and return their new primary keys, in order (multi-row INSERT …
    RETURNING, which PostgreSQL and SQLite 3.35+ both answer in the order given)."""
    if not rows:
        return []
    columns, adapters = _columns(model, names)
    pk = connection.ops.quote_name(str(model._meta.pk.column))
    placeholder = f"({', '.join(['%s'] * len(columns))})"
    limit = _PARAMETERS_POSTGRESQL if connection.vendor == "postgresql" else _PARAMETERS
    per_statement = max(1, limit // len(columns))
    ids: list[int] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            chunk = _adapt(rows[start : start + per_statement], adapters)
            values = ", ".join([placeholder] * len(chunk))
            sql = _insert_sql(model, columns, f"{values} RETURNING {pk}")
            cursor.execute(sql, [value for row in chunk for value in row])
            ids.extend(int(r[0]) for r in cursor.fetchall())
    return ids


class KeyCache:
    """Clear data keys for one run, unwrapped once each (with each key epoch's key read once)."""

    def __init__(self) -> None:
        self._clear: dict[int, bytes] = {}  # person pk → clear key
        self._epochs: dict[int, bytes] = {}
        self._current: tuple[int, bytes] | None = None

    def __contains__(self, person_id: int) -> bool:
        return person_id in self._clear

    def get(self, person_id: int) -> bytes:
        """The clear key of a person loaded or created in this run."""
        return self._clear[person_id]

    def remember(self, person_id: int, clear: bytes) -> None:
        self._clear[person_id] = clear

    def wrap(self, clear: bytes, key_id: str) -> bytes:
        """Wrap a new data key as `people.keys` does (under the current key epoch, if any)."""
        if not keystore.enabled():
            return crypto.wrap_key(settings.KEYS.vault_master_key, clear, key_id)
        if self._current is None:
            self._current = keystore.current()
        number, kek = self._current
        return keystore.MAGIC + number.to_bytes(4, "big") + crypto.wrap_key(kek, clear, key_id)

    def unwrap(self, key: DataKey) -> bytes:
        """Unwrap like `people.keys.unwrap` (KeyDestroyed after erasure), caching epoch keys."""
        return self.unwrap_values(key.id, key.wrapped, key.destroyed_at, key.destroyed_reason)

    def unwrap_values(
        self, key_id: uuid.UUID, wrapped: bytes | memoryview, destroyed_at: object, reason: str
    ) -> bytes:
        """:meth:`unwrap` from a DataKey's column values (no model instance needed)."""
        wrapped = bytes(wrapped)
        if destroyed_at is not None or not wrapped:
            raise keys.KeyDestroyed(f"data key {key_id} was destroyed: {reason}")
        number = keystore.epoch_of(wrapped)
        if number is None:
            return crypto.unwrap_key(settings.KEYS.vault_master_key, wrapped, str(key_id))
        if number not in self._epochs:
            try:
                self._epochs[number] = keystore.epoch_key(number)
            except keystore.EpochDestroyed as exc:
                raise keys.KeyDestroyed(f"data key {key_id}: {exc}") from exc
        epoch = self._epochs[number]
        return crypto.unwrap_key(epoch, wrapped[keystore.HEADER_BYTES :], str(key_id))

    def new_key(self) -> tuple[uuid.UUID, bytes, bytes]:
        """A fresh data key, not yet saved: its id, wrapped value and clear value."""
        clear = crypto.new_data_key()
        key_id = uuid.uuid4()
        return key_id, self.wrap(clear, str(key_id)), clear


@dataclass(frozen=True)
class NewPerson:
    pid: str
    first_seen: str
    year_of_birth: int | None = None


def create_persons(specs: Sequence[NewPerson], cache: KeyCache) -> dict[str, int]:
    """Create persons, each with its own new data key; returns pid → primary key."""
    made: dict[str, int] = {}
    now = timezone.now()
    for start in range(0, len(specs), BATCH):
        batch = specs[start : start + BATCH]
        made_keys = [cache.new_key() for _ in batch]
        insert_rows(
            DataKey,
            ("id", "wrapped", "created_at", "destroyed_reason"),
            [(key_id, wrapped, now, "") for key_id, wrapped, _ in made_keys],
        )
        ids = insert_returning_ids(
            Person,
            ("pid", "data_key", "created_at", "first_seen", "year_of_birth"),
            [
                (spec.pid, key_id, now, spec.first_seen, spec.year_of_birth)
                for spec, (key_id, _, _) in zip(batch, made_keys, strict=True)
            ],
        )
        for spec, person_id, (_, _, clear) in zip(batch, ids, made_keys, strict=True):
            cache.remember(person_id, clear)
            made[spec.pid] = person_id
    return made


def set_missing_births(born: Mapping[int, tuple[int, int | None]]) -> None:
    """Set ``year_of_birth`` and ``month_of_birth`` (person pk → (year, month or None)) on the
    persons that have no year yet, and the month on those with that year and no month."""
    table = connection.ops.quote_name(Person._meta.db_table)
    sql = (
        f"UPDATE {table} SET year_of_birth = COALESCE(year_of_birth, %s), "  # noqa: S608 - our own table
        "month_of_birth = CASE WHEN month_of_birth IS NULL AND COALESCE(year_of_birth, %s) = %s "
        "THEN %s ELSE month_of_birth END "
        "WHERE id = %s AND (year_of_birth IS NULL OR month_of_birth IS NULL)"
    )
    rows = [
        (year, year, year, month, person_id) for person_id, (year, month) in sorted(born.items())
    ]
    with connection.cursor() as cursor:
        for start in range(0, len(rows), BATCH * 5):
            cursor.executemany(sql, rows[start : start + BATCH * 5])


def load_keys(person_ids: Iterable[int], cache: KeyCache) -> list[int]:
    """Unwrap the data keys of existing persons into ``cache``; returns the persons whose key was
    destroyed (erased persons), whose keys are left out."""
    wanted = sorted({p for p in person_ids if p not in cache})
    erased: list[int] = []
    columns = ("pk", "data_key_id", "data_key__wrapped", "data_key__destroyed_at")
    for start in range(0, len(wanted), BATCH):
        rows = Person.objects.filter(pk__in=wanted[start : start + BATCH]).values_list(*columns)
        for person_id, key_id, wrapped, destroyed_at in rows:
            try:
                cache.remember(person_id, cache.unwrap_values(key_id, wrapped, destroyed_at, ""))
            except keys.KeyDestroyed:
                erased.append(person_id)
    return erased


def rekey(person_ids: Iterable[int], cache: KeyCache) -> None:
    """Give persons whose data key was destroyed a new one, so that what arrives about them from
    now on can be sealed; what the old key sealed stays unreadable."""
    for person_id in person_ids:
        key_id, wrapped, clear = cache.new_key()
        key = DataKey.objects.create(id=key_id, wrapped=wrapped)
        Person.objects.filter(pk=person_id).update(data_key=key)
        cache.remember(person_id, clear)


@lru_cache(maxsize=200_000)
def _normal(value: str) -> str:
    # names, postcodes and addresses repeat across a quarter's records: normalise each once
    return crypto.normalise_for_index(value)


def fingerprint(fields: Mapping[str, str]) -> str:
    """`vault.fingerprint`, with each value's normal form cached (the same digest: tested)."""
    canonical = json.dumps({k: _normal(v) for k, v in sorted(fields.items()) if v}, sort_keys=True)
    return hmac.new(
        settings.KEYS.blind_index_key, b"identity\x00" + canonical.encode(), hashlib.sha256
    ).hexdigest()


@lru_cache(maxsize=200_000)
def _blind_index(key: bytes, name: str, value: str) -> str:
    return crypto.blind_index(key, name, value)


_IDENTITY_COLUMNS: Final = (
    "person", "organisation", "fingerprint", "source_ref", "first_quarter", "last_quarter",
    "sealed", "created_at",
)  # fmt: skip


class _Owner:
    """Just what the vault's associated data reads of a person (its pseudonymous id) or of an
    organisation (its slug)."""

    __slots__ = ("pid", "slug")

    def __init__(self, pid: str = "", slug: str = "") -> None:
        self.pid, self.slug = pid, slug


def identity_associated_data(pid: str, organisation_slug: str, digest: str) -> bytes:
    """What `people.vault` binds a sealed identity to, from plain values (no model instances)."""
    owner = cast(Person, _Owner(pid=pid))
    organisation = cast(Organisation, _Owner(slug=organisation_slug))
    return _associated_data(owner, organisation, digest)


@dataclass
class VaultWriter:
    """Seals identities for the vault in batches, once per unchanged identity (as `vault.store`).

    ``add`` buffers; ``flush`` writes: one query finds which identities each batch's persons
    already have (those only get ``last_quarter`` moved on), the rest are sealed under the
    person's key with the same associated data as `vault.store` and written with their blind
    indexes.
    """

    quarter: str
    cache: KeyCache
    created: int = 0
    seen_again: int = 0
    _pending: list[tuple[int, str, Organisation, str, dict[str, str], str]] = field(
        default_factory=list
    )

    def add(
        self, person_id: int, pid: str, organisation: Organisation, source_ref: str,
        fields: Mapping[str, str],
    ) -> None:  # fmt: skip
        clean = {k: v for k, v in fields.items() if v}
        if clean:
            self._pending.append(
                (person_id, pid, organisation, source_ref, clean, fingerprint(clean))
            )
        if len(self._pending) >= BATCH:
            self.flush()

    def flush(self) -> None:
        pending, self._pending = self._pending, []
        if not pending:
            return
        existing = self._existing(pending)
        later: list[int] = []
        new: dict[tuple[int, int, str], tuple[tuple[Any, ...], dict[str, str]]] = {}
        now = timezone.now()
        for person_id, pid, organisation, source_ref, fields, digest in pending:
            key = (person_id, organisation.pk, digest)
            if key in existing:
                pk, last = existing[key]
                if last < self.quarter:
                    later.append(pk)
                    existing[key] = (pk, self.quarter)
                self.seen_again += 1
                continue
            if key in new:
                continue
            sealed = self._seal(person_id, pid, organisation, digest, fields)
            row = (
                person_id,
                organisation.pk,
                digest,
                source_ref[:120],
                self.quarter,
                self.quarter,
                sealed,
                now,
            )
            new[key] = (row, fields)
        for start in range(0, len(later), BATCH):
            Identity.objects.filter(pk__in=later[start : start + BATCH]).update(
                last_quarter=self.quarter
            )
        ids = insert_returning_ids(Identity, _IDENTITY_COLUMNS, [row for row, _ in new.values()])
        index_key = settings.KEYS.blind_index_key
        insert_rows(
            BlindIndex,
            ("identity", "field", "digest"),
            [
                (identity_id, name, _blind_index(index_key, name, fields[name]))
                for identity_id, (_, fields) in zip(ids, new.values(), strict=True)
                for name in INDEXED_FIELDS
                if fields.get(name)
            ],
        )
        self.created += len(ids)

    def _seal(
        self,
        person_id: int,
        pid: str,
        organisation: Organisation,
        digest: str,
        fields: dict[str, str],
    ) -> bytes:
        payload = json.dumps(fields, sort_keys=True).encode()
        ad = identity_associated_data(pid, organisation.slug, digest)
        return crypto.seal(self.cache.get(person_id), payload, ad).to_bytes()

    @staticmethod
    def _existing(
        pending: list[tuple[int, str, Organisation, str, dict[str, str], str]],
    ) -> dict[tuple[int, int, str], tuple[int, str]]:
        persons = sorted({p[0] for p in pending})
        organisations = sorted({p[2].pk for p in pending})
        rows = Identity.objects.filter(
            person_id__in=persons, organisation_id__in=organisations
        ).values_list("person_id", "organisation_id", "fingerprint", "pk", "last_quarter")
        return {(p, o, f): (pk, last) for p, o, f, pk, last in rows}
