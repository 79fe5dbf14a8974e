"""Consent receipts (ISO/IEC TS 27560 JSON, a valid PDF) and the referral state machine."""

from __future__ import annotations

import re

import pytest

from kinfold.audit.actors import Actor
from kinfold.consent import receipts, referrals, services
from kinfold.consent.models import Referral, ReferralState
from kinfold.errors import KinfoldError
from kinfold.people.models import Family, FamilyMember, Person
from kinfold.staff.models import User

ACTOR = Actor(kind="user", id="kw.amara", role="key_worker", organisation="northfield-council")


def adult(family: Family) -> Person:
    return FamilyMember.objects.get(family=family, role="adult").person


def made_receipt(family: Family, key_worker: User) -> receipts.Receipt:
    person = adult(family)
    records = services.record_many(
        ACTOR,
        [
            services.ConsentRequest(
                person,
                "service-coordination",
                provider,
                "health",
                family=family,
                method="verbal",
                evidence_ref="visit note 3",
            )
            for provider in ("northfield-nhs-trust", "northfield-recovery")
        ],
        recorded_by=key_worker,
    )
    made = receipts.receipt(records[0].receipt_id)
    assert made is not None
    return made


def test_the_json_receipt_has_the_parts_of_iso_27560(family: Family, key_worker: User) -> None:
    document = made_receipt(family, key_worker).document
    assert set(document) == {"header", "notice", "parties", "method", "processing", "events"}
    assert document["parties"]["controller"] == "Northfield Borough Council"
    assert document["parties"]["recorded_by"] == "Key worker, Northfield Borough Council"
    assert document["method"]["medium"] == "verbal"
    item = document["processing"][0]
    assert item["data_category"]["special_category"] == "article-9"
    assert item["lawful_basis"] == "UK GDPR Article 6(1)(e)"
    assert item["conditions"] == ["UK GDPR Article 9(2)(a)"]
    assert item["retention_months"] == 24
    assert {p["source"]["id"] for p in document["processing"]} == {
        "northfield-nhs-trust",
        "northfield-recovery",
    }
    assert "Robin" not in str(document), "a receipt names people by pseudonym only"


def test_the_pdf_is_well_formed(family: Family, key_worker: User) -> None:
    made = made_receipt(family, key_worker)
    pdf = receipts.as_pdf(made)
    assert pdf.startswith(b"%PDF-1.4")
    xref = int(pdf.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    table = pdf[xref:].split(b"trailer")[0].split(b"\n")
    count = int(table[1].split()[1])
    offsets = [int(line.split()[0]) for line in table[3 : 3 + count - 1]]
    for number, offset in enumerate(offsets, start=1):
        assert pdf[offset:].startswith(b"%d 0 obj" % number)
    for length, body in re.findall(rb"<< /Length (\d+) >>\nstream\n(.*?)\nendstream", pdf, re.S):
        assert int(length) == len(body)
    assert b"Health: Given" in pdf
    assert b"visit note 3" in pdf


def test_grouped_lines_for_a_person(family: Family, key_worker: User) -> None:
    made = made_receipt(family, key_worker)
    assert [(g.category, len(g.providers)) for g in made.groups] == [("Health", 2)]
    assert [(h.state, h.partners) for h in made.history] == [("Given", 2)]


@pytest.fixture
def referral(family: Family, key_worker: User) -> Referral:
    item = referrals.Item(adult(family), "violence-in-the-home", "consent:test", "dsa@v2")
    return referrals.send(
        ACTOR,
        key_worker,
        family,
        "northfield-da-service",
        "service-coordination",
        [item],
        "Please get in touch about support.",
    )


MOVES = [
    # (description, path of moves, who, last state or the error)
    ("accepted then done", ["accepted", "done"], "partner", "done"),
    ("rejected", ["rejected"], "partner", "rejected"),
    ("revoked by the key worker", ["revoked"], "sender", "revoked"),
    ("accepted then revoked", ["accepted", "revoked"], "mixed", "revoked"),
    ("done straight away", ["done"], "partner", "cannot become done"),
    ("answered by the sender", ["accepted"], "sender", "only the partner"),
    ("revoked by the partner", ["revoked"], "partner", "only the family's key worker"),
    ("anything after rejection", ["rejected", "accepted"], "partner", "cannot become accepted"),
]


@pytest.mark.parametrize(
    ("description", "path", "who", "outcome"), MOVES, ids=[m[0] for m in MOVES]
)
def test_referral_states(
    referral: Referral,
    key_worker: User,
    da_practitioner: User,
    description: str,
    path: list[str],
    who: str,
    outcome: str,
) -> None:
    def mover(to: str) -> User:
        if who == "mixed":
            return key_worker if to == "revoked" else da_practitioner
        return da_practitioner if who == "partner" else key_worker

    notes = {"rejected": "Not our area", "done": "Support given"}
    allowed = outcome in ReferralState.values
    *first, last = path
    for to in first:
        referrals.move(ACTOR, mover(to), referral, to, notes.get(to, ""))
    if not allowed:
        with pytest.raises(KinfoldError, match=outcome):
            referrals.move(ACTOR, mover(last), referral, last, notes.get(last, ""))
        return
    referrals.move(ACTOR, mover(last), referral, last, notes.get(last, ""))
    referral.refresh_from_db()
    assert referral.state == outcome
    assert [e.state for e in referral.events.all()] == ["sent", *path]


def test_a_referral_message_is_sealed(referral: Referral) -> None:
    assert b"get in touch" not in bytes(referral.message_sealed)
    assert referrals.message_of(referral) == "Please get in touch about support."
    assert referral.state == ReferralState.SENT
