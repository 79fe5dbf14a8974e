"""Persons who objected to the processing of their data: identification leaves them out.

They are excluded *inside* every query identification makes (household members, flags, parent
links: ``.exclude(person_id__in=objecting_persons())``), so their data is never read for it, not
read and then filtered.

The interface, owned by `kinfold.rights`: ``kinfold.rights.services.objecting_person_ids()``
returns a QuerySet of `people.Person` primary keys (``.values("person_id")`` or
``values_list(..., flat=True)``), so it composes into the caller's query as a subquery. Until the
rights part provides it, this module reads the rights part's objection requests directly: an
objection counts while it is open (processing is restricted while it is considered) or once it
is upheld; a refused one does not.
"""

from __future__ import annotations

import importlib
from typing import Any

from django.db.models import QuerySet

from kinfold.people.models import Person


def objecting_persons() -> QuerySet[Any]:
    """A subquery of the primary keys of persons whose objection stops identification."""
    services = _module("kinfold.rights.services")
    provided = getattr(services, "objecting_person_ids", None)
    if provided is not None:
        return provided()  # type: ignore[no-any-return]
    model = getattr(_module("kinfold.rights.models"), "FamilyRequest", None)
    if model is None:
        return Person.objects.none().values("pk")
    return model.objects.filter(  # type: ignore[no-any-return]
        kind="objection", status__in=("open", "upheld")
    ).values("person_id")


def _module(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None
