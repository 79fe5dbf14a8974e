"""The settings file: every rate in one place, checked on load with errors naming file and key."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from kinfold.errors import ConfigError
from kinfold.synth import PARTNERS, default_settings_text, load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "borough.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_settings_load_and_cover_every_partner() -> None:
    settings = load_settings()
    assert set(settings.recording.partners) == set(PARTNERS)
    assert settings.source.startswith("settings.toml")
    assert sum(settings.households.origins.values()) == pytest.approx(1)


def test_a_file_changes_only_what_it_gives(tmp_path: Path) -> None:
    path = write(tmp_path, "[demography]\nleave_home = 0.05\n\n[recording.police]\ntypo = 0.2\n")
    settings = load_settings(path)
    default = load_settings()
    assert settings.demography.leave_home == 0.05
    assert settings.recording.partners["police"].typo == 0.2
    assert settings.demography.partnering == default.demography.partnering
    assert (
        settings.recording.partners["police"].nickname
        == default.recording.partners["police"].nickname
    )
    assert settings.digest != default.digest
    assert settings.source == str(path)


@pytest.mark.parametrize(
    ("description", "text", "key", "words"),
    [
        ("a misspelt key", "[demography]\nleave_hom = 0.1\n", "demography.leave_hom", "not a setting"),
        ("an unknown section", "[weather]\nrain = 1\n", "weather", "not a section"),
        ("a probability above 1", "[demography]\nleave_home = 1.5\n", "demography.leave_home", "between 0 and 1"),
        ("text for a number", '[demography]\nleave_home = "often"\n', "demography.leave_home", "number"),
        ("three states needed", "[indicators]\noffence = [0.1, 0.2]\n", "indicators.offence", "3 numbers"),
        ("shares not adding up", "[circumstances]\ninitial = [0.5, 0.2, 0.2]\n", "circumstances.initial", "add up"),
        ("household types not adding up", "[households]\nshared = 0.5\n", "households", "add up"),
        ("a band ending before it starts", "[demography]\ndeath = [[60, 10, 0.1]]\n", "demography.death", "ends before"),
        ("an unknown identifier's coverage", "[recording.police]\ncoverage = { shoe_size = 1 }\n",
         "recording.police.coverage.shoe_size", "not one of"),
        ("an unknown partner", "[recording.astrologer]\ntypo = 0.1\n", "recording.astrologer", "not a setting"),
        ("a postcode area that is not letters", '[borough]\npostcode_area = "N1"\n', "borough.postcode_area", "capital"),
    ],
)  # fmt: skip
def test_bad_settings_name_the_file_and_key(
    tmp_path: Path, description: str, text: str, key: str, words: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert str(path) in message, description
    assert f"field '{key}'" in message, description
    assert words in message, description


def test_invalid_toml_and_a_missing_file_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(write(tmp_path, "[demography\n"))
    with pytest.raises(ConfigError, match="cannot be read"):
        load_settings(tmp_path / "missing.toml")


def test_the_printed_settings_are_the_shipped_file() -> None:
    text = default_settings_text()
    assert tomllib.loads(text)["borough"]["name"] == "Northfield"
    assert "Calibration" in text  # the file documents itself
