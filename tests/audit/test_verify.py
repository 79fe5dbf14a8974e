"""`verify`: an intact log passes; every kind of tampering fails, naming the first bad entry.

The tampering is done in raw SQL, as someone with database access would. Each case asserts the
specific check that catches it, so removing the hash chain or the Merkle check fails these tests.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError, call_command
from django.db import connection

from kinfold.audit import checkpoints, merkle, services
from kinfold.audit.models import AuditEntry, Checkpoint, TreeNode
from kinfold.audit.verification import verify_log

from .conftest import FillLog

pytestmark = pytest.mark.django_db


def _rewrite_hashes_from(seq: int, tamper: Callable[..., None]) -> None:
    """What a careful attacker does after altering entry `seq`: recompute its leaf hash and the
    chain from there on, so that the entries and the chain look consistent again."""
    chain = services.GENESIS if seq == 0 else bytes(AuditEntry.objects.get(seq=seq - 1).chain_hash)
    for row in AuditEntry.objects.filter(seq__gte=seq).order_by("seq"):
        leaf = merkle.leaf_hash(row.canonical_bytes())
        chain = services.chain_hash(chain, leaf)
        tamper(
            "UPDATE audit_entry SET leaf_hash = %s, chain_hash = %s WHERE seq = %s",
            [leaf, chain, row.seq],
        )


def _rebuild_tree(tamper: Callable[..., None]) -> None:
    """...and, more careful still, recompute every stored tree node."""
    tamper("DELETE FROM audit_tree_node")
    frontier = merkle.Frontier()
    for leaf in AuditEntry.objects.order_by("seq").values_list("leaf_hash", flat=True):
        for level, index, value in frontier.append(bytes(leaf)):
            tamper(
                "INSERT INTO audit_tree_node (key, hash) VALUES (%s, %s)",
                [TreeNode.key_for(level, index), value],
            )


def test_an_intact_log_verifies(fill_log: FillLog, checkpoint: Callable[[], int]) -> None:
    fill_log(30)
    checkpoint()
    fill_log(17, start=30)
    checkpoint()
    fill_log(5, start=47)
    report = verify_log()
    assert report.ok, report.problems
    assert report.entries == 54
    assert report.checkpoints == 2


def test_an_empty_log_verifies(db: None) -> None:
    report = verify_log()
    assert report.ok
    assert report.entries == 0


def test_altering_a_field_names_the_entry(fill_log: FillLog, tamper: Callable[..., None]) -> None:
    fill_log(20)
    tamper("UPDATE audit_entry SET purpose = 'curiosity' WHERE seq = 7")
    report = verify_log()
    assert report.first_bad_entry == 7
    assert "entry 7 does not match its leaf hash" in report.problems[0]


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("actor_id", "kw.someone-else"),
        ("event", "family:listed"),
        ("decision", "deny"),
        ("subjects", "F7K2M9QX4TBA"),
        ("recorded_at", "2020-01-01 00:00:00"),
    ],
)
def test_altering_any_committed_field_is_caught(
    fill_log: FillLog, tamper: Callable[..., None], column: str, value: str
) -> None:
    fill_log(12)
    tamper(f"UPDATE audit_entry SET {column} = %s WHERE seq = 4", [value])
    report = verify_log()
    assert report.first_bad_entry == 4, report.problems


def test_altering_details_is_caught(fill_log: FillLog, tamper: Callable[..., None]) -> None:
    fill_log(12)
    entry = AuditEntry.objects.get(seq=9)
    details = dict(entry.details, category="health")
    column = "details"
    if connection.vendor == "postgresql":
        tamper(f"UPDATE audit_entry SET {column} = %s::jsonb WHERE seq = 9", [_json(details)])
    else:
        tamper(f"UPDATE audit_entry SET {column} = %s WHERE seq = 9", [_json(details)])
    assert verify_log().first_bad_entry == 9


def _json(value: object) -> str:
    import json

    return json.dumps(value)


def test_deleting_a_row_names_the_missing_entry(
    fill_log: FillLog, tamper: Callable[..., None]
) -> None:
    fill_log(20)
    tamper("DELETE FROM audit_subject WHERE entry_id = 11")
    tamper("DELETE FROM audit_entry WHERE seq = 11")
    report = verify_log()
    assert report.first_bad_entry == 11
    assert "entry 11 is missing" in report.problems[0]


def test_deleting_and_renumbering_is_caught(fill_log: FillLog, tamper: Callable[..., None]) -> None:
    fill_log(10)
    tamper("DELETE FROM audit_subject WHERE entry_id IN (3, 9)")
    tamper("DELETE FROM audit_entry WHERE seq = 3")
    for seq in range(4, 10):
        tamper("UPDATE audit_entry SET seq = %s WHERE seq = %s", [seq - 1, seq])
    report = verify_log()
    assert report.first_bad_entry == 3
    assert "entry 3 does not match its leaf hash" in report.problems[0]


def test_swapping_two_rows_names_the_first(fill_log: FillLog, tamper: Callable[..., None]) -> None:
    fill_log(15)
    tamper("UPDATE audit_entry SET seq = -1 WHERE seq = 4")
    tamper("UPDATE audit_entry SET seq = 4 WHERE seq = 10")
    tamper("UPDATE audit_entry SET seq = 10 WHERE seq = -1")
    report = verify_log()
    assert report.first_bad_entry == 4
    assert "entry 4 does not match its leaf hash" in report.problems[0]


def test_swapping_with_rewritten_leaf_hashes_breaks_the_chain(
    fill_log: FillLog, tamper: Callable[..., None]
) -> None:
    fill_log(15)
    tamper("UPDATE audit_entry SET seq = -1 WHERE seq = 4")
    tamper("UPDATE audit_entry SET seq = 4 WHERE seq = 10")
    tamper("UPDATE audit_entry SET seq = 10 WHERE seq = -1")
    for seq in (4, 10):
        row = AuditEntry.objects.get(seq=seq)
        tamper(
            "UPDATE audit_entry SET leaf_hash = %s WHERE seq = %s",
            [merkle.leaf_hash(row.canonical_bytes()), seq],
        )
    report = verify_log()
    assert report.first_bad_entry == 4
    assert "entry 4: the hash chain is broken" in report.problems[0]


def test_rewriting_the_chain_is_caught_by_the_stored_tree(
    fill_log: FillLog, tamper: Callable[..., None]
) -> None:
    fill_log(16)
    tamper("UPDATE audit_entry SET reason = 'routine' WHERE seq = 5")
    _rewrite_hashes_from(5, tamper)
    report = verify_log()
    assert report.first_bad_entry == 4  # the node over entries 4 and 5 no longer matches
    assert "the stored tree node over entries 4 to 5 does not match" in report.problems[0]


def test_rewriting_chain_and_tree_is_caught_by_the_signed_checkpoint(
    fill_log: FillLog, checkpoint: Callable[[], int], tamper: Callable[..., None]
) -> None:
    fill_log(10)
    first = checkpoint()
    fill_log(10, start=10)
    second = checkpoint()
    tamper("UPDATE audit_entry SET reason = 'routine' WHERE seq = 14")
    _rewrite_hashes_from(14, tamper)
    _rebuild_tree(tamper)
    report = verify_log()
    assert report.first_bad_entry == first
    assert (
        f"entries {first} to {second - 1}: checkpoint 2 signed a different root"
        in (report.problems[0])
    )


def test_truncating_the_tail_after_a_checkpoint(
    fill_log: FillLog, checkpoint: Callable[[], int], tamper: Callable[..., None]
) -> None:
    fill_log(20)
    size = checkpoint()
    fill_log(10, start=20)
    tamper("DELETE FROM audit_subject WHERE entry_id >= 15")
    tamper("DELETE FROM audit_entry WHERE seq >= 15")
    tamper("DELETE FROM audit_tree_node WHERE key >= %s", [15 * 64])
    report = verify_log()
    assert report.first_bad_entry == 15
    assert f"checkpoint 1 covers {size} entries but the log holds 15" in report.problems[0]


def test_deleting_a_subject_index_row_is_caught(
    fill_log: FillLog, tamper: Callable[..., None]
) -> None:
    fill_log(8)
    tamper("DELETE FROM audit_subject WHERE entry_id = 5 AND subject = 'P3M9K2QX7TBB'")
    report = verify_log()
    assert report.first_bad_entry == 5
    assert "subject index" in report.problems[0]


def test_a_forged_checkpoint_signature_is_caught(
    fill_log: FillLog, checkpoint: Callable[[], int], tamper: Callable[..., None]
) -> None:
    fill_log(5)
    checkpoint()
    tamper("UPDATE audit_checkpoint SET tree_size = 3 WHERE number = 1")
    report = verify_log()
    assert "checkpoint 1: the signature is not valid" in report.problems[0]


def test_a_checkpoint_signed_by_another_key_is_caught(
    fill_log: FillLog, checkpoint: Callable[[], int], tamper: Callable[..., None]
) -> None:
    fill_log(5)
    checkpoint()
    cp = Checkpoint.objects.get(number=1)
    intruder = Ed25519PrivateKey.generate()
    public = intruder.public_key().public_bytes_raw()
    signature = intruder.sign(checkpoints.body_of(cp))
    tamper(
        "UPDATE audit_checkpoint SET public_key = %s, signature = %s WHERE number = 1",
        [public, signature],
    )
    assert "checkpoint 1: the signature is not valid" in verify_log().problems[0]
    assert verify_log(trusted_keys=[public]).ok  # an earlier key can be trusted explicitly


def test_the_command_exits_non_zero_naming_the_first_bad_entry(
    fill_log: FillLog, tamper: Callable[..., None]
) -> None:
    fill_log(9)
    tamper("UPDATE audit_entry SET basis = 'override:none' WHERE seq = 6")
    with pytest.raises(CommandError) as failure:
        call_command("audit", "verify")
    assert failure.value.returncode == 1
    assert "entry 6" in str(failure.value)
    assert "\n" not in str(failure.value)


def test_the_command_passes_and_records_the_verification(
    fill_log: FillLog, capsys: pytest.CaptureFixture[str]
) -> None:
    fill_log(9)
    call_command("audit", "verify")
    assert "audit log intact: 9 entries" in capsys.readouterr().out
    last = AuditEntry.objects.order_by("-seq").first()
    assert last is not None
    assert last.event == "audit:verified"
    assert last.actor_kind == "system"
    assert last.actor_run_id


def test_entry_hashes_are_what_the_documentation_says(fill_log: FillLog) -> None:
    (entry,) = fill_log(1)
    data = entry.canonical_bytes()
    assert bytes(entry.leaf_hash) == hashlib.sha256(b"\x00" + data).digest()
    assert bytes(entry.chain_hash) == hashlib.sha256(bytes(32) + bytes(entry.leaf_hash)).digest()


def test_the_command_reports_the_damage_even_when_it_cannot_record(
    fill_log: FillLog, checkpoint: Callable[[], int], tamper: Callable[..., None]
) -> None:
    fill_log(20)
    checkpoint()
    tamper("DELETE FROM audit_subject WHERE entry_id >= 15")
    tamper("DELETE FROM audit_entry WHERE seq >= 15")  # tree nodes left behind: appends collide
    with pytest.raises(CommandError) as failure:
        call_command("audit", "verify")
    assert failure.value.returncode == 1
    assert "entry 15 is missing" in str(failure.value)
