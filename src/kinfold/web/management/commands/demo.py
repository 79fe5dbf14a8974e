"""`kinfold demo`: a working kinfold on synthetic data, then serve it."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management import call_command

from kinfold import demo
from kinfold.commands import KinfoldCommand
from kinfold.errors import ConfigError
from kinfold.portal.services import ensure_demo_account


class Command(KinfoldCommand):
    help = "build the demo (database, agreements, sign-ins, synthetic borough, its quarter) and serve it"

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--no-serve", action="store_true", help="do everything but serve")
        parser.add_argument(
            "--port", type=int, default=8000, help="port to serve on (default 8000)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.ENV != "demo":
            raise ConfigError(
                "the demo runs with KINFOLD_ENV=demo (its keys are made for it); `make demo` sets it"
            )
        say = self.stdout.write
        say("Preparing the database…")
        demo.ensure_database()
        say("Loading the data-sharing agreements…")
        demo.ensure_agreements()
        sign_ins = demo.ensure_staff()
        say(f"Running the demo borough's quarters (partner extracts in {demo.borough_dir()})…")
        quarters = demo.ensure_borough(say)
        if quarters and all(q.reused for q in quarters):
            say(f"Demo borough: already built ({len(quarters)} quarters), reused.")
        if quarters:
            say(f"Families eligible in {quarters[-1].quarter}: {quarters[-1].eligible:,}.")
        allocated = demo.ensure_allocations()
        if allocated:
            say(f"Allocated {allocated} identified families to the demo key workers.")
        portal = ensure_demo_account()
        say("")
        say(f"Database: {settings.DATABASES['default']['NAME']}")
        say(f"Sign-ins (also in {demo.sign_ins_file()}):")
        for s in sign_ins:
            say(f"  {s.role:<26} {s.username:<18} {s.password}")
        if portal is not None:
            say("")
            say(
                f"Family portal: {portal.email} (family member {portal.pid} of family {portal.fid})"
            )
            say(f"  sign in at /portal/; the one-time code is written to {portal.outbox}/")
        if options["no_serve"]:
            say("\nReady. Serve it with `make serve` (or `KINFOLD_ENV=demo kinfold serve`).")
            return
        say("")
        call_command("serve", port=options["port"])
