"""A cheap guard that keeps clear personal data out of the audit log. Pure Python, no Django.

The log is shown to families and its checkpoints are public, and nothing in it can ever be
changed or erased, so it must hold only pseudonymous ids (``F7K2M9QX4TBA``, ``P3M9…``), codes and
short reasons. Callers are responsible for that; this guard catches the obvious mistakes (an
email address, a phone number, an NHS or National Insurance number, a postcode) before they are
written for ever. It cannot catch a name: never put one in `reason`, `resource` or `details`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from kinfold.audit.canonical import MAX_SAFE_INTEGER

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# Numbers count only when they stand alone: digits inside an identifier (a UUID's hex groups, a
# pseudonym) are not a phone or NHS number, and refusing them would make ids fail at random.
_PHONE = re.compile(
    r"(?<![\w+-])(?:\+44[\s-]?(?:\(0\)[\s-]?)?|0044[\s-]?|0)(?:\d[\s-]?){9,10}(?![\w-])"
)
_NHS = re.compile(r"(?<![\w-])\d{3}[\s-]?\d{3}[\s-]?\d{4}(?![\w-])")
_NI = re.compile(
    r"(?<![A-Za-z0-9])[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D](?![A-Za-z0-9])",
    re.IGNORECASE,
)
_POSTCODE = re.compile(
    r"(?<![A-Za-z0-9])[A-Z]{1,2}\d[A-Z\d]? ?\d[ABD-HJLNP-UW-Z]{2}(?![A-Za-z0-9])", re.IGNORECASE
)
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
DETAIL_KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")
MAX_DETAILS_DEPTH = 4


class PersonalDataError(ValueError):
    """An audit entry was refused because a value looks like clear personal data."""


def _valid_nhs_number(digits: str) -> bool:
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    return check != 10 and (check % 11) == int(digits[9])


# One pass over the text: the first pattern that matches, in this order, names what it is.
_ANY = re.compile(
    f"(?P<email>{_EMAIL.pattern})|(?P<phone>{_PHONE.pattern})"
    f"|(?P<nhs>{_NHS.pattern})"
    f"|(?P<ni>(?i:{_NI.pattern}))|(?P<postcode>(?i:{_POSTCODE.pattern}))"
)
_KINDS = {
    "email": "an email address",
    "phone": "a phone number",
    "ni": "a National Insurance number",
    "postcode": "a postcode",
}
_MIGHT_BE_PERSONAL = re.compile(r"[@\d]")


def looks_personal(text: str) -> str:
    """What `text` looks like ("an email address", …), or "" if it looks like none of them."""
    if not _MIGHT_BE_PERSONAL.search(text):
        return ""  # every pattern needs an @ or a digit: most codes and reasons stop here
    for match in _ANY.finditer(text):
        kind = match.lastgroup or ""
        if kind != "nhs":
            return _KINDS[kind]
        if _valid_nhs_number(re.sub(r"\D", "", match.group())):
            return "an NHS number"
    return ""


def check_text(field: str, value: str) -> None:
    """Refuse `value` for `field` if it looks like clear personal data (or cannot be stored)."""
    if _UNSTORABLE.search(value):
        raise ValueError(f"audit {field} holds a NUL or an unpaired surrogate")
    found = looks_personal(value)
    if found:
        raise PersonalDataError(
            f"audit {field} looks like {found}; the log holds pseudonymous ids only"
        )


def check_details(details: Any) -> None:
    """Refuse details that are not a small JSON object of kinfold's JSON values, or that hold
    something that looks like clear personal data."""
    if not isinstance(details, dict):
        raise TypeError("audit details must be a dict")
    for path, value in _walk(details, "details", 0):
        if isinstance(value, str):
            check_text(path, value)
        elif isinstance(value, int) and not isinstance(value, bool):
            if abs(value) > MAX_SAFE_INTEGER:
                raise ValueError(f"audit {path} is outside ±(2^53-1); store it as text")
            check_text(path, str(value))


def _walk(value: Any, path: str, depth: int) -> Iterator[tuple[str, Any]]:
    if depth > MAX_DETAILS_DEPTH:
        raise ValueError(f"audit {path} is nested more than {MAX_DETAILS_DEPTH} deep")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or not DETAIL_KEY.fullmatch(key):
                raise ValueError(f"audit {path} key {key!r} must be lower_snake_case, ≤ 40 chars")
            yield from _walk(item, f"{path}.{key}", depth + 1)
    elif isinstance(value, list | tuple):
        for position, item in enumerate(value):
            yield from _walk(item, f"{path}[{position}]", depth + 1)
    elif value is None or isinstance(value, str | int):
        yield path, value
    else:
        raise TypeError(
            f"audit {path} is a {type(value).__name__}; use text, whole numbers, booleans, "
            "null, lists or objects (no floats: they have no single canonical form)"
        )
