"""The audit log's personal-data guard refuses numbers that stand alone, never ids that hold digits."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kinfold.audit.privacy import looks_personal


@settings(max_examples=3000)
@given(st.uuids())
def test_no_uuid_is_mistaken_for_personal_data(value: uuid.UUID) -> None:
    assert looks_personal(f"referral:{value}") == ""
    assert looks_personal(str(value).replace("-", "")) == ""


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("call 01632 960101 after 5", "a phone number"),
        ("nhs 943 476 5919", "an NHS number"),
        ("NHS: 9434765919.", "an NHS number"),
        ("+44 1632 960101", "a phone number"),
    ],
)
def test_numbers_that_stand_alone_are_still_refused(text: str, kind: str) -> None:
    assert looks_personal(text) == kind


@pytest.mark.parametrize("text", ["a19434765919b", "F9434765919X", "run-01632960101-x"])
def test_digits_inside_an_identifier_are_not_personal(text: str) -> None:
    assert looks_personal(text) == ""
