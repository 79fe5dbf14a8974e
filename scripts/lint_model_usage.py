#!/usr/bin/env python3
"""Fail the build when views, API handlers or templates reach personal data around kinfold.access.

Personal data is read only through `kinfold.access` (DESIGN.md). This check reads the code as text
(no Django needed) and reports every place where a view module, an API handler or a template:

- imports a personal-data model, the identity vault or the detail sealer, or
- queries a personal-data model directly (`Person.objects…`), or
- (templates) walks into personal-data relations (`.identities`, `.details`, `.objects`, `.sealed`).

Usage: scripts/lint_model_usage.py [ROOT]   (exit status 1 on any finding)
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

PERSONAL_MODULES = {
    "kinfold.people.models",
    "kinfold.people.vault",
    "kinfold.people.keys",
    "kinfold.ingest.models",
    "kinfold.ingest.sealing",
    "kinfold.consent.models",
}
PERSONAL_MODELS = {
    "Person",
    "Household",
    "HouseholdMember",
    "Family",
    "FamilyMember",
    "Identity",
    "BlindIndex",
    "DataKey",
    "ParentLink",
    "PartnerRecord",
    "Indicator",
    "SealedDetail",
    "ConsentRecord",
    "ConsentEvent",
}
TEMPLATE_PATTERN = re.compile(
    r"\.(identities|details|indicators|objects|sealed|blind_indexes|data_key)\b"
)


def handler_files(src: Path) -> list[Path]:
    """View modules, API handlers and portal handlers: where the rule applies."""
    files: list[Path] = []
    for part in src.iterdir():
        if not part.is_dir():
            continue
        files += [p for p in (part / "views.py",) if p.exists()]
        files += sorted(part.glob("*_views.py"))  # further view modules, e.g. web/sharing_views.py
        files += sorted((part / "views").glob("*.py")) if (part / "views").is_dir() else []
        if part.name == "api":
            files += [p for p in part.rglob("*.py") if "migrations" not in p.parts]
    return files


def python_findings(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    findings = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in PERSONAL_MODULES:
            findings.append(f"{path}:{node.lineno}: imports {node.module} (use kinfold.access)")
        elif (
            isinstance(node, ast.ImportFrom)
            and node.module
            and any(
                a.name in PERSONAL_MODULES - {node.module}
                or f"{node.module}.{a.name}" in PERSONAL_MODULES
                for a in node.names
            )
        ) or (isinstance(node, ast.Import) and any(a.name in PERSONAL_MODULES for a in node.names)):
            findings.append(
                f"{path}:{node.lineno}: imports a personal-data module (use kinfold.access)"
            )
        elif (
            isinstance(node, ast.Attribute)
            and node.attr == "objects"
            and isinstance(node.value, ast.Name)
            and node.value.id in PERSONAL_MODELS
        ):
            findings.append(
                f"{path}:{node.lineno}: queries {node.value.id} directly (use kinfold.access)"
            )
    return findings


def template_findings(src: Path) -> list[str]:
    findings = []
    for path in sorted(src.rglob("templates/**/*.html")):
        for lineno, line in enumerate(path.read_text().splitlines(), start=1):
            for tag in re.findall(r"{[{%].*?[%}]}", line):
                match = TEMPLATE_PATTERN.search(tag)
                if match:
                    findings.append(
                        f"{path}:{lineno}: template reaches '.{match.group(1)}' (pass data from kinfold.access)"
                    )
    return findings


def main(argv: list[str]) -> int:
    root = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parents[1]
    src = root / "src" / "kinfold"
    findings = [f for path in handler_files(src) for f in python_findings(path)]
    findings += template_findings(src)
    for finding in findings:
        print(finding)
    if findings:
        print(f"{len(findings)} direct use(s) of personal data outside kinfold.access")
        return 1
    print(
        f"ok: {len(handler_files(src))} handler modules and the templates read personal data only through kinfold.access"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
