"""Settings: the shipped file loads; an override only needs what it changes; mistakes name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from kinfold.errors import ConfigError
from kinfold.linkage import Settings


def test_the_shipped_settings_load() -> None:
    settings = Settings.default()
    assert settings.qgram == 2
    assert settings.salt == "none"
    assert settings.hardening == "none"
    assert settings.fields["surname"].bits % 64 == 0
    assert settings.classifier == "fellegi-sunter"
    assert len(settings.blocking) >= 5


def test_an_override_changes_only_what_it_names(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text("[fields.surname]\nbits = 512\n\n[linking]\nthreshold = 0.9\n")
    settings = Settings.load(path)
    assert settings.fields["surname"].bits == 512
    assert settings.fields["surname"].hashes == Settings.default().fields["surname"].hashes
    assert settings.threshold == 0.9
    assert settings.encoding_fingerprint() != Settings.default().encoding_fingerprint()


def test_linking_settings_do_not_change_the_encoding_fingerprint(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text("[linking]\nthreshold = 0.8\nem_iterations = 5\n")
    assert Settings.load(path).encoding_fingerprint() == Settings.default().encoding_fingerprint()


def test_blocking_passes_are_replaced_as_a_whole(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text('[[blocking]]\nparts = ["dob"]\n')
    assert [p.name for p in Settings.load(path).blocking] == ["dob"]


BAD = [
    ("unknown top key", "colour = 1\n", "field 'colour': is not a setting"),
    ("unknown field table", "[fields.middle_name]\nbits = 64\n", "field 'fields.middle_name'"),
    (
        "bits not a multiple of 64",
        "[fields.dob]\nbits = 100\n",
        "'fields.dob.bits': must be a multiple of 64",
    ),
    ("bits a string", '[fields.dob]\nbits = "many"\n', "'fields.dob.bits': must be a whole number"),
    ("hashes out of range", "[fields.dob]\nhashes = 0\n", "'fields.dob.hashes'"),
    ("thresholds rising", "[fields.dob]\nthresholds = [0.5, 0.7]\n", "'fields.dob.thresholds'"),
    ("thresholds not a list", "[fields.dob]\nthresholds = 0.5\n", "'fields.dob.thresholds'"),
    ("bad salt", '[encoding]\nsalt = "pepper"\n', "'encoding.salt': must be one of"),
    ("bad hardening", '[encoding]\nhardening = "lots"\n', "'encoding.hardening'"),
    ("bad classifier", '[linking]\nclassifier = "magic"\n', "'linking.classifier'"),
    ("threshold above 1", "[linking]\nthreshold = 2\n", "'linking.threshold': must be a number"),
    ("bool as number", "[linking]\nthreshold = true\n", "'linking.threshold'"),
    ("blocking part unknown", '[[blocking]]\nparts = ["shoe_size"]\n', r"'blocking\[1\]\.parts'"),
    ("blocking transform unknown", '[[blocking]]\nparts = ["dob:week"]\n', "'dob:week'"),
    ("blocking empty", "blocking = []\n", "field 'blocking'"),
    ("version", "version = 2\n", "field 'version': must be 1"),
    ("not TOML", "[fields\n", "not valid TOML"),
]


@pytest.mark.parametrize(("description", "text", "message"), BAD)
def test_mistakes_name_the_file_and_the_key(
    tmp_path: Path, description: str, text: str, message: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as caught:
        Settings.load(path)
    assert str(path) in str(caught.value), description


def test_a_missing_settings_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"absent\.toml: settings file not found"):
        Settings.load(tmp_path / "absent.toml")
