"""The ages at which what a partner's record says can be said of anyone (docs/contracts.md). No
Django: ingest checks linkage against them, and identification checks flags against them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Final

#: Code → (youngest, oldest) age in whole years a person can be when it is raised about them, by
#: what the code means; None where there is no bound. An offence or antisocial behaviour from 10
#: (England's age of criminal responsibility); adult probation from 18 (younger people are the
#: youth offending service's); domestic abuse between people of 16 or over (Domestic Abuse Act
#: 2021, section 1); out-of-work claims, jobs, tenancies' arrears and notices from 16; children's
#: social care to 17; a school's pupils to 19. A flag outside them is a partner's record linked to
#: the wrong person — a child's name with a namesake parent's police record that gave no date of
#: birth — and identification leaves it out (docs/programme.md); nor does ingest join a record to
#: a person too young for what it records (:func:`latest_year_of_birth`).
AGE_LIMITS: Final[dict[str, tuple[int | None, int | None]]] = {
    "police.offence": (10, None),
    "police.asb_incident": (10, None),
    "yos.youth_offence": (10, 17),
    "probation.supervision": (18, None),
    "housing.asb_case": (10, None),
    "school.attendance": (None, 19),
    "school.exclusion_fixed": (None, 19),
    "school.exclusion_permanent": (None, 19),
    "school.alternative_provision": (None, 19),
    "csc.child_in_need": (None, 17),
    "csc.child_protection_plan": (None, 17),
    "csc.looked_after": (None, 17),
    "csc.early_help": (None, 17),
    "dwp.out_of_work_benefit": (16, None),
    "dwp.into_work": (16, None),
    "housing.rent_arrears": (16, None),
    "housing.eviction_notice": (16, None),
    "police.domestic_incident": (16, None),
    "das.marac_referral": (16, None),
    "das.support_case": (16, None),
}


def latest_year_of_birth(indicators: Iterable[tuple[str, date]]) -> int | None:
    """The latest year someone can have been born in to have a record with these indicators
    (code, date) raised about them (by ``AGE_LIMITS``, given the benefit of the year, as
    identification reads them), or None if nothing bounds it. A police offence of 2017 is of
    someone born by 2007: a record of it that gives no date of birth is not a four-year-old's."""
    latest = None
    for code, day in indicators:
        youngest = AGE_LIMITS.get(code, (None, None))[0]
        if youngest is not None:
            year = day.year - youngest
            latest = year if latest is None else min(latest, year)
    return latest
