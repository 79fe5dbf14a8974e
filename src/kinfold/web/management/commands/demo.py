"""`kinfold demo`: a working kinfold on synthetic data, then serve it."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management import call_command

from kinfold import demo
from kinfold.commands import KinfoldCommand
from kinfold.errors import ConfigError


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
        made = demo.ensure_borough()
        say(
            f"Demo borough: {'built ' + str(made) + ' families' if made else 'already built, reused'}."
        )
        demo.ensure_allocations(sign_ins)
        say("")
        say(f"Database: {settings.DATABASES['default']['NAME']}")
        say(f"Sign-ins (also in {demo.sign_ins_file()}):")
        for s in sign_ins:
            say(f"  {s.role:<26} {s.username:<18} {s.password}")
        if options["no_serve"]:
            say("\nReady. Serve it with `make serve` (or `KINFOLD_ENV=demo kinfold serve`).")
            return
        say("")
        call_command("serve", port=options["port"])
