"""The identity fields kinfold links on: the one vocabulary shared by linkage, synth and ingest."""

from __future__ import annotations

from typing import Final

#: Fuzzy-matched fields, encoded into keyed Bloom filters.
FUZZY_FIELDS: Final = ("given_name", "surname", "dob", "sex", "address", "postcode")
#: Reference numbers, matched exactly through keyed tokens.
REFERENCE_FIELDS: Final = ("nhs_number", "ni_number", "upn", "uprn")
#: Contact details: held in the vault for outreach, never encoded for linkage.
CONTACT_FIELDS: Final = ("phone", "email")
#: Every field an extract schema or a column map may name.
ALL_FIELDS: Final = FUZZY_FIELDS + REFERENCE_FIELDS + CONTACT_FIELDS
#: Fields whose values are dates and so carry a format (strftime, or ``excel`` serial days).
DATE_FIELDS: Final = ("dob",)
#: The column map's name for the partner's own record reference (not an identity field).
RECORD_ID: Final = "id"
