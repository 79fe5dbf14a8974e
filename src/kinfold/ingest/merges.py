"""Merging persons that new evidence shows are one: everything moves onto the survivor.

Linkage (`resolve_persons`) reports merges as retired id → surviving id. The retired person's
partner records, flags, household memberships and parent links are moved to the survivor; its
vault identities and sealed details are re-sealed under the survivor's key (their associated
data names the person, so they cannot simply be re-pointed). An identity the survivor already has
(the same fingerprint from the same organisation) is kept once. A person is never their own parent,
and a person lives in one household a quarter (the survivor's own wins).

Set-based: a quarter of a 250,000-resident borough can merge a thousand persons, so each step is a
handful of queries for all of them, not a handful per person. Runs inside the ingest transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection

from kinfold import crypto
from kinfold.ingest.models import Indicator, PartnerRecord, SealedDetail
from kinfold.ingest.sealing import detail_associated_data
from kinfold.people import bulk
from kinfold.people.models import HouseholdMember, Identity, ParentLink, Person

Pair = tuple[int, int]  # (retired person pk, surviving person pk)


def move_persons(pairs: Sequence[Pair], cache: bulk.KeyCache) -> None:
    """Move everything about each retired person onto its survivor (see the module doc)."""
    if not pairs:
        return
    survivor_of = dict(pairs)
    everyone = sorted(set(survivor_of) | set(survivor_of.values()))
    bulk.load_keys(everyone, cache)
    pids = dict(Person.objects.filter(pk__in=everyone).values_list("pk", "pid"))
    _reseal_details(survivor_of, pids, cache)
    _repoint(PartnerRecord._meta.db_table, "person_id", pairs)
    _repoint(Indicator._meta.db_table, "person_id", pairs)
    _reseal_identities(survivor_of, pids, cache)
    _move_households(survivor_of)
    _move_parent_links(survivor_of)


def _repoint(table: str, column: str, pairs: Iterable[Pair]) -> None:
    quoted, field = connection.ops.quote_name(table), connection.ops.quote_name(column)
    sql = f"UPDATE {quoted} SET {field} = %s WHERE {field} = %s"  # noqa: S608 - our own names
    with connection.cursor() as cursor:
        cursor.executemany(sql, [(survivor, retired) for retired, survivor in pairs])


def _update(table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    """UPDATE table SET columns… WHERE id = the last value of each row."""
    if not rows:
        return
    setting = ", ".join(f"{connection.ops.quote_name(c)} = %s" for c in columns)
    sql = f"UPDATE {connection.ops.quote_name(table)} SET {setting} WHERE id = %s"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _can_open(person_ids: Iterable[int], cache: bulk.KeyCache) -> bool:
    return all(p in cache for p in person_ids)


def _reseal_details(
    survivor_of: dict[int, int], pids: dict[int, str], cache: bulk.KeyCache
) -> None:
    details = SealedDetail.objects.filter(person_id__in=list(survivor_of)).values_list(
        "pk",
        "person_id",
        "category__slug",
        "sealed",
        "record__organisation_id",
        "record__source_ref",
        "record__quarter",
    )
    rows: list[tuple[Any, ...]] = []
    for pk, old, slug, sealed, organisation, ref, quarter in details:
        new = survivor_of[old]
        if not _can_open((old, new), cache):
            rows.append((new, bytes(sealed), pk))  # erased: cannot be opened, moves as it is
            continue
        old_ad = detail_associated_data(pids[old], organisation, ref, quarter, slug)
        plain = crypto.open_sealed(cache.get(old), crypto.Sealed.from_bytes(bytes(sealed)), old_ad)
        new_ad = detail_associated_data(pids[new], organisation, ref, quarter, slug)
        rows.append((new, crypto.seal(cache.get(new), plain, new_ad).to_bytes(), pk))
    _update(SealedDetail._meta.db_table, ("person_id", "sealed"), rows)


def _reseal_identities(
    survivor_of: dict[int, int], pids: dict[int, str], cache: bulk.KeyCache
) -> None:
    survivors = sorted(set(survivor_of.values()))
    kept = {
        (person, organisation, fingerprint): (pk, first)
        for person, organisation, fingerprint, pk, first in Identity.objects.filter(
            person_id__in=survivors
        ).values_list("person_id", "organisation_id", "fingerprint", "pk", "first_quarter")
    }
    moving = Identity.objects.filter(person_id__in=list(survivor_of)).values_list(
        "pk", "person_id", "organisation_id", "organisation__slug", "fingerprint", "sealed",
        "first_quarter",
    )  # fmt: skip
    duplicates: list[int] = []
    earlier: list[tuple[Any, ...]] = []
    rows: list[tuple[Any, ...]] = []
    for pk, old, organisation, slug, fingerprint, sealed, first in moving:
        new = survivor_of[old]
        key = (new, organisation, fingerprint)
        if key in kept:
            kept_pk, kept_first = kept[key]
            duplicates.append(pk)
            if first < kept_first:
                earlier.append((first, kept_pk))
                kept[key] = (kept_pk, first)
            continue
        blob = bytes(sealed)
        if _can_open((old, new), cache):
            plain = crypto.open_sealed(
                cache.get(old),
                crypto.Sealed.from_bytes(blob),
                bulk.identity_associated_data(pids[old], slug, fingerprint),
            )
            blob = crypto.seal(
                cache.get(new), plain, bulk.identity_associated_data(pids[new], slug, fingerprint)
            ).to_bytes()
        rows.append((new, blob, pk))
        kept[key] = (pk, first)
    Identity.objects.filter(pk__in=duplicates).delete()  # and their blind indexes
    _update(Identity._meta.db_table, ("first_quarter",), earlier)
    _update(Identity._meta.db_table, ("person_id", "sealed"), rows)


def _move_households(survivor_of: dict[int, int]) -> None:
    taken = set(
        HouseholdMember.objects.filter(person_id__in=set(survivor_of.values())).values_list(
            "person_id", "quarter"
        )
    )
    drop: list[int] = []
    rows: list[tuple[Any, ...]] = []
    for pk, old, quarter in HouseholdMember.objects.filter(
        person_id__in=list(survivor_of)
    ).values_list("pk", "person_id", "quarter"):
        new = survivor_of[old]
        if (new, quarter) in taken:
            drop.append(pk)  # the survivor's own household that quarter wins
        else:
            taken.add((new, quarter))
            rows.append((new, pk))
    HouseholdMember.objects.filter(pk__in=drop).delete()
    _update(HouseholdMember._meta.db_table, ("person_id",), rows)


def _move_parent_links(survivor_of: dict[int, int]) -> None:
    retired = list(survivor_of)
    links = list(
        (ParentLink.objects.filter(child_id__in=retired) | ParentLink.objects.filter(parent_id__in=retired))
        .values_list("pk", "child_id", "parent_id", "quarter", "organisation_id")
    )  # fmt: skip
    involved = {survivor_of.get(c, c) for _, c, _, _, _ in links}
    existing = set(
        ParentLink.objects.filter(child_id__in=involved)
        .exclude(pk__in=[link[0] for link in links])
        .values_list("child_id", "parent_id", "quarter", "organisation_id")
    )
    drop: list[int] = []
    rows: list[tuple[Any, ...]] = []
    for pk, child, parent, quarter, organisation in links:
        moved = (
            survivor_of.get(child, child),
            survivor_of.get(parent, parent),
            quarter,
            organisation,
        )
        if moved[0] == moved[1] or moved in existing:
            drop.append(pk)  # a person is not their own parent; a link is kept once
        else:
            existing.add(moved)
            rows.append((moved[0], moved[1], pk))
    ParentLink.objects.filter(pk__in=drop).delete()
    _update(ParentLink._meta.db_table, ("child_id", "parent_id"), rows)
