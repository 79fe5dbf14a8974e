"""A dictionary look-up for templates (the portal's names by pseudonymous id)."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def lookup(mapping: dict[str, str], key: str) -> str:
    return mapping.get(key, "")
