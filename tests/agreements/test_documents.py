"""Agreement files are validated on load, with errors that name the file and the key."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kinfold.agreements.documents import load_register
from kinfold.errors import ConfigError

REPO_AGREEMENTS = Path(__file__).resolve().parents[2] / "agreements"
MAIN = "northfield-supporting-families.toml"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "agreements"
    shutil.copytree(REPO_AGREEMENTS, target)
    return target


def test_the_shipped_agreements_are_valid() -> None:
    register = load_register(REPO_AGREEMENTS)
    assert len(register.categories) == 9
    assert {a.slug for a in register.agreements} == {"northfield-supporting-families"}
    assert sorted((a.version, a.status) for a in register.agreements) == [
        (1, "retired"),
        (2, "approved"),
    ]
    main = next(a for a in register.agreements if a.version == 2)
    assert {p.purpose for p in main.purposes} == {
        "identification",
        "service-coordination",
        "safeguarding",
        "evaluation",
        "payment-by-results",
    }


CASES = [
    # (description, text to replace, replacement, file, key named in the error, words in the message)
    (
        "unknown category",
        '"antisocial-behaviour", "police-courts-probation"]\n  level = "flags"',
        '"antisocial-behaviour", "gossip"]\n  level = "flags"',
        MAIN,
        "purposes[0].shares[0].categories",
        "unknown data category 'gossip'",
    ),
    (
        "special category without a condition",
        '  level = "flags"\n  conditions = ["article-9-2-g-sch1-para-6"]\n',
        '  level = "flags"\n',
        MAIN,
        "purposes[0].shares[2].conditions",
        "Article 9",
    ),
    (
        "organisation not a party",
        'from = ["northfield-nhs-trust", "northfield-recovery"]\n  to = "northfield-council"\n  roles = ["analyst"',
        'from = ["northfield-nhs-trust", "acme-data-broker"]\n  to = "northfield-council"\n  roles = ["analyst"',
        MAIN,
        "purposes[0].shares[2].from",
        "acme-data-broker",
    ),
    (
        "bad status",
        'status = "approved"',
        'status = "signed"',
        MAIN,
        "agreement.status",
        "draft, approved, retired",
    ),
    (
        "version not a number",
        "version = 2",
        'version = "one"',
        MAIN,
        "agreement.version",
        "whole number",
    ),
    (
        "bad retention",
        'health = "P2Y"',
        'health = "two years"',
        MAIN,
        "retention.health",
        "ISO 8601",
    ),
    ("missing retention", 'health = "P2Y"\n', "", MAIN, "retention", "health"),
    (
        "unknown role",
        'roles = ["key_worker"]',
        'roles = ["anyone"]',
        MAIN,
        "purposes[1].shares[0].roles",
        "unknown role 'anyone'",
    ),
    (
        "review date not a date",
        "review_date = 2027-11-30",
        'review_date = "soon"',
        MAIN,
        "agreement.review_date",
        "date",
    ),
    ("not TOML", "[agreement]", "[agreement", MAIN, None, "not valid TOML"),
    (
        "unknown special marker",
        'special = "article-10"',
        'special = "article-11"',
        "vocabulary.toml",
        "categories.police-courts-probation.special",
        "article-9 or article-10",
    ),
]


@pytest.mark.parametrize(
    ("description", "old", "new", "file", "key", "words"), CASES, ids=[c[0] for c in CASES]
)
def test_invalid_files_are_refused_naming_file_and_key(
    folder: Path, description: str, old: str, new: str, file: str, key: str | None, words: str
) -> None:
    path = folder / file
    text = path.read_text()
    assert old in text, f"test case '{description}' no longer matches the shipped file"
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(ConfigError) as caught:
        load_register(folder)
    message = str(caught.value)
    assert str(path) in message
    if key:
        assert f"field '{key}'" in message
    assert words in message


def test_a_duplicate_version_in_two_files_is_refused(folder: Path) -> None:
    shutil.copy(folder / MAIN, folder / "copy.toml")
    with pytest.raises(ConfigError, match="version 2 is also in"):
        load_register(folder)


def test_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="agreements folder not found"):
        load_register(tmp_path / "nowhere")
