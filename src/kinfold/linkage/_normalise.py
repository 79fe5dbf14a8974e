"""Normalising identity values before encoding, so recording habits do not look like differences.

Each function takes the raw text of one field and returns the canonical form that is encoded (or
raises ValueError for a value that cannot be read, such as a date that does not parse). Case,
accents, punctuation and whitespace never matter; postcodes lose their spacing; dates become
``YYYYMMDD``; sex becomes ``m`` or ``f``; titles are dropped from given names.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from importlib import resources
from typing import Final

from kinfold.linkage._columns import parse_date

_SPECIAL: Final = str.maketrans(
    {"ß": "ss", "æ": "ae", "Æ": "ae", "ø": "o", "Ø": "o", "ł": "l", "Ł": "l", "đ": "d", "þ": "th"}
)
_NOT_LETTER: Final = re.compile(r"[^a-z]+")
_NOT_WORD: Final = re.compile(r"[^a-z0-9]+")
_APOSTROPHES: Final = re.compile("['\u2019`\u00b4]")  # straight and curly apostrophes, accents
_TITLES: Final = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "master", "rev", "sir", "dame"})
#: Spellings of the same street word that recording systems use interchangeably.
_ADDRESS_WORDS: Final = {
    "st": "street",
    "str": "street",
    "rd": "road",
    "ave": "avenue",
    "av": "avenue",
    "ln": "lane",
    "cl": "close",
    "ct": "court",
    "crt": "court",
    "cres": "crescent",
    "cresc": "crescent",
    "dr": "drive",
    "gdns": "gardens",
    "gr": "grove",
    "gro": "grove",
    "pl": "place",
    "sq": "square",
    "ter": "terrace",
    "terr": "terrace",
    "tce": "terrace",
    "wy": "way",
    "pk": "park",
    "hse": "house",
    "ho": "house",
    "apt": "flat",
    "apartment": "flat",
    "fl": "flat",
    "no": "",
    "nr": "near",
    "mt": "mount",
    "cir": "circuit",
}
_SEX: Final = {
    "m": "m",
    "male": "m",
    "man": "m",
    "boy": "m",
    "1": "m",
    "f": "f",
    "female": "f",
    "woman": "f",
    "girl": "f",
    "2": "f",
}
#: Values that say "not recorded": treated as missing, never as an error.
_SEX_UNKNOWN: Final = frozenset(
    {
        "",
        "u",
        "unknown",
        "not known",
        "notknown",
        "0",
        "9",
        "x",
        "n",
        "not specified",
        "other",
        "indeterminate",
        "i",
        "not stated",
        "ns",
        "na",
        "n/a",
        "prefer not to say",
    }
)


@lru_cache(maxsize=500_000)
def fold(text: str) -> str:
    """Lower case ASCII: accents removed (é → e), ligatures spelt out (æ → ae, ß → ss)."""
    if text.isascii():
        return text.lower()
    text = unicodedata.normalize("NFKD", text.translate(_SPECIAL))
    return "".join(c for c in text if not unicodedata.combining(c)).lower()


def name_tokens(text: str) -> list[str]:
    """The words of a name, letters only: ``O'Brien-Smith`` → ``["obrien", "smith"]``."""
    return [t for t in _NOT_LETTER.split(_APOSTROPHES.sub("", fold(text))) if t]


@lru_cache(maxsize=500_000)
def given_name(text: str) -> tuple[str, str]:
    """(whole given name without spaces, first given name); titles dropped. ('', '') if none."""
    tokens = name_tokens(text)
    while len(tokens) > 1 and tokens[0] in _TITLES:
        tokens = tokens[1:]
    if not tokens:
        return "", ""
    return "".join(tokens), tokens[0]


@lru_cache(maxsize=500_000)
def surname(text: str) -> str:
    """A surname with case, accents, spaces, hyphens and apostrophes removed."""
    return "".join(name_tokens(text))


@lru_cache(maxsize=500_000)
def address(text: str) -> str:
    """Address words, lower case, street words spelt out the same way, single spaces."""
    words = (_ADDRESS_WORDS.get(w, w) for w in _NOT_WORD.split(_APOSTROPHES.sub("", fold(text))))
    return " ".join(w for w in words if w)


@lru_cache(maxsize=200_000)
def postcode(text: str) -> str:
    """A postcode in one compact lower-case form (``N1 9GU`` → ``n19gu``)."""
    return _NOT_WORD.sub("", fold(text))


def postcode_district(code: str) -> str:
    """The outward part of a compact postcode (UK codes end with a 3-character inward part)."""
    if len(code) >= 5 and code[-3].isdigit():
        return code[:-3]
    return code


def postcode_sector(code: str) -> str:
    """Outward code plus the inward digit (``n19gu`` → ``n19``)."""
    if len(code) >= 5 and code[-3].isdigit():
        return code[:-2]
    return code


def sex(text: str) -> str:
    """``m``, ``f``, or '' when not recorded; ValueError for a value that says neither."""
    key = " ".join(fold(text).replace(".", " ").split())
    if key in _SEX:
        return _SEX[key]
    if key in _SEX_UNKNOWN:
        return ""
    raise ValueError(f"'{text}' is not a sex (M/F, Male/Female or 1/2)")


def dob(text: str, fmt: str) -> str:
    """A date of birth as ``YYYYMMDD`` read with ``fmt`` (strftime or ``excel``); '' if blank."""
    text = text.strip()
    if not text:
        return ""
    try:
        day = parse_date(text, fmt)
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"'{text}' is not a date in the format {fmt}") from exc
    return f"{day.year:04d}{day.month:02d}{day.day:02d}"


def reference(field: str, text: str) -> str:
    """A reference number in one form: digits or upper-case letters and digits, no spacing."""
    compact = _NOT_WORD.sub("", fold(text))
    if field == "uprn":
        return compact.lstrip("0")
    return compact.upper()


#: The shipped name group lists: familiar forms, then spelling variants and the same name in
#: other languages (one group per line, the first name naming the group).
NAME_GROUP_FILES: Final = ("nicknames.txt", "variants.txt")


@lru_cache(maxsize=1)
def nickname_groups() -> dict[str, tuple[str, ...]]:
    """First given name → the groups (named by their first name) it belongs to, from the shipped
    nickname and variant lists. Names are looked up in their normalised form (accents removed)."""
    groups: dict[str, list[str]] = {}
    folder = resources.files("kinfold.linkage.data")
    for file in NAME_GROUP_FILES:
        for line in folder.joinpath(file).read_text("utf-8").splitlines():
            names = [given_name(n)[1] for n in line.split("#", 1)[0].split()]
            names = [n for n in names if n]
            for name in names:
                groups.setdefault(name, [])
                if names[0] not in groups[name]:
                    groups[name].append(names[0])
    return {name: tuple(found) for name, found in groups.items()}


def nicknames(first_given_name: str) -> tuple[str, ...]:
    """The groups a first given name belongs to; a name in no group is its own group."""
    if not first_given_name:
        return ()
    return nickname_groups().get(first_given_name, (first_given_name,))


_PHONETIC_START: Final = (("kn", "n"), ("wr", "r"), ("ph", "f"), ("gn", "n"), ("ps", "s"))
_PHONETIC_FIRST: Final = str.maketrans("ckqzy", "kkksi")
_SOUNDEX: Final = str.maketrans("bfpvcgjkqsxzdtlmnraeiouyhw", "11112222222233455600000000")


@lru_cache(maxsize=500_000)
def phonetic(name: str) -> str:
    """A Soundex-style sound code that also forgives the first letter (Catherine = Katherine)."""
    if not name:
        return ""
    for start, sound in _PHONETIC_START:
        if name.startswith(start):
            name = sound + name[len(start) :]
            break
    head = name[0].translate(_PHONETIC_FIRST)
    code: list[str] = []
    last = name[0].translate(_SOUNDEX)
    for letter in name[1:]:
        digit = letter.translate(_SOUNDEX)
        if digit == "0":
            if letter not in "hw":  # a vowel separates repeated sounds; h and w do not
                last = "0"
            continue
        if digit != last:
            code.append(digit)
        last = digit
    return (head + "".join(code) + "000")[:4]
