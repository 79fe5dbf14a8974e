"""Framework files: the shipped ones load; invalid ones fail naming the file and the key."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kinfold.errors import ConfigError
from kinfold.programme.codes import CONTRACT_CODES
from kinfold.programme.frameworks import Framework, load_framework, parse_framework

FRAMEWORKS = Path(__file__).resolve().parents[2] / "config" / "frameworks"
NATIONAL = FRAMEWORKS / "national-2015.toml"


def test_the_national_framework() -> None:
    framework = load_framework(NATIONAL)
    assert framework.label == "national-2015@v1"
    assert [p.id for p in framework.problems] == [
        "crime",
        "education",
        "children-need-help",
        "worklessness",
        "domestic-abuse",
        "health",
    ]
    assert (framework.problems_at_least, framework.lookback_quarters) == (2, 4)
    assert (framework.payments.attachment, framework.payments.results) == (1000, 800)
    education = framework.problem("education")
    assert education.indicators[0].below == 90
    assert education.outcome.quarters_needed == 3
    assert framework.problem("crime").outcome.quarters_needed == 2
    assert [a.id for a in framework.alternatives] == ["continuous-employment"]


def test_the_supporting_families_framework() -> None:
    framework = load_framework(FRAMEWORKS / "supporting-families-2022.toml")
    assert len(framework.problems) == 10
    assert framework.problems_at_least == 3
    assert framework.payments.attachment == 0


def test_every_contract_code_is_used_by_the_national_framework() -> None:
    assert set(CONTRACT_CODES) <= load_framework(NATIONAL).codes


def _edit(tmp_path: Path, old: str, new: str, count: int = 1) -> Path:
    text = NATIONAL.read_text()
    assert old in text, old
    path = tmp_path / "local.toml"
    path.write_text(text.replace(old, new, count))
    return path


CASES = [
    # description, replace, with, key named, words
    (
        "unknown code",
        '{ code = "police.offence" }',
        '{ code = "police.ofence" }',
        "problems[0].indicators[0].code",
        "not an indicator code",
    ),
    (
        "threshold not a number",
        "below = 90 }",
        'below = "ninety" }',
        "problems[1].indicators[0].below",
        "must be a number",
    ),
    (
        "look-back not whole quarters",
        "lookback_months = 12",
        "lookback_months = 10",
        "eligibility.lookback_months",
        "whole number of quarters",
    ),
    (
        "more problems than defined",
        "problems_at_least = 2",
        "problems_at_least = 7",
        "eligibility.problems_at_least",
        "defines 6",
    ),
    (
        "typo in a key",
        "problems_at_least = 2",
        "problem_at_least = 2",
        "eligibility.problem_at_least",
        "not a key",
    ),
    (
        "duplicate problem",
        'id = "education"',
        'id = "crime"',
        "problems[1].id",
        "used by another problem",
    ),
    (
        "negative payment",
        "attachment = 1000",
        "attachment = -5",
        "payments.attachment",
        "whole number of 0 or more",
    ),
    (
        "who is someone else",
        'who = "adult"',
        'who = "grandparent"',
        "outcomes.alternatives[0].who",
        "must be one of",
    ),
    (
        "quarter badly written",
        'from = "2015Q2"',
        'from = "April 2015"',
        "framework.from",
        "like 2015Q2",
    ),
    (
        "outcome value without a threshold",
        "at_least = 90, months = 9",
        "months = 9",
        "problems[1].outcome.values[0]",
        "needs a threshold",
    ),
    (
        "below not above at_least",
        "below = 90 }",
        "below = 90, at_least = 95 }",
        "problems[1].indicators[0].below",
        "more than at_least",
    ),
    ("missing framework table", "[framework]", "[frame]", "frame", "not a key"),
]


@pytest.mark.parametrize(
    ("description", "old", "new", "key", "words"), CASES, ids=[c[0] for c in CASES]
)
def test_invalid_files_name_the_file_and_key(
    tmp_path: Path, description: str, old: str, new: str, key: str, words: str
) -> None:
    path = _edit(tmp_path, old, new)
    with pytest.raises(ConfigError) as caught:
        load_framework(path)
    message = str(caught.value)
    assert str(path) in message
    assert f"field '{key}'" in message
    assert words in message


def test_not_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[framework\nid = 1")
    with pytest.raises(ConfigError, match=r"broken\.toml: is not valid TOML"):
        load_framework(path)


def test_a_local_code_is_declared_then_used(tmp_path: Path) -> None:
    path = _edit(
        tmp_path,
        '  { code = "housing.eviction_notice" },\n]',
        '  { code = "housing.eviction_notice" },\n  { code = "housing.homelessness_duty" },\n]',
    )
    with pytest.raises(ConfigError, match="declare a local one"):
        load_framework(path)
    text = path.read_text() + (
        '\n[[local_codes]]\ncode = "housing.homelessness_duty"\npartner = "housing"\n'
        'description = "The council accepted a homelessness duty"\n'
    )
    path.write_text(text)
    framework = load_framework(path)
    assert "housing.homelessness_duty" in framework.problem("worklessness").codes


# Hypothesis: whatever a council writes, the reader either returns a framework or raises
# ConfigError naming the file — never another exception.
VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 30)
    | st.floats(allow_nan=False, width=32)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
KEYS = st.sampled_from(
    ["framework", "eligibility", "outcomes", "payments", "problems", "families", "local_codes"]
)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_mutation_is_a_framework_or_a_clear_error(data: st.DataObject) -> None:
    base = tomllib.loads(NATIONAL.read_text())
    section = data.draw(KEYS)
    mutated = dict(base)
    if data.draw(st.booleans()) and isinstance(base.get(section), dict):
        inner = dict(base[section])
        key = data.draw(st.sampled_from([*inner, "extra"]))
        inner[key] = data.draw(VALUES)
        mutated[section] = inner
    else:
        mutated[section] = data.draw(VALUES)
    if section == "problems" and data.draw(st.booleans()):
        problems = [dict(p) for p in base["problems"]]
        index = data.draw(st.integers(0, len(problems) - 1))
        field = data.draw(st.sampled_from(["id", "name", "indicators", "outcome", "other"]))
        problems[index][field] = data.draw(VALUES)
        mutated["problems"] = problems
    result: Framework | ConfigError
    try:
        result = parse_framework(NATIONAL, mutated, "", "")
    except ConfigError as exc:
        result = exc
    if isinstance(result, ConfigError):
        assert str(NATIONAL) in str(result)
    else:
        assert isinstance(result, Framework)


def test_the_test_boroughs_categories_are_the_partners_schemas() -> None:
    """The programme tests file each code's flags under the category the partners' schemas give
    it (a test borough that files early help as social care tests data no partner sends)."""
    from kinfold.ingest.schema import load_schemas
    from tests.programme.conftest import CATEGORY_OF

    schemas = load_schemas(Path(__file__).resolve().parents[2] / "config" / "schemas")
    filed = {rule.code: rule.category for s in schemas.values() for rule in s.indicators}
    assert {code: filed.get(code) for code in CATEGORY_OF} == CATEGORY_OF
