"""Persons, data keys and vault identities in bulk, for jobs that load a quarter at a time.

The single-row services (`people.services.create_person`, `people.vault.store`) are right for a
page or a test; a quarter's ingest touches a hundred thousand persons, so these do the same work
set-based: keys are wrapped and unwrapped with the key-epoch key read once, rows are written with
`bulk_create`, and "is this identity already in the vault?" is one query per batch, not per row.
The rules are the same as the single-row versions (and tested against them): one data key per
person, an identity sealed once per unchanged fingerprint, blind indexes for the same fields.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, cast

from django.conf import settings
from django.db import connection, models
from django.utils import timezone

from kinfold import crypto, keystore
from kinfold.agreements.models import Organisation
from kinfold.people import keys
from kinfold.people.models import BlindIndex, DataKey, Identity, Person
from kinfold.people.vault import INDEXED_FIELDS, _associated_data, fingerprint

#: Rows per batch of writes.
BATCH: Final = 2_000
#: Bound parameters per statement when ids come back (SQLite builds may allow as few as 999).
_PARAMETERS: Final = 900


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
    columns: list[str] = []
    adapters: list[Callable[[Any], Any] | None] = []
    for name in names:
        concrete = cast("models.Field[Any, Any]", model._meta.get_field(name))
        columns.append(connection.ops.quote_name(str(concrete.column)))
        target = concrete.target_field if concrete.is_relation else concrete  # type: ignore[attr-defined]
        adapters.append(None if _plain(target) else _prep(target))
    return columns, adapters


def _plain(target: models.Field[Any, Any]) -> bool:
    return isinstance(target, _PLAIN) and not isinstance(target, models.UUIDField)


def _prep(target: models.Field[Any, Any]) -> Callable[[Any], Any]:
    def prepare(value: Any) -> Any:
        return target.get_db_prep_save(value, connection)

    return prepare


def _insert_sql(model: type[models.Model], columns: list[str], values: str) -> str:
    """INSERT into the model's own table and columns (quoted names; values stay parameters)."""
    table = connection.ops.quote_name(model._meta.db_table)
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES {values}"  # noqa: S608


def _adapt(
    rows: Iterable[Sequence[Any]], adapters: list[Callable[[Any], Any] | None]
) -> list[tuple[Any, ...]]:
    if not any(adapters):
        return [tuple(row) for row in rows]
    return [
        tuple(
            value if adapt is None else adapt(value)
            for value, adapt in zip(row, adapters, strict=True)
        )
        for row in rows
    ]


def insert_rows(
    model: type[models.Model], names: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """INSERT plain rows (values in the order of the field ``names``) with executemany."""
    if not rows:
        return
    columns, adapters = _columns(model, names)
    sql = _insert_sql(model, columns, f"({', '.join(['%s'] * len(columns))})")
    with connection.cursor() as cursor:
        for start in range(0, len(rows), BATCH * 5):
            cursor.executemany(sql, _adapt(rows[start : start + BATCH * 5], adapters))


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
    per_statement = max(1, _PARAMETERS // len(columns))
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
        wrapped = bytes(key.wrapped)
        if key.destroyed_at is not None or not wrapped:
            raise keys.KeyDestroyed(f"data key {key.id} was destroyed: {key.destroyed_reason}")
        number = keystore.epoch_of(wrapped)
        if number is None:
            return crypto.unwrap_key(settings.KEYS.vault_master_key, wrapped, str(key.id))
        if number not in self._epochs:
            try:
                self._epochs[number] = keystore.epoch_key(number)
            except keystore.EpochDestroyed as exc:
                raise keys.KeyDestroyed(f"data key {key.id}: {exc}") from exc
        return crypto.unwrap_key(
            self._epochs[number], wrapped[keystore.HEADER_BYTES :], str(key.id)
        )

    def new_key(self) -> tuple[DataKey, bytes]:
        """A fresh data key (not yet saved) and its clear value."""
        clear = crypto.new_data_key()
        key = DataKey(id=uuid.uuid4())
        key.wrapped = self.wrap(clear, str(key.id))
        return key, clear


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
        pairs = [cache.new_key() for _ in batch]
        insert_rows(
            DataKey,
            ("id", "wrapped", "created_at", "destroyed_reason"),
            [(key.id, bytes(key.wrapped), now, "") for key, _ in pairs],
        )
        ids = insert_returning_ids(
            Person,
            ("pid", "data_key", "created_at", "first_seen", "year_of_birth"),
            [
                (spec.pid, key.id, now, spec.first_seen, spec.year_of_birth)
                for spec, (key, _) in zip(batch, pairs, strict=True)
            ],
        )
        for spec, person_id, (_, clear) in zip(batch, ids, pairs, strict=True):
            cache.remember(person_id, clear)
            made[spec.pid] = person_id
    return made


def load_keys(person_ids: Iterable[int], cache: KeyCache) -> list[int]:
    """Unwrap the data keys of existing persons into ``cache``; returns the persons whose key was
    destroyed (erased persons), whose keys are left out."""
    wanted = sorted({p for p in person_ids if p not in cache})
    erased: list[int] = []
    for start in range(0, len(wanted), BATCH):
        rows = Person.objects.filter(pk__in=wanted[start : start + BATCH]).select_related(
            "data_key"
        )
        for person in rows:
            try:
                cache.remember(person.pk, cache.unwrap(person.data_key))
            except keys.KeyDestroyed:
                erased.append(person.pk)
    return erased


def rekey(person_ids: Iterable[int], cache: KeyCache) -> None:
    """Give persons whose data key was destroyed a new one, so that what arrives about them from
    now on can be sealed; what the old key sealed stays unreadable."""
    for person_id in person_ids:
        key, clear = cache.new_key()
        key.save()
        Person.objects.filter(pk=person_id).update(data_key=key)
        cache.remember(person_id, clear)


_IDENTITY_COLUMNS: Final = (
    "person", "organisation", "fingerprint", "source_ref", "first_quarter", "last_quarter",
    "sealed", "created_at",
)  # fmt: skip


class _Owner:
    """Just what the vault's associated data reads of a person: its pseudonymous id."""

    __slots__ = ("pid",)

    def __init__(self, pid: str) -> None:
        self.pid = pid


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
                (identity_id, name, crypto.blind_index(index_key, name, fields[name]))
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
        ad = _associated_data(cast(Person, _Owner(pid)), organisation, digest)
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
