"""Canonical entry bytes: the fast writer equals plain sorted-key JSON, for any input."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kinfold.audit import canonical
from kinfold.audit.canonical import EntryFields
from kinfold.audit.privacy import looks_personal

text = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)
json_leaf = st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | text
json_value = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True), inner, max_size=3)
    ),
    max_leaves=8,
)
fields = st.builds(
    EntryFields,
    seq=st.integers(0, 2**40),
    time=st.just("2026-11-25T14:10:38.123456Z"),
    actor_kind=st.sampled_from(["user", "system", "family"]),
    actor_id=text,
    actor_role=text,
    actor_organisation=text,
    actor_run_id=text,
    event=text,
    resource=text,
    subjects=st.lists(text, max_size=3).map(lambda s: tuple(sorted(s))),
    purpose=text,
    decision=st.sampled_from(["allow", "deny", ""]),
    reason=text,
    basis=text,
    details=st.dictionaries(st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True), json_value),
)


@settings(deadline=None)
@given(fields)
def test_fast_canonical_bytes_equal_sorted_key_json(entry: EntryFields) -> None:
    reference = json.dumps(
        canonical.as_object(entry), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()
    assert canonical.entry_bytes(entry) == reference
    assert json.loads(reference)["seq"] == entry.seq


def test_canonical_bytes_of_a_known_entry() -> None:
    entry = EntryFields(
        3,
        "2026-11-25T14:10:38.000001Z",
        "user",
        "kw.amara",
        "key_worker",
        "northfield-council",
        "",
        "family:viewed",
        "family:F7K2M9QX4TBA",
        ("F7K2M9QX4TBA",),
        "key-work",
        "allow",
        "assigned — key worker",
        "consent:C12",
        {"n": 1, "a": [True, None]},
    )
    assert (
        canonical.entry_bytes(entry)
        == (
            '{"actor":{"id":"kw.amara","kind":"user","organisation":"northfield-council",'
            '"role":"key_worker","run_id":""},"basis":"consent:C12","decision":"allow",'
            '"details":{"a":[true,null],"n":1},"event":"family:viewed","purpose":"key-work",'
            '"reason":"assigned — key worker","resource":"family:F7K2M9QX4TBA","seq":3,'
            '"subjects":["F7K2M9QX4TBA"],"time":"2026-11-25T14:10:38.000001Z","v":1}'
        ).encode()
    )


def test_timestamps_are_utc_with_microseconds() -> None:
    bst = timezone(timedelta(hours=1))
    assert (
        canonical.timestamp(datetime(2026, 7, 1, 9, 0, tzinfo=bst)) == "2026-07-01T08:00:00.000000Z"
    )
    assert canonical.timestamp(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-01T00:00:00.000000Z"
    with pytest.raises(ValueError, match="timezone-aware"):
        canonical.timestamp(datetime(2026, 1, 1))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("someone@example.org", "an email address"),
        ("+44 7700 900123", "a phone number"),
        ("07700900123", "a phone number"),
        ("9434765919", "an NHS number"),
        ("AB123456C", "a National Insurance number"),
        ("SW1A 1AA", "a postcode"),
        ("F7K2M9QX4TBA", ""),
        ("P3M9K2QX7TBB", ""),
        ("northfield-supporting-families@v3", ""),
        ("agreement:police-to-council@v12", ""),
        ("20261125T101500Z-ab12cd", ""),
        ("2026-11-25", ""),
        ("1234567890", ""),  # ten digits, but not a valid NHS number
        ("quarter 2026Q3, 1250 rows", ""),
        ("police.asb_incident", ""),
    ],
)
def test_the_personal_data_guard(value: str, expected: str) -> None:
    assert looks_personal(value) == expected
