"""`kinfold agreements`: check and load the data-sharing agreements folder."""

from __future__ import annotations

import uuid
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings

from kinfold.agreements.documents import load_register
from kinfold.agreements.services import load_folder
from kinfold.audit.actors import Actor
from kinfold.commands import KinfoldCommand


class Command(KinfoldCommand):
    help = "check or load the data-sharing agreements (files under agreements/)"

    def add_arguments(self, parser: ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        check = actions.add_parser("check", help="validate the folder without loading it")
        load = actions.add_parser("load", help="validate and load new versions (audited)")
        for sub in (check, load):
            sub.add_argument(
                "--folder", type=Path, default=None, help=f"default {settings.AGREEMENTS_DIR}"
            )

    def handle(self, *args: Any, **options: Any) -> None:
        folder = options["folder"] or Path(settings.AGREEMENTS_DIR)
        if options["action"] == "check":
            register = load_register(folder)
            for doc in register.agreements:
                self.stdout.write(f"ok  {doc.slug}@v{doc.version} ({doc.status}) {doc.path.name}")
            return
        report = load_folder(Actor.system("agreements-load", uuid.uuid4().hex[:12]), folder)
        for label in report.loaded:
            self.stdout.write(f"loaded     {label}")
        for label in report.unchanged:
            self.stdout.write(f"unchanged  {label}")
