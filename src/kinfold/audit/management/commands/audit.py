"""`kinfold audit`: verify the log, sign checkpoints, print inclusion and consistency proofs."""

from __future__ import annotations

import base64
import binascii
import json
import sys
from argparse import ArgumentParser
from typing import Any

from django.db import DatabaseError
from tqdm import tqdm

from kinfold.audit import checkpoints, proofs, services
from kinfold.audit.actors import Actor, new_run_id
from kinfold.audit.errors import AuditError, LogDamagedError
from kinfold.audit.events import Event
from kinfold.audit.verification import VerificationReport, verify_log
from kinfold.commands import KinfoldCommand


def _public_key(text: str) -> bytes:
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise AuditError(f"--trust {text!r} is not base64") from None
    if len(key) != 32:
        raise AuditError(f"--trust must be a 32-byte Ed25519 public key, not {len(key)} bytes")
    return key


class Command(KinfoldCommand):
    help = "verify the audit log, sign checkpoints, print inclusion and consistency proofs"

    def add_arguments(self, parser: ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        verify = actions.add_parser(
            "verify",
            help="check every entry, the hash chain, the tree and every signed checkpoint",
            description="Recompute every leaf, the chain and the tree; check every checkpoint's "
            "signature, root and consistency. Exit 0 if intact, 1 naming the first bad entry.",
        )
        verify.add_argument(
            "--trust",
            action="append",
            default=[],
            metavar="BASE64_KEY",
            help="also accept checkpoints signed by this earlier public key (repeatable)",
        )
        verify.add_argument(
            "--no-record",
            action="store_true",
            help="do not add an audit:verified entry with the outcome",
        )
        checkpoint = actions.add_parser(
            "checkpoint",
            help="sign and store a checkpoint of the log (run it from cron or a systemd timer)",
            description="Sign the log's size and root now. Does nothing if no entry was "
            "recorded since the latest checkpoint, unless --always.",
        )
        checkpoint.add_argument(
            "--always", action="store_true", help="sign a new checkpoint even if nothing changed"
        )
        prove = actions.add_parser(
            "prove",
            help="print an inclusion proof of one entry against the latest checkpoint (JSON)",
            description="Print the entry, its leaf hash and its RFC 9162 inclusion proof "
            "against the latest checkpoint, as JSON (format in docs/audit-log.md).",
        )
        prove.add_argument("entry", type=int, metavar="ENTRY", help="the entry's sequence number")
        consistency = actions.add_parser(
            "consistency",
            help="print a consistency proof between two tree sizes (JSON)",
            description="Print the RFC 9162 consistency proof that the log of --to entries "
            "extends the log of --from entries, with both roots, as JSON.",
        )
        consistency.add_argument("--from", dest="size1", type=int, required=True, metavar="N")
        consistency.add_argument(
            "--to",
            dest="size2",
            type=int,
            default=None,
            metavar="M",
            help="default: the latest checkpoint's size",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "verify":
            self._verify([_public_key(k) for k in options["trust"]], not options["no_record"])
        elif action == "checkpoint":
            self._checkpoint(options["always"])
        elif action == "prove":
            self._print(proofs.inclusion_json(options["entry"]))
        else:
            self._print(proofs.consistency_json(options["size1"], options["size2"]))

    def _print(self, document: dict[str, Any]) -> None:
        self.stdout.write(json.dumps(document, indent=2))

    def _verify(self, trusted: list[bytes], record: bool) -> None:
        with tqdm(
            desc="verifying", unit=" entries", disable=not sys.stderr.isatty(), file=sys.stderr
        ) as bar:

            def progress(done: int) -> None:
                bar.update(done - bar.n)

            report = verify_log(trusted, progress=progress)
        if record:
            self._record_outcome(report)
        if not report.ok:
            for problem in report.problems[1:]:
                self.stderr.write(f"also: {problem}")
            raise LogDamagedError(f"audit log damaged: {report.problems[0]}")
        self.stdout.write(
            f"audit log intact: {report.entries} entries, {report.checkpoints} signed checkpoints "
            f"verified in {report.seconds:.1f} s"
        )

    def _record_outcome(self, report: VerificationReport) -> None:
        try:
            services.record(
                Actor.system("audit-verify", new_run_id()),
                Event.AUDIT_VERIFIED if report.ok else Event.AUDIT_VERIFICATION_FAILED,
                resource="audit-log",
                details={
                    "entries": report.entries,
                    "checkpoints": report.checkpoints,
                    "first_bad_entry": report.first_bad_entry,
                },
            )
        except (LogDamagedError, DatabaseError) as exc:
            if report.ok:
                raise
            # A damaged tail can make appending impossible; the damage is the news.
            self.stderr.write(f"could not record the failed verification: {exc}")

    def _checkpoint(self, always: bool) -> None:
        result = checkpoints.make_checkpoint(
            Actor.system("audit-checkpoint", new_run_id()), always=always
        )
        cp = result.checkpoint
        if result.created:
            self.stdout.write(f"signed checkpoint {cp.number}: {cp.tree_size} entries")
        else:
            self.stdout.write(
                f"nothing recorded since checkpoint {cp.number} ({cp.tree_size} entries); "
                "no new checkpoint"
            )
        self.stdout.write(checkpoints.note_text(cp), ending="")
