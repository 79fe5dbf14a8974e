"""The indicator codes partners' extracts are reduced to (docs/contracts.md). No Django.

A framework file may use these codes, and any local code it declares itself under
``[[local_codes]]``; anything else is a typo and is refused, because a misspelt code would
otherwise match nothing and silently change who is identified.
"""

from __future__ import annotations

import re
from typing import Final

from kinfold.ingest.ages import AGE_LIMITS

__all__ = ["AGE_LIMITS", "CODE_PATTERN", "CONTRACT_CODES", "PARTNER_ORGANISATIONS"]

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
