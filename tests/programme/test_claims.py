"""Payment by results: which families qualify, the frozen evidence pack, the whole-family rule,
the internal-audit sample and the ministry's claims file."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

import pytest
from django.db import DatabaseError, connection, transaction
from hypothesis import given
from hypothesis import strategies as st

from kinfold.audit.models import AuditEntry
from kinfold.audit.privacy import looks_personal
from kinfold.errors import KinfoldError, NotPermitted
from kinfold.programme import claims
from kinfold.programme.models import Claim, ClaimFrozen, ClaimKind, ClaimStatus, Journey, State
from kinfold.quarters import Quarter
from kinfold.staff.models import User
from tests.programme.conftest import THROUGH_2016Q3, Borough, walk_to_sustained

pytestmark = pytest.mark.django_db


@pytest.fixture
def claimed(improving: Journey, key_worker: User, manager: User, analyst: User) -> dict[str, Claim]:
    walk_to_sustained(improving, key_worker, manager)
    made = claims.prepare_claims(analyst, "2016Q3")
    return {c.kind: c for c in made}


def test_an_attached_family_with_sustained_progress_has_both_claims(
    claimed: dict[str, Claim], improving: Journey
) -> None:
    assert {k: (c.amount, c.status) for k, c in claimed.items()} == {
        ClaimKind.ATTACHMENT: (1000, ClaimStatus.PREPARED),
        ClaimKind.RESULTS: (800, ClaimStatus.PREPARED),
    }
    improving.refresh_from_db()
    assert improving.state == State.CLAIMED
    pack = claimed[ClaimKind.RESULTS].evidence
    assert pack["family"] == improving.family.fid
    assert [p["problem"] for p in pack["eligibility"]["problems"]] == ["crime", "education"]
    crime_flags = pack["eligibility"]["problems"][0]["flags"]
    assert [(f["code"], f["organisation"], f["date"]) for f in crime_flags] == [
        ("police.asb_incident", "northfield-police", "2015-08-15")
    ]
    assert [i["problem"] for i in pack["plan"]["items"]] == ["crime", "education"]
    assert pack["outcome"]["sustained_period"] == {"from": "2016Q1", "to": "2016Q3"}
    assert pack["outcome"]["route"] == "problems-cleared"
    assert "signed_off" not in pack


def test_claims_are_prepared_once(claimed: dict[str, Claim], analyst: User) -> None:
    assert claims.prepare_claims(analyst, "2016Q4") == []
    assert Claim.objects.count() == 2


def test_sign_off_is_by_a_manager_other_than_the_preparer(
    claimed: dict[str, Claim], analyst: User, manager: User
) -> None:
    claim = claimed[ClaimKind.RESULTS]
    with pytest.raises(NotPermitted):
        claims.sign_off(analyst, claim)
    claims.sign_off(manager, claim)
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.SIGNED_OFF
    assert claim.evidence["signed_off"]["by"] == manager.username
    assert claim.verify()
    entry = AuditEntry.objects.get(event="claim:signed-off")
    assert claims.letters_as_digits(entry.details["sha256"]) == claim.evidence_sha256
    with pytest.raises(KinfoldError, match="signed off"):
        claims.sign_off(manager, claim)


@given(st.text(alphabet="0123456789abcdef", min_size=64, max_size=64))
def test_a_digest_in_the_audit_log_never_looks_like_personal_data(digest: str) -> None:
    written = claims.digits_as_letters(digest)
    assert looks_personal(written) == ""
    assert claims.letters_as_digits(written) == digest


def test_a_signed_off_evidence_pack_cannot_change(claimed: dict[str, Claim], manager: User) -> None:
    claim = claims.sign_off(manager, claimed[ClaimKind.RESULTS])
    claim.evidence["outcome"]["sustained_period"]["from"] = "2015Q4"
    assert not claim.verify()
    with pytest.raises(ClaimFrozen, match="evidence cannot change"):
        claim.save()
    with pytest.raises(DatabaseError), transaction.atomic():
        Claim.objects.filter(pk=claim.pk).update(amount=8000)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE programme_claim SET evidence_sha256 = %s WHERE id = %s", ["0" * 64, claim.pk]
        )
    claim.refresh_from_db()
    assert claim.verify()
    assert claim.amount == 800


def test_a_pack_changed_around_the_triggers_is_caught(
    claimed: dict[str, Claim], manager: User, analyst: User
) -> None:
    claim = claims.sign_off(manager, claimed[ClaimKind.RESULTS])
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE programme_claim DISABLE TRIGGER programme_claim_frozen")
        else:
            cursor.execute("DROP TRIGGER programme_claim_frozen")
        cursor.execute(
            "UPDATE programme_claim SET evidence = %s WHERE id = %s",
            ['{"family": "F000000000000"}', claim.pk],
        )
    claim.refresh_from_db()
    assert not claim.verify()
    with pytest.raises(KinfoldError, match=claim.claim_id):
        claims.claims_file(analyst, "2016Q3")


def test_whole_family_rule_another_member_with_the_same_problem(
    borough: Borough,
    identify_through: Callable[..., None],
    key_worker: User,
    manager: User,
    analyst: User,
) -> None:
    (mum, dad), (_kid,) = borough.family("H1", THROUGH_2016Q3, adults=2)
    borough.flag(mum, "dwp.out_of_work_benefit", "2015Q3")
    borough.flag(mum, "health.mental_health", "2015Q4")
    borough.flag(mum, "dwp.into_work", "2016Q1")
    borough.flag(dad, "dwp.out_of_work_benefit", "2016Q2")
    identify_through("2016Q3")
    journey = walk_to_sustained(Journey.objects.get(), key_worker, manager)
    assert (journey.sustained_quarter, journey.outcome_route) == ("2016Q3", "continuous-employment")

    results = claims.prepare_claim(analyst, journey, ClaimKind.RESULTS, Quarter.parse("2016Q3"))
    assert results is not None
    assert results.status == ClaimStatus.INVALID
    assert results.invalid_reasons == [
        (
            f"another member ({dad.pid}) developed the same problem (adults out of work or at risk "
            "of financial exclusion, and young people at risk of worklessness) in 2016Q2: "
            "dwp.out_of_work_benefit"
        )
    ]
    journey.refresh_from_db()
    assert journey.state == State.SUSTAINED


def test_internal_audit_sample_is_seeded_and_recorded(
    claimed: dict[str, Claim], manager: User, analyst: User, dpo: User
) -> None:
    for claim in claimed.values():
        claims.sign_off(manager, claim)
    sample = claims.draw_sample(analyst, "2016Q3", seed="fixed-seed")
    checks = list(sample.checks.all())
    assert len(checks) == 1
    assert sample.population == 2
    assert {c.claim.claim_id for c in checks} == claims.sample_of(
        [c.claim_id for c in claimed.values()], "fixed-seed"
    )
    with pytest.raises(KinfoldError, match="already been drawn"):
        claims.draw_sample(analyst, "2016Q3")
    with pytest.raises(NotPermitted):
        claims.spot_check(manager, checks[0], passed=True, note="looked fine")
    checked = claims.spot_check(dpo, checks[0], passed=True, note="plan and flags agree")
    assert checked.result == "passed"


@pytest.mark.parametrize(
    ("population", "drawn"), [(1, 1), (9, 1), (10, 1), (11, 2), (100, 10), (101, 11)]
)
def test_ten_percent_rounded_up(population: int, drawn: int) -> None:
    ids = [f"C{i:04d}" for i in range(population)]
    chosen = claims.sample_of(ids, "seed")
    assert len(chosen) == drawn
    assert chosen == claims.sample_of(ids, "seed")
    assert chosen <= set(ids)


def test_the_ministrys_claims_file_is_pseudonymous(
    claimed: dict[str, Claim], manager: User, analyst: User, improving: Journey
) -> None:
    for claim in claimed.values():
        claims.sign_off(manager, claim)
    text = claims.claims_file(analyst, "2016Q3")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == claims.CSV_COLUMNS
    assert {(r["family_id"], r["claim_type"], r["amount_gbp"]) for r in rows} == {
        (improving.family.fid, "attachment", "1000"),
        (improving.family.fid, "results", "800"),
    }
    results = next(r for r in rows if r["claim_type"] == "results")
    assert (results["sustained_from"], results["sustained_to"]) == ("2016Q1", "2016Q3")
    assert "Robin" not in text
    assert "Example" not in text
    assert set(Claim.objects.values_list("status", flat=True)) == {ClaimStatus.SUBMITTED}
