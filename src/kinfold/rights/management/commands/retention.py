"""`kinfold retention run [--dry-run] [--as-of DATE]`: erase what has outlived its retention."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import CommandParser

from kinfold.commands import KinfoldCommand
from kinfold.errors import KinfoldError
from kinfold.rights import retention


class Command(KinfoldCommand):
    help = "retention and erasure (crypto-shredding); schedule `run` nightly"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        run = sub.add_parser("run", help="erase the persons and families whose data has expired")
        run.add_argument("--dry-run", action="store_true", help="say what would go; change nothing")
        run.add_argument("--as-of", help="the date to judge expiry by, YYYY-MM-DD (default today)")

    def handle(self, *args: Any, **options: Any) -> None:
        as_of = None
        if options.get("as_of"):
            try:
                as_of = date.fromisoformat(options["as_of"])
            except ValueError:
                raise KinfoldError(
                    "--as-of must be a date like 2026-11-30", field="as-of"
                ) from None
        report = retention.run(as_of, dry_run=options["dry_run"])
        verb = "would erase" if report.dry_run else "erased"
        plan = report.plan
        self.stdout.write(
            f"retention as of {plan.as_of.isoformat()}: {verb} {len(plan.persons)} person(s) and "
            f"{len(plan.families)} famil{'y' if len(plan.families) == 1 else 'ies'}; "
            f"{len(plan.held)} held"
        )
        for item in plan.persons:
            self.stdout.write(f"  {item.pid}: {', '.join(item.categories) or 'no records'}")
        for fid in plan.families:
            self.stdout.write(f"  {fid}: family key")
        for pid, why in sorted(plan.held.items()):
            self.stdout.write(f"  held {pid}: {why}")
        if report.epochs_destroyed:
            self.stdout.write(f"key epochs destroyed: {report.epochs_destroyed}")
