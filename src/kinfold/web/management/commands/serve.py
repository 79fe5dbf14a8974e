"""`kinfold serve`: the web app under waitress, a production WSGI server."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from kinfold.commands import KinfoldCommand
from kinfold.errors import ConfigError


class Command(KinfoldCommand):
    help = "serve the web app (staff pages, family portal, transparency pages, partner API)"

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
        )
        parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
        parser.add_argument("--threads", type=int, default=8, help="worker threads (default 8)")

    def handle(self, *args: Any, **options: Any) -> None:
        executor = MigrationExecutor(connection)
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            raise ConfigError(
                "the database needs migrating first: run `kinfold migrate` (or `kinfold demo`)"
            )
        if settings.ENV == "production":
            call_command("check", deploy=True, fail_level="ERROR")
        from waitress import serve

        from kinfold.wsgi import application

        self.stdout.write(
            f"kinfold is serving on http://{options['host']}:{options['port']}/ (Ctrl-C to stop)"
        )
        serve(
            application,
            host=options["host"],
            port=options["port"],
            threads=options["threads"],
            ident="kinfold",
        )
