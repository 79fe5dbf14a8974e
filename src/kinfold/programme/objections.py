"""Persons who objected to the processing of their data: identification leaves them out.

They are excluded *inside* every query identification makes (household members, flags, parent
links, stored family membership: ``.exclude(person_id__in=objecting_persons())``), so their data
is never read for it — not read and then filtered.

The rights part owns the objections: ``kinfold.rights.services.objecting_person_ids()`` is a
QuerySet of `people.Person` primary keys with an upheld objection, which composes into the
caller's query as a subquery.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet


def objecting_persons() -> QuerySet[Any, int]:
    """A subquery of the primary keys of persons whose objection stops identification."""
    from kinfold.rights.services import objecting_person_ids  # the rights part, imported late

    return objecting_person_ids()
