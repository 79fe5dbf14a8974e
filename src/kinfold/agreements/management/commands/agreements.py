"""`kinfold agreements`: check, load, approve, retire, and print the enforced policy."""

from __future__ import annotations

import uuid
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings

from kinfold.agreements import cedar
from kinfold.agreements.documents import load_register
from kinfold.agreements.models import Agreement
from kinfold.agreements.services import approve, load_folder, retire
from kinfold.audit.actors import Actor
from kinfold.commands import KinfoldCommand
from kinfold.errors import ConfigError


class Command(KinfoldCommand):
    help = "check, load, approve or retire data-sharing agreements (files under agreements/)"

    def add_arguments(self, parser: ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        check = actions.add_parser(
            "check", help="validate the folder and compile each agreement, without loading"
        )
        load = actions.add_parser("load", help="validate, compile and load new versions (audited)")
        for sub in (check, load):
            sub.add_argument(
                "--folder", type=Path, default=None, help=f"default {settings.AGREEMENTS_DIR}"
            )
        for name, what in (("approve", "approve a draft version"), ("retire", "retire a version")):
            sub = actions.add_parser(name, help=f"{what}: enforced or not from the next decision")
            sub.add_argument("slug", help="the agreement's id, e.g. northfield-supporting-families")
            sub.add_argument("version", type=int)
            sub.add_argument("--note", default="", help="why (kept in the public history)")
            sub.add_argument("--by", default="", help="who decided (a role, e.g. dpo)")
        policy = actions.add_parser("policy", help="print the Cedar policy a version enforces")
        policy.add_argument("slug")
        policy.add_argument("--version", type=int, default=None, help="default: the newest")
        actions.add_parser("schema", help="print the Cedar schema the policies are checked against")

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, f"_{options['action']}")(options)

    def _check(self, options: dict[str, Any]) -> None:
        folder = options["folder"] or Path(settings.AGREEMENTS_DIR)
        register = load_register(folder)
        for doc in register.agreements:
            compiled = cedar.compile_agreement(doc, register)
            self.stdout.write(
                f"ok  {doc.slug}@v{doc.version} ({doc.status}) {doc.path.name}: "
                f"{len(compiled.policies)} policies"
            )

    def _load(self, options: dict[str, Any]) -> None:
        folder = options["folder"] or Path(settings.AGREEMENTS_DIR)
        report = load_folder(Actor.system("agreements-load", uuid.uuid4().hex[:12]), folder)
        for label in report.loaded:
            self.stdout.write(f"loaded     {label}")
        for label in report.unchanged:
            self.stdout.write(f"unchanged  {label}")

    def _actor(self, options: dict[str, Any], job: str) -> Actor:
        if options["by"]:
            return Actor(kind="user", id=options["by"], role=options["by"])
        return Actor.system(job, uuid.uuid4().hex[:12])

    def _approve(self, options: dict[str, Any]) -> None:
        agreement = approve(
            self._actor(options, "agreements-approve"),
            options["slug"],
            options["version"],
            options["note"],
        )
        self.stdout.write(f"approved   {agreement.label} (enforced from the next decision)")

    def _retire(self, options: dict[str, Any]) -> None:
        agreement = retire(
            self._actor(options, "agreements-retire"),
            options["slug"],
            options["version"],
            options["note"],
        )
        self.stdout.write(f"retired    {agreement.label} (no longer enforced)")

    def _policy(self, options: dict[str, Any]) -> None:
        versions = Agreement.objects.filter(slug=options["slug"]).order_by("-version")
        if options["version"] is not None:
            versions = versions.filter(version=options["version"])
        agreement = versions.first()
        if agreement is None:
            raise ConfigError(f"no agreement '{options['slug']}' of that version has been loaded")
        self.stdout.write(agreement.policy_text, ending="")

    def _schema(self, options: dict[str, Any]) -> None:
        self.stdout.write(cedar.SCHEMA, ending="")
