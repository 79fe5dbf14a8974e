"""The `kinfold` command: one entry point for partners, analysts and operators.

Two kinds of command live behind it:

- *plain* commands (``synth``, ``encode``, ``link``, ``link-encoded``, ``dedupe``, ``bundle``, ``keys``)
  use only the plain libraries, so a partner can run them after ``pip install kinfold`` with no
  database or hub keys (``bundle`` is the partner's quarterly job: its extract encoded for linkage,
  with flags and details sealed to the hub);
- *hub* commands (``demo``, ``serve``, ``audit``, ``quarter`` …) are Django management commands of the
  parts (``src/kinfold/<part>/management/commands/``), run with the hub's settings.

Every command has ``--help``. User mistakes print one line and exit non-zero; never a traceback.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from kinfold import __version__
from kinfold.errors import KinfoldError

# Modules that add plain (Django-free) commands; each has `register(subparsers)`.
PLAIN_COMMAND_MODULES = ("kinfold.synth.cli", "kinfold.linkage.cli", "kinfold.ingest.cli")

Handler = Callable[[argparse.Namespace], int]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    parser, plain = _plain_parser()
    try:
        if args and args[0] not in plain and not args[0].startswith("-"):
            return _run_hub_command(args)
        if not args or args[0] in {"-h", "--help", "help"}:
            _print_overview(parser)
            return 0
        namespace = parser.parse_args(args)
        handler: Handler = namespace.handler
        return handler(namespace)
    except KinfoldError as exc:
        print(f"kinfold: error: {exc}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        print("kinfold: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1


def _plain_parser() -> tuple[argparse.ArgumentParser, set[str]]:
    parser = argparse.ArgumentParser(prog="kinfold", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"kinfold {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    _register_keys(subparsers)
    for module_name in PLAIN_COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue  # that part has not been built yet
        module.register(subparsers)
    return parser, set(subparsers.choices)


def _register_keys(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keys = subparsers.add_parser(
        "keys", help="make the hub's keys (secret key, vault, blind index, audit signing)"
    )
    actions = keys.add_subparsers(title="actions", metavar="ACTION", required=True)
    generate = actions.add_parser("generate", help="write a new key file (refuses to overwrite)")
    generate.add_argument("--out", type=Path, required=True, help="where to write the key file")
    generate.set_defaults(handler=_generate_keys)


def _generate_keys(args: argparse.Namespace) -> int:
    from kinfold.keys import KeyRing

    out: Path = args.out
    try:
        KeyRing.generate().write(out)
    except FileExistsError as exc:
        raise KinfoldError("already exists; kinfold never overwrites keys", file=out) from exc
    print(f"Wrote new keys to {out} (mode 600). Point KINFOLD_KEYS_FILE at it.")
    return 0


def _run_hub_command(args: list[str]) -> int:
    """Run a Django management command with the hub's settings."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kinfold.settings")
    import django
    from django.core.exceptions import ImproperlyConfigured

    try:
        django.setup()
    except ImproperlyConfigured as exc:
        print(f"kinfold: configuration error: {exc}", file=sys.stderr)
        return 3
    from django.core.management import ManagementUtility

    try:
        ManagementUtility(["kinfold", *args]).execute()
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


def _print_overview(parser: argparse.ArgumentParser) -> None:
    parser.print_help()
    print("\nhub commands (need the hub's database and keys):")
    for name, help_text in sorted(hub_commands().items()):
        print(f"  {name:<14}{help_text}")
    print("  (and Django's own: migrate, check, createsuperuser, shell, …)")
    print("\n`kinfold COMMAND --help` explains each command.")


def hub_commands() -> dict[str, str]:
    """kinfold's own management commands and their one-line help, read without importing Django."""
    found: dict[str, str] = {}
    package_dir = Path(__file__).resolve().parent
    for path in sorted(package_dir.glob("*/management/commands/*.py")):
        if path.name.startswith("_"):
            continue
        found[path.stem] = _help_text(path)
    return found


def _help_text(path: Path) -> str:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "help" for t in node.targets)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            return node.value.value
    return ""
