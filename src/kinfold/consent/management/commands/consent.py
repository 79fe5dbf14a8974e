"""`kinfold consent expire`: mark consents and overrides past their end as expired (a daily job)."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from kinfold.audit.actors import Actor, new_run_id
from kinfold.commands import KinfoldCommand
from kinfold.consent import overrides, services


class Command(KinfoldCommand):
    help = "housekeeping for consent records and lawful overrides"

    def add_arguments(self, parser: ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        actions.add_parser(
            "expire",
            help="record the expiry of consents and overrides past their end (decisions already "
            "ignore them; this writes the history and the audit entries)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        actor = Actor.system("consent-expire", new_run_id())
        consents = services.expire_due(actor)
        ended = overrides.expire_due(actor)
        self.stdout.write(f"expired {consents} consent record(s) and {ended} override(s)")
