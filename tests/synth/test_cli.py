"""`kinfold synth` on the command line."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from kinfold.cli import main
from kinfold.synth import default_settings_text


def test_help_describes_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["synth", "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    for option in ("--residents", "--seed", "--start", "--quarters", "--out", "--settings"):
        assert option in out
    assert "docs/synth.md" in out


def test_a_small_borough_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "borough"
    status = main(
        ["synth", "--residents", "800", "--quarters", "2", "--seed", "3", "--out", str(out)]
    )
    assert status == 0
    assert (out / "manifest.json").is_file()
    assert sorted(p.name for p in (out / "extracts").iterdir()) == ["2015Q2", "2015Q3"]
    printed = capsys.readouterr()
    assert "800 residents, 2 quarters from 2015Q2" in printed.out
    assert printed.err == ""  # no progress bar when stderr is not a terminal


@pytest.mark.parametrize(
    ("arguments", "words", "status"),
    [
        (["--residents", "lots"], "field '--residents': must be a whole number", 4),
        (["--residents", "5"], "between 100", 4),
        (["--quarters", "0"], "between 1", 4),
        (["--start", "2015-04"], "is not a quarter", 2),
        (["--settings", "/no/such/file.toml"], "cannot be read", 3),
    ],
)
def test_bad_arguments_are_one_line_and_a_non_zero_status(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    arguments: list[str],
    words: str,
    status: int,
) -> None:
    assert main(["synth", *arguments, "--out", str(tmp_path / "b")]) == status
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert words in err
    assert not (tmp_path / "b").exists()


def test_it_will_not_write_over_other_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "notes.txt").write_text("keep me")
    assert main(["synth", "--residents", "200", "--out", str(tmp_path)]) == 4
    assert "not empty" in capsys.readouterr().err
    assert (tmp_path / "notes.txt").read_text() == "keep me"


def test_print_settings_gives_the_shipped_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["synth", "--print-settings"]) == 0
    out = capsys.readouterr().out
    assert out == default_settings_text()
    assert tomllib.loads(out)["recording"]["dwp"]["coverage"]["ni_number"] == 1.0


def test_the_out_folder_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["synth", "--residents", "200"]) == 4
    assert "--out" in capsys.readouterr().err


def test_progress_is_reported_after_each_quarter(tmp_path: Path) -> None:
    from kinfold.synth import generate

    calls: list[tuple[int, int]] = []
    generate(
        tmp_path / "b",
        residents=300,
        quarters=3,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls == [(1, 3), (2, 3), (3, 3)]
