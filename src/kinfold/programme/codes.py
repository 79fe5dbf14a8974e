"""The indicator codes partners' extracts are reduced to (docs/contracts.md). No Django.

A framework file may use these codes, and any local code it declares itself under
``[[local_codes]]``; anything else is a typo and is refused, because a misspelt code would
otherwise match nothing and silently change who is identified.
"""

from __future__ import annotations

import re
from typing import Final

#: Code → the partner id (docs/contracts.md) whose extracts raise it.
CONTRACT_CODES: Final[dict[str, str]] = {
    "police.offence": "police",
    "police.asb_incident": "police",
    "yos.youth_offence": "yos",
    "probation.supervision": "probation",
    "housing.asb_case": "housing",
    "school.attendance": "schools",
    "school.exclusion_fixed": "schools",
    "school.exclusion_permanent": "schools",
    "school.alternative_provision": "schools",
    "csc.child_in_need": "csc",
    "csc.child_protection_plan": "csc",
    "csc.looked_after": "csc",
    "csc.early_help": "csc",
    "dwp.out_of_work_benefit": "dwp",
    "dwp.into_work": "dwp",
    "housing.rent_arrears": "housing",
    "housing.eviction_notice": "housing",
    "police.domestic_incident": "police",
    "das.marac_referral": "das",
    "das.support_case": "das",
    "health.mental_health": "health",
    "health.ae_injury": "health",
    "substance.treatment": "substance",
}

#: Code → (youngest, oldest) age in whole years a person can be when it is raised about them, by
#: what the code means; None where there is no bound. An offence or antisocial behaviour from 10
#: (England's age of criminal responsibility); adult probation from 18 (younger people are the
#: youth offending service's); domestic abuse between people of 16 or over (Domestic Abuse Act
#: 2021, section 1); out-of-work claims, jobs, tenancies' arrears and notices from 16; children's
#: social care to 17; a school's pupils to 19. A flag outside them is a partner's record linked to
#: the wrong person — a child's name with a namesake parent's police record that gave no date of
#: birth — and identification leaves it out (docs/programme.md).
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

#: Partner id → organisation slug (docs/contracts.md, agreements/organisations.toml).
PARTNER_ORGANISATIONS: Final[dict[str, str]] = {
    "police": "northfield-police",
    "yos": "northfield-yos",
    "probation": "northfield-probation",
    "schools": "northfield-schools",
    "csc": "northfield-childrens-services",
    "dwp": "dwp-northfield",
    "housing": "northfield-homes",
    "das": "northfield-da-service",
    "health": "northfield-nhs-trust",
    "substance": "northfield-recovery",
}

CODE_PATTERN: Final = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
