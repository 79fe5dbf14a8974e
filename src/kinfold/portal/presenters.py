"""Plain-English formatting for the portal, so templates hold no logic."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import date, datetime

from kinfold.access.portal import PersonHeld
from kinfold.agreements.models import Organisation, Purpose
from kinfold.audit.events import Event
from kinfold.audit.models import AuditEntry
from kinfold.web.presenters import indicator_label

#: What each kind of entry means, in words a family would use. Others fall back to Event.label.
EVENT_TEXT = {
    Event.FAMILY_LISTED: "Saw your family in a list of families",
    Event.FAMILY_VIEWED: "Looked at your family's record",
    Event.FAMILY_FLAGS_VIEWED: "Looked at what partners told us about your family (the flags)",
    Event.FAMILY_CONTACT_VIEWED: "Looked at your names and contact details",
    Event.FAMILY_CONTACT_RELEASED: "Released your contact details so someone could get in touch",
    Event.FAMILY_IDENTIFIED: "Identified your family as one the programme may help",
    Event.FAMILY_ASSIGNED: "Gave your family a key worker",
    Event.FAMILY_UNASSIGNED: "Ended a key worker's work with your family",
    Event.FAMILY_EXPORTED: "Exported your family's information",
    Event.PERSON_VIEWED: "Looked at a person's record",
    Event.PERSON_IDENTITY_RELEASED: "Released a name and contact details",
    Event.RECORD_DETAIL_VIEWED: "Looked at details a partner shared",
    Event.RECORD_DETAIL_WITHHELD: "Asked for details a partner holds, which were withheld",
    Event.FAMILY_CONSENT_GIVEN: "Recorded a consent",
    Event.FAMILY_CONSENT_WITHDRAWN: "Recorded that a consent was withdrawn",
    Event.FAMILY_CONSENT_REFUSED: "Recorded that consent was refused",
    Event.FAMILY_CONSENT_EXPIRED: "A consent came to its end date",
    Event.OVERRIDE_APPROVED: "Approved sharing without consent (an override)",
    Event.OVERRIDE_PROPOSED: "Proposed sharing without consent (an override)",
    Event.ACCESS_DENIED: "Tried to look at your information and was refused",
    Event.ACCESS_ALLOWED: "Was allowed to use your information",
    Event.REFERRAL_MADE: "Referred your family to a service",
    Event.PORTAL_ACCOUNT_CREATED: "Set up your family portal account",
    Event.PORTAL_VIEWED: "Looked at this information through the family portal",
    Event.SUBJECT_ACCESS_REQUESTED: "Opened your request for a copy of your information",
    Event.SUBJECT_ACCESS_FULFILLED: "Sent you a copy of your information",
    Event.SUBJECT_ACCESS_EXPORTED: "Prepared a copy of your information for you",
    Event.CORRECTION_REQUESTED: "Received your request for a correction",
    Event.OBJECTION_RECEIVED: "Received your objection",
    Event.OBJECTION_UPHELD: "Upheld your objection",
    Event.ERASURE_DONE: "Erased information at the end of its retention period",
}

ROLE_TEXT = {
    "key_worker": "A key worker",
    "team_manager": "A team manager",
    "analyst": "A programme analyst",
    "partner_practitioner": "A practitioner",
    "dpo": "The data protection officer",
    "admin": "An administrator",
}


@dataclass(frozen=True)
class HistoryRow:
    seq: int
    at: datetime
    who: str
    what: str
    purpose: str
    basis: str
    basis_link: str
    refused: bool
    proof_ready: bool


def _orgs() -> dict[str, str]:
    return dict(Organisation.objects.values_list("slug", "name"))


def _purposes() -> dict[str, str]:
    names = {"subject-rights": "Your rights over your information"}
    return names | dict(Purpose.objects.values_list("slug", "name"))


def _who(entry: AuditEntry, orgs: dict[str, str]) -> str:
    if entry.actor_kind == "system":
        return "kinfold itself (an automatic job)"
    if entry.actor_kind == "family":
        return "A member of your family, through this portal"
    who = ROLE_TEXT.get(entry.actor_role, "Someone")
    organisation = orgs.get(entry.actor_organisation, entry.actor_organisation)
    return f"{who} at {organisation}" if organisation else who


def basis_text(basis: str, reason: str) -> tuple[str, str]:
    """The lawful basis in words, and a link to read more (or "").

    For an override, `reason` is the override's stated reason. Overrides withheld from the family
    for safety never get here: `kinfold.access.portal.history` leaves their entries out."""
    kind, _, value = basis.partition(":")
    if kind == "consent":
        return "Consent given for this", "/portal/consents/"
    if kind == "override":
        return f"Shared without consent, approved by a second person, because: {reason}", ""
    if kind == "agreement":
        slug = value.split("@")[0]
        return f"The information-sharing agreement ({value})", f"/transparency/agreements/{slug}/"
    if kind == "assignment":
        return "They are your family's key worker", ""
    if kind == "role":
        return f"Their job ({value.replace('_', ' ')}) allows it", ""
    if basis == "uk-gdpr:article-15":
        return "Your right to see your information", ""
    return "", ""


def history_rows(
    entries: list[AuditEntry], checkpoint_size: int, override_reasons: dict[str, str] | None = None
) -> list[HistoryRow]:
    orgs, purposes = _orgs(), _purposes()
    override_reasons = override_reasons or {}
    rows = []
    for entry in entries:
        event = entry.event_type
        what = EVENT_TEXT.get(event, event.label.capitalize() if event else entry.event)  # type: ignore[arg-type]
        reason = override_reasons.get(entry.basis.partition(":")[2], entry.reason)
        basis, link = basis_text(entry.basis, reason)
        rows.append(
            HistoryRow(
                seq=int(entry.seq),
                at=entry.recorded_at,
                who=_who(entry, orgs),
                what=what,
                purpose=purposes.get(entry.purpose, entry.purpose.replace("-", " ")),
                basis=basis,
                basis_link=link,
                refused=entry.decision == "deny",
                proof_ready=int(entry.seq) < checkpoint_size,
            )
        )
    return rows


@dataclass(frozen=True)
class FlagRow:
    what: str
    when: str


@dataclass(frozen=True)
class SourceRow:
    organisation: str
    flags: list[FlagRow]
    sealed_count: int


@dataclass(frozen=True)
class CategoryPanel:
    name: str
    special: bool
    sources: list[SourceRow]


@dataclass(frozen=True)
class PersonPanel:
    pid: str
    heading: str
    names_held: list[tuple[str, list[tuple[str, str]]]]
    categories: list[CategoryPanel]


FIELD_TEXT = {
    "given_name": "First name",
    "surname": "Last name",
    "dob": "Date of birth",
    "sex": "Sex",
    "address": "Address",
    "postcode": "Postcode",
    "phone": "Phone",
    "email": "Email",
    "nhs_number": "NHS number",
    "ni_number": "National Insurance number",
    "upn": "Unique pupil number",
    "uprn": "Property reference",
}


def _fields(fields: dict[str, str]) -> list[tuple[str, str]]:
    """Identity fields in the order a person reads them, dates in words."""
    order = list(FIELD_TEXT)
    rows = []
    for key in sorted(fields, key=lambda k: (order.index(k) if k in order else len(order), k)):
        value = fields[key]
        if key == "dob":
            with contextlib.suppress(ValueError):
                value = date.fromisoformat(value).strftime("%-d %B %Y")
        rows.append((FIELD_TEXT.get(key, key.replace("_", " ").capitalize()), value))
    return rows


def person_panels(held: list[PersonHeld]) -> list[PersonPanel]:
    panels = []
    for person in held:
        heading = (
            "You"
            if person.relation == "you"
            else f"Your child{': ' + person.name if person.name else ''}"
        )
        panels.append(
            PersonPanel(
                pid=person.pid,
                heading=heading,
                names_held=[(org, _fields(fields)) for org, fields in person.identities],
                categories=[
                    CategoryPanel(
                        name=c.category,
                        special=bool(c.special),
                        sources=[
                            SourceRow(
                                s.organisation,
                                [
                                    FlagRow(indicator_label(code, value), day.strftime("%-d %B %Y"))
                                    for code, day, value in s.flags
                                ],
                                s.details,
                            )
                            for s in c.sources
                        ],
                    )
                    for c in person.categories
                ],
            )
        )
    return panels
