"""The `kinfold` command: help everywhere, one-line errors, honest exit statuses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kinfold.cli import hub_commands, main


def _without_test_settings(environ: os._Environ[str]) -> dict[str, str]:
    """pytest-django points DJANGO_SETTINGS_MODULE at the test settings; a real run has none."""
    return {k: v for k, v in environ.items() if k != "DJANGO_SETTINGS_MODULE"}


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kinfold", *args],
        capture_output=True,
        text=True,
        env={**_without_test_settings(os.environ), "KINFOLD_ENV": "test", **(env or {})},
        timeout=120,
    )


def test_overview_lists_plain_and_hub_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("keys", "demo", "serve", "audit", "agreements"):
        assert command in out


@pytest.mark.parametrize("command", sorted(hub_commands()))
def test_every_hub_command_has_help(command: str) -> None:
    result = run(command, "--help")
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout


def test_keys_generate_writes_a_private_file_and_never_overwrites(tmp_path: Path) -> None:
    out = tmp_path / "keys.json"
    assert main(["keys", "generate", "--out", str(out)]) == 0
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    first = out.read_text()
    assert main(["keys", "generate", "--out", str(out)]) != 0
    assert out.read_text() == first


def test_production_without_keys_is_one_clear_line_not_a_traceback() -> None:
    env = {"KINFOLD_ENV": "production", "KINFOLD_KEYS_FILE": "", "KINFOLD_SECRET_KEY": ""}
    result = run("serve", env=env)
    assert result.returncode == 3
    assert "Traceback" not in result.stderr
    assert "KINFOLD_KEYS_FILE" in result.stderr


def test_a_user_error_in_a_hub_command_is_one_line(tmp_path: Path) -> None:
    result = run("agreements", "check", "--folder", str(tmp_path / "missing"))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0
    assert "agreements folder not found" in result.stderr
