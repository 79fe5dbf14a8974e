"""`kinfold portal add-account|close-account`: portal accounts from the command line (audited as
the member of staff named by --by, who must be the person's key worker or the DPO)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from kinfold.commands import KinfoldCommand
from kinfold.errors import KinfoldError
from kinfold.portal import services
from kinfold.staff.models import User


class Command(KinfoldCommand):
    help = "family portal accounts"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add-account", help="let a person sign in to the portal")
        add.add_argument("pid", help="the person's pseudonymous id")
        contact = add.add_mutually_exclusive_group(required=True)
        contact.add_argument("--email", help="an email address the vault holds for them")
        contact.add_argument("--mobile", help="a UK mobile number the vault holds for them")
        add.add_argument("--by", required=True, help="username of the key worker or DPO")
        close = sub.add_parser("close-account", help="stop a person signing in to the portal")
        close.add_argument("pid")
        close.add_argument("--by", required=True, help="username of the member of staff")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["by"], is_active=True).first()
        if user is None:
            raise KinfoldError(f"no active member of staff '{options['by']}'", field="by")
        if options["action"] == "add-account":
            kind = "email" if options.get("email") else "mobile"
            services.register_account(
                user, options["pid"], kind, options.get("email") or options["mobile"]
            )
            self.stdout.write(f"{options['pid']} can now sign in to the portal by {kind}")
        else:
            services.close_account(user, options["pid"])
            self.stdout.write(f"{options['pid']}: portal account closed")
