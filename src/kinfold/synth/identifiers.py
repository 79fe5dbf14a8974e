"""Synthetic identifiers that pass format checks but can never be a real person's.

- NHS numbers come from the 999 test range, which NHS England never issues, with valid
  modulus-11 check digits.
- National Insurance numbers use the prefixes HMRC never allocates (BG, GB, KN, NK, NT, TN, ZZ), so
  they pass a character-class format check and fail an allocation check.
- Unique pupil numbers have a correct check letter but local-authority code 999, which is neither an
  English authority's code nor a recognised pseudo-LA code, so no real pupil can hold one.
- UPRNs are 12-digit numbers starting 99, a block this project reserves for synthetic properties.
- Postcodes are in area NF, which is not a UK postcode area.
- Phone numbers are from Ofcom's ranges reserved for drama (07700 900xxx, 020 7946 0xxx).
- E-mail addresses are at example.org.
"""

from __future__ import annotations

import re
from typing import Final

import numpy as np
from numpy.typing import NDArray

# --- NHS numbers -----------------------------------------------------------------------------

NHS_TEST_PREFIX: Final = "999"
_NHS_WEIGHTS: Final = np.arange(10, 1, -1, dtype=np.int64)


def nhs_check_digit(first_nine: str) -> int | None:
    """The modulus-11 check digit for nine digits, or None where no valid number exists."""
    if len(first_nine) != 9 or not first_nine.isdigit():
        raise ValueError("an NHS number's first part is nine digits")
    total = sum(int(d) * w for d, w in zip(first_nine, range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def is_valid_nhs_number(text: str) -> bool:
    """True for ten digits (spaces allowed) whose last digit is the modulus-11 check digit."""
    digits = text.replace(" ", "")
    if len(digits) != 10 or not digits.isdigit():
        return False
    return nhs_check_digit(digits[:9]) == int(digits[9])


def is_test_nhs_number(text: str) -> bool:
    """True for a valid NHS number in the never-issued 999 test range."""
    return is_valid_nhs_number(text) and text.replace(" ", "").startswith(NHS_TEST_PREFIX)


def nhs_test_numbers(rng: np.random.Generator) -> NDArray[np.int64]:
    """Every valid number in the 999 range (about 909,000), in a random order, to hand out in turn."""
    middle = np.arange(1_000_000, dtype=np.int64)
    total = np.full(len(middle), 9 * (10 + 9 + 8), dtype=np.int64)  # the 999 prefix
    for power, weight in zip(range(5, -1, -1), _NHS_WEIGHTS[3:].tolist(), strict=True):
        total += (middle // 10**power) % 10 * weight
    check = (11 - total % 11) % 11  # 11 → 0; a remainder giving 10 has no valid number
    keep = check != 10
    numbers: NDArray[np.int64] = (999_000_000 + middle[keep]) * 10 + check[keep]
    rng.shuffle(numbers)
    return numbers


# --- National Insurance numbers --------------------------------------------------------------

#: Prefixes HMRC has never allocated: they pass the letter rules but are not real.
NI_UNALLOCATED_PREFIXES: Final = ("BG", "GB", "KN", "NK", "NT", "TN", "ZZ")
_NI_SUFFIXES: Final = "ABCD"
NI_SPACE: Final = len(NI_UNALLOCATED_PREFIXES) * 1_000_000 * len(_NI_SUFFIXES)
_NI_FORMAT = re.compile(r"^[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z][0-9]{6}[A-D]$")
# An odd multiplier sharing no factor with the space (2^8 · 5^6 · 7) makes the mapping a bijection.
_NI_MULTIPLIER: Final = 15_485_863


def ni_numbers(serials: NDArray[np.int64], offset: int) -> list[str]:
    """Distinct synthetic NI numbers for distinct serials below NI_SPACE (scrambled by `offset`)."""
    code = (serials.astype(np.int64) * _NI_MULTIPLIER + offset) % NI_SPACE
    prefix = code % len(NI_UNALLOCATED_PREFIXES)
    rest = code // len(NI_UNALLOCATED_PREFIXES)
    digits = rest % 1_000_000
    suffix = rest // 1_000_000
    return [
        f"{NI_UNALLOCATED_PREFIXES[p]}{d:06d}{_NI_SUFFIXES[s]}"
        for p, d, s in zip(prefix.tolist(), digits.tolist(), suffix.tolist(), strict=True)
    ]


def is_well_formed_ni_number(text: str) -> bool:
    """True when `text` (spaces allowed) has the letters, digits and suffix an NI number has."""
    return bool(_NI_FORMAT.match(text.replace(" ", "").upper()))


def is_issuable_ni_number(text: str) -> bool:
    """True when `text` is well formed and its prefix is one HMRC allocates."""
    compact = text.replace(" ", "").upper()
    return is_well_formed_ni_number(compact) and compact[:2] not in NI_UNALLOCATED_PREFIXES


# --- Unique pupil numbers --------------------------------------------------------------------

_UPN_LETTERS: Final = "ABCDEFGHJKLMNPQRTUVWXYZ"  # I, O and S are never check letters
#: The local-authority code in every synthetic UPN: not an authority's, not a pseudo-LA code.
UPN_SYNTHETIC_LA: Final = "999"
_REAL_LA_RANGES: Final = (
    (1, 5), (201, 213), (301, 320), (330, 336), (340, 344), (350, 359), (370, 373), (380, 384),
    (390, 394), (420, 420), (660, 681), (701, 708), (800, 803), (805, 808), (810, 813), (815, 816),
    (820, 823), (825, 826), (830, 831), (835, 837), (840, 841), (845, 846), (850, 852), (855, 857),
    (860, 861), (865, 896), (908, 909), (916, 916), (919, 919), (921, 921), (925, 926), (928, 929),
    (931, 931), (933, 933), (935, 938),
)  # fmt: skip


def upn_check_letter(twelve: str) -> str:
    """The DfE check letter for the 12 characters after it (digits; a temporary UPN ends in a letter)."""
    if len(twelve) != 12 or not twelve[:11].isdigit():
        raise ValueError("a UPN's body is 12 characters, the first 11 digits")
    last = twelve[11]
    values = [int(c) for c in twelve[:11]]
    if last.isdigit():
        values.append(int(last))
    elif last in _UPN_LETTERS:
        values.append(_UPN_LETTERS.index(last))
    else:
        raise ValueError("a temporary UPN ends in a letter other than I, O or S")
    total = sum(v * w for v, w in zip(values, range(2, 14), strict=True))
    return _UPN_LETTERS[total % 23]


def is_valid_upn(text: str) -> bool:
    """True for a 13-character UPN whose first character is the correct check letter."""
    compact = text.strip().upper()
    if len(compact) != 13 or compact[0] not in _UPN_LETTERS:
        return False
    try:
        return upn_check_letter(compact[1:]) == compact[0]
    except ValueError:
        return False


def is_real_la_code(code: str) -> bool:
    """True when a UPN's characters 2-4 are a code the school census accepts (DfE rule 1530)."""
    if len(code) != 3 or not code.isdigit():
        return False
    number = int(code)
    return any(low <= number <= high for low, high in _REAL_LA_RANGES)


_UPN_WEIGHTS = np.arange(13, 1, -1, dtype=np.int64)  # weights of the 12 digits, last digit first


def upn_texts(bodies: NDArray[np.int64]) -> list[str]:
    """Permanent UPNs for 12-digit bodies (as integers), check letters worked out in bulk."""
    digits = np.stack([(bodies // 10**p) % 10 for p in range(12)], axis=1)  # last digit first
    checks = (digits @ _UPN_WEIGHTS) % 23
    return [
        f"{_UPN_LETTERS[c]}{b:012d}" for c, b in zip(checks.tolist(), bodies.tolist(), strict=True)
    ]


def upn(establishment: int, year: int, serial: int) -> str:
    """A permanent UPN from a school's 4-digit number, the 2-digit year and a 3-digit serial."""
    body = f"{UPN_SYNTHETIC_LA}{establishment:04d}{year % 100:02d}{serial:03d}"
    if len(body) != 12:
        raise ValueError("establishment must be 4 digits and serial 3")
    return upn_check_letter(body) + body


# --- UPRNs, postcodes, phones, e-mail --------------------------------------------------------

UPRN_BASE: Final = 990_000_000_000


def is_synthetic_uprn(text: str) -> bool:
    """True for a 12-digit number in the block reserved for synthetic properties."""
    return text.isdigit() and len(text) == 12 and int(text) >= UPRN_BASE


#: Letters allowed in the last two characters of a postcode (never C, I, K, M, O, V).
POSTCODE_UNIT_LETTERS: Final = "ABDEFGHJLNPQRSTUWXYZ"
_POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][ABD-HJLNP-UW-Z]{2}$")


def is_well_formed_postcode(text: str) -> bool:
    """True for a postcode in the standard form, like `NF3 4AB` (one space)."""
    return bool(_POSTCODE.match(text))


DRAMA_MOBILE: Final = "07700 900"
DRAMA_LONDON: Final = "020 7946 0"
#: How many distinct drama numbers there are: numbers repeat across a borough, as phones may.
DRAMA_NUMBERS: Final = 2000


def drama_phone(index: int) -> str:
    """One of Ofcom's drama numbers: 0-999 mobile (07700 900xxx), 1000-1999 London (020 7946 0xxx)."""
    if not 0 <= index < DRAMA_NUMBERS:
        raise ValueError("drama number index is 0-1999")
    if index < 1000:
        return f"{DRAMA_MOBILE}{index:03d}"
    return f"{DRAMA_LONDON}{index - 1000:03d}"


def is_drama_phone(text: str) -> bool:
    """True when a phone number (any spacing, +44 allowed) is in a drama range."""
    digits = re.sub(r"\D", "", text)
    if digits.startswith("44"):
        digits = "0" + digits[2:]
    return len(digits) == 11 and digits.startswith(("07700900", "02079460"))


EMAIL_DOMAIN: Final = "example.org"
