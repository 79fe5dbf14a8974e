"""`kinfold audit checkpoint | prove | consistency | verify`: output, errors, and the documented
third-party checker run against real proofs."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.core.management import CommandError, call_command

from kinfold.audit import checkpoints, merkle
from kinfold.audit.models import Checkpoint

from .conftest import FillLog

DOCS = Path(__file__).resolve().parents[2] / "docs" / "audit-log.md"


def _run(*args: str) -> str:
    from io import StringIO

    out = StringIO()
    call_command("audit", *args, stdout=out)
    return out.getvalue()


def _fails(*args: str) -> CommandError:
    with pytest.raises(CommandError) as failure:
        call_command("audit", *args)
    assert "\n" not in str(failure.value)
    return failure.value


def _checker_source() -> str:
    text = DOCS.read_text()
    block = re.search(
        r"<!-- verifier:start -->\n```python\n(.*?)```\n<!-- verifier:end -->", text, re.S
    )
    assert block is not None, "the verifier snippet is missing from docs/audit-log.md"
    return block.group(1)


def _check_with_docs_snippet(proof: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-I", "-c", _checker_source()],
        input=json.dumps(proof),
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_documented_checker_is_short_and_uses_only_the_standard_library() -> None:
    source = _checker_source()
    assert len(source.strip().splitlines()) <= 25
    imports = set(re.findall(r"^import (.+)$", source, re.M)[0].replace(" ", "").split(","))
    assert imports <= {"base64", "hashlib", "json", "sys"}


@pytest.mark.django_db
def test_prove_prints_a_proof_the_documented_checker_accepts(
    fill_log: FillLog, checkpoint: Callable[[], int]
) -> None:
    fill_log(37)
    checkpoint()
    fill_log(3, start=37)  # newer than the checkpoint: the proof is against the checkpoint
    for seq in (0, 13, 36, 37):
        proof = json.loads(_run("prove", str(seq)))
        assert proof["format"] == "kinfold-audit-inclusion-proof/v1"
        assert proof["tree_size"] == 38
        result = _check_with_docs_snippet(proof)
        assert result.returncode == 0, result.stderr
        assert f"entry {seq} is in checkpoint 1 (38 entries)" in result.stdout


@pytest.mark.django_db
def test_the_documented_checker_rejects_altered_proofs(
    fill_log: FillLog, checkpoint: Callable[[], int]
) -> None:
    fill_log(20)
    checkpoint()
    proof = json.loads(_run("prove", "9"))

    altered_entry = json.loads(json.dumps(proof))
    altered_entry["entry"]["purpose"] = "curiosity"
    flipped = json.loads(json.dumps(proof))
    path = bytearray(base64.b64decode(flipped["inclusion_path"][2]))
    path[0] ^= 1
    flipped["inclusion_path"][2] = base64.b64encode(bytes(path)).decode()
    shortened = json.loads(json.dumps(proof))
    shortened["inclusion_path"].pop()
    moved = json.loads(json.dumps(proof))
    moved["leaf_index"] = 8
    for bad in (altered_entry, flipped, shortened, moved):
        result = _check_with_docs_snippet(bad)
        assert result.returncode != 0
        assert "NOT PROVEN" in result.stderr


@pytest.mark.django_db
def test_the_proofs_checkpoint_signature_checks_with_the_published_key(
    fill_log: FillLog, checkpoint: Callable[[], int]
) -> None:
    fill_log(5)
    checkpoint()
    cp = json.loads(_run("prove", "2"))["checkpoint"]
    published = Ed25519PublicKey.from_public_bytes(checkpoints.public_key())
    published.verify(base64.b64decode(cp["signature"]), cp["body"].encode())


@pytest.mark.django_db
def test_prove_errors_are_one_line(fill_log: FillLog, checkpoint: Callable[[], int]) -> None:
    fill_log(3)
    assert "no checkpoint has been signed yet" in str(_fails("prove", "1"))
    checkpoint()
    fill_log(2, start=3)
    assert "newer than checkpoint 1" in str(_fails("prove", "5"))
    assert "there is no entry 99" in str(_fails("prove", "99"))


@pytest.mark.django_db
def test_checkpoint_signs_only_when_the_log_grew(fill_log: FillLog) -> None:
    fill_log(4)
    first = _run("checkpoint")
    assert "signed checkpoint 1: 5 entries" in first
    assert "\u2014 kinfold.local/audit-log " in first  # the signed-note signature line
    assert "no new checkpoint" in _run("checkpoint")
    assert "signed checkpoint 2: 6 entries" in _run("checkpoint", "--always")
    assert Checkpoint.objects.count() == 2


@pytest.mark.django_db
def test_consistency_prints_a_proof_that_verifies(
    fill_log: FillLog, checkpoint: Callable[[], int]
) -> None:
    fill_log(10)
    size1 = checkpoint()
    fill_log(23, start=10)
    size2 = checkpoint()
    document = json.loads(_run("consistency", "--from", str(size1)))
    assert document["to"]["tree_size"] == size2
    assert document["from"]["checkpoint"]["number"] == 1
    merkle.verify_consistency(
        size1,
        size2,
        base64.b64decode(document["from"]["root_hash"]),
        base64.b64decode(document["to"]["root_hash"]),
        [base64.b64decode(h) for h in document["proof"]],
    )
    explicit = json.loads(_run("consistency", "--from", "3", "--to", "20"))
    assert explicit["from"]["checkpoint"] is None
    assert "need 0 < from" in str(_fails("consistency", "--from", "0", "--to", "5"))
    assert "no tree of 999 entries" in str(_fails("consistency", "--from", "1", "--to", "999"))


@pytest.mark.parametrize("action", ["", "verify", "checkpoint", "prove", "consistency"])
def test_every_subcommand_has_help(action: str) -> None:
    env = {**os.environ, "KINFOLD_ENV": "test"}
    args = [sys.executable, "-m", "kinfold", "audit", *([action] if action else []), "--help"]
    result = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout


def test_a_bad_argument_is_one_line_and_non_zero() -> None:
    env = {**os.environ, "KINFOLD_ENV": "test"}
    args = [sys.executable, "-m", "kinfold", "audit", "prove", "not-a-number"]
    result = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
    assert result.returncode != 0
    assert "invalid int value" in result.stderr
