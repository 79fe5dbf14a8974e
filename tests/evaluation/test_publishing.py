"""The publishing guard: UK identifier recognisers, vault names and addresses, and the block."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st

from kinfold.agreements.models import Agreement
from kinfold.audit.actors import Actor
from kinfold.audit.models import AuditEntry
from kinfold.evaluation import publishing
from kinfold.evaluation.models import PublicationBlock
from kinfold.people.models import Family

# ---------------------------------------------------------------------------- recognisers

CASES = [
    ("an email address", "write to sam.jones@example.org today", ["email address"]),
    ("a council contact point is allowed", "email dpo@example.org", []),
    ("a mobile number", "call 07700 900123", ["phone number"]),
    ("a landline with +44", "ring +44 1632 960999", ["phone number"]),
    ("a valid NHS number", "NHS 943 476 5919", ["NHS number"]),
    ("an NHS-like number failing modulus 11", "ref 943 476 5918", []),
    ("an NI number", "NI: QQ 12 34 56 C", []),  # QQ is never allocated (Q first)
    ("a real-shaped NI number", "NI: AB 12 34 56 C", ["National Insurance number"]),
    ("an unallocated NI prefix", "GB123456A", []),
    ("a UPN with its check letter", "pupil Q801200110001", ["Unique Pupil Number"]),
    ("a UPN with a wrong check letter", "pupil A801200110001", []),
    (
        "a postcode with a house number",
        "lives at 14 Mill Lane, NF1 2AB",
        ["address with a postcode"],
    ),
    ("a postcode alone is an area", "the NF1 2AB area", []),
    ("a year and a count are not identifiers", "In 2016 we helped 1,360 families.", []),
    ("a hash is not an identifier", "root 1234567890ABCDEFabcdef0123456789+/09434765919==", []),
]


@pytest.mark.parametrize(("description", "text", "expected"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.django_db
def test_recognisers(description: str, text: str, expected: list[str]) -> None:
    assert publishing.check_text(text).kinds == expected


def nhs_number(digits: list[int]) -> str | None:
    total = sum(d * w for d, w in zip(digits, range(10, 1, -1), strict=True))
    check = (11 - total % 11) % 11
    return None if check == 10 else "".join(map(str, digits)) + str(check)


@given(st.lists(st.integers(0, 9), min_size=9, max_size=9), st.sampled_from(["", " ", "-"]))
@settings(deadline=None, max_examples=200)
def test_every_valid_nhs_number_is_recognised(digits: list[int], sep: str) -> None:
    number = nhs_number(digits)
    if number is None:
        return
    assert publishing.valid_nhs_number(number)
    formatted = sep.join([number[:3], number[3:6], number[6:]])
    assert "NHS number" in [f.kind for f in publishing._pattern_findings(f"no. {formatted}.")]
    wrong = number[:9] + str((int(number[9]) + 1) % 10)
    assert not publishing.valid_nhs_number(wrong)


@given(st.text(alphabet="0123456789", min_size=11, max_size=11), st.sampled_from("0123456789ABCD"))
@settings(deadline=None, max_examples=200)
def test_every_upn_with_the_right_check_letter_is_recognised(body: str, last: str) -> None:
    upn = publishing.upn_check_letter(body + last) + body + last
    assert publishing.valid_upn(upn)
    wrong = next(c for c in "ABCDEFGH" if c != upn[0]) + upn[1:]
    assert not publishing.valid_upn(wrong)


@given(
    st.sampled_from("ABCEGHJKLMNOPRSTWXYZ"),
    st.sampled_from("ABCEGHJKLMNPRSTWXYZ"),
    st.integers(0, 999999),
    st.sampled_from("ABCD"),
)
@settings(deadline=None, max_examples=200)
def test_ni_numbers_with_allocatable_prefixes_are_recognised(
    first: str, second: str, number: int, suffix: str
) -> None:
    ni = f"{first}{second}{number:06d}{suffix}"
    assert publishing.valid_ni_number(ni) == (
        first + second not in {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}
    )


@given(st.text(max_size=300))
@settings(deadline=None, max_examples=300)
def test_the_recognisers_never_crash(text: str) -> None:
    list(publishing._pattern_findings(text))


# ---------------------------------------------------------------------------- the vault


@pytest.mark.django_db
def test_a_full_name_held_in_the_vault_is_found(family: Family) -> None:
    assert publishing.check_text("We helped Sky Example last year.").kinds == [
        "name held in the vault"
    ]
    assert publishing.check_text("Example, Sky attended.").kinds == ["name held in the vault"]
    assert publishing.check_text("Thanks to Mrs Example.").kinds == ["name held in the vault"]


@pytest.mark.django_db
def test_words_that_happen_to_be_names_alone_are_not(family: Family) -> None:
    assert publishing.check_text("For example, a robin sang.").clean
    assert publishing.check_text("Sky and Robin Jones").clean  # given names, not of one person


@pytest.mark.django_db
def test_an_address_held_in_the_vault_is_found(family: Family) -> None:
    verdict = publishing.check_text("The meeting was at 1 Test Street, Northfield, on Monday.")
    assert verdict.kinds == ["address held in the vault"]


# ---------------------------------------------------------------------------- the block


@pytest.mark.django_db
def test_a_public_page_seeded_with_a_vault_name_is_blocked(family: Family, client: Client) -> None:
    agreement = Agreement.objects.get(slug="northfield-supporting-families", is_current=True)
    url = f"/transparency/agreements/{agreement.slug}/"
    assert client.get(url).status_code == 200
    Agreement.objects.filter(pk=agreement.pk).update(
        summary=agreement.summary + " Thanks to Robin Example for the idea."
    )
    response = client.get(url)
    assert response.status_code == 503
    page = response.content.decode()
    assert "This page is being checked" in page
    assert "Robin" not in page
    blocked = AuditEntry.objects.filter(event="publication:blocked").get()
    assert blocked.decision == "deny"
    assert "Robin" not in str(blocked.details)
    assert blocked.details["kinds"] == ["name held in the vault"]
    block = PublicationBlock.objects.get()
    assert block.what == url

    client.get(url)  # the same content again: counted, not logged again
    assert AuditEntry.objects.filter(event="publication:blocked").count() == 1
    block.refresh_from_db()
    assert block.times == 2


@pytest.mark.django_db
def test_the_dpo_sees_and_resolves_a_block(
    family: Family, client: Client, dpo_client: Client
) -> None:
    Agreement.objects.filter(is_current=True).update(summary="Call 07700 900123.")
    assert client.get("/transparency/").status_code in (200, 503)
    client.get("/transparency/agreements/northfield-supporting-families/")
    page = dpo_client.get("/dpo/").content.decode()
    assert "phone number" in page
    block = PublicationBlock.objects.first()
    assert block is not None
    dpo_client.post(f"/dpo/publishing/{block.pk}/resolve/", {"note": "summary fixed"})
    block.refresh_from_db()
    assert block.resolved_at is not None


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/transparency/", "/privacy/", "/accessibility/", "/transparency/audit-log/"]
)
def test_the_real_public_pages_pass(family: Family, client: Client, path: str) -> None:
    assert client.get(path).status_code == 200


@pytest.mark.django_db
def test_staff_pages_are_not_public_and_not_withheld(
    key_worker_client: Client, family: Family
) -> None:
    page = key_worker_client.get(f"/families/{family.fid}/")
    assert page.status_code == 200
    assert "Robin Example" in page.content.decode()


@pytest.mark.django_db
def test_files_for_release_are_checked(family: Family, tmp_path: Path) -> None:
    clean = tmp_path / "statistics.csv"
    clean.write_text("quarter,families\n2016Q1,120\n")
    leaky = tmp_path / "case-study.txt"
    leaky.write_text("Sky Example now attends every day.\n")
    actor = Actor.system("test", "r1")
    assert publishing.release_files(actor, [clean]) == [clean]
    with pytest.raises(
        publishing.PublicationBlocked, match=r"case-study.txt \(name held in the vault\)"
    ):
        publishing.release_files(actor, [clean, leaky])
    assert AuditEntry.objects.filter(event="publication:released").count() == 1
    assert AuditEntry.objects.filter(event="publication:blocked").count() == 1
