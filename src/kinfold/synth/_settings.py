"""Loading and checking the synthetic borough's settings (settings.toml beside this module).

Every rate lives in the TOML file, none in code. A user's file is laid over the shipped defaults, so
it may give only what it changes; every key is checked on load and a bad one is a ConfigError naming
the file and the dotted key.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from kinfold.errors import ConfigError

#: Partners whose extracts the borough writes (docs/contracts.md).
PARTNERS = (
    "police",
    "yos",
    "probation",
    "schools",
    "csc",
    "dwp",
    "housing",
    "das",
    "health",
    "substance",
)
#: Recording errors a partner's settings give a rate for (docs/synth.md explains each).
ERROR_KINDS = (
    "typo",
    "nickname",
    "variant",
    "swapped_names",
    "dob_transposed",
    "dob_missing",
    "stale_address",
    "old_surname",
    "duplicate",
)
#: Identifiers whose coverage a partner may set (missing ones default to 1.0 where the partner's
#: extract has the column at all).
COVERAGE_FIELDS = ("address", "nhs_number", "ni_number", "upn", "uprn", "phone", "email")

Band = tuple[int, int, float]
ByState = tuple[float, float, float]
Check = Callable[[Any, str], Any]


class _Invalid(Exception):
    """A value failed its check; the loader adds the file and key."""


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _Invalid("must be a number")
    return float(value)


def _prob(value: Any, _key: str) -> float:
    number = _number(value)
    if not 0.0 <= number <= 1.0:
        raise _Invalid("must be a probability between 0 and 1")
    return number


def _factor(value: Any, _key: str) -> float:
    number = _number(value)
    if number < 0:
        raise _Invalid("must not be negative")
    return number


def _count(value: Any, _key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _Invalid("must be a whole number, 0 or more")
    return value


def _positive_count(value: Any, key: str) -> int:
    number = _count(value, key)
    if number == 0:
        raise _Invalid("must be at least 1")
    return number


def _text(value: Any, _key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Invalid("must be a non-empty string")
    return value


def _postcode_area(value: Any, key: str) -> str:
    text = _text(value, key)
    if not (1 <= len(text) <= 2 and text.isascii() and text.isalpha() and text.isupper()):
        raise _Invalid("must be one or two capital letters, like NF")
    return text


def _list(value: Any, length: int | None = None) -> list[Any]:
    if not isinstance(value, list):
        raise _Invalid("must be a list")
    if length is not None and len(value) != length:
        raise _Invalid(f"must be a list of {length} numbers")
    return value


def _by_state(value: Any, key: str) -> ByState:
    a, b, c = (_prob(item, key) for item in _list(value, 3))
    return (a, b, c)


def _factors_by_state(value: Any, key: str) -> ByState:
    a, b, c = (_factor(item, key) for item in _list(value, 3))
    return (a, b, c)


def _shares(length: int | None) -> Check:
    def check(value: Any, key: str) -> tuple[float, ...]:
        shares = tuple(_prob(item, key) for item in _list(value, length))
        if not shares or abs(sum(shares) - 1.0) > 1e-6:
            raise _Invalid("must add up to 1")
        return shares

    return check


def _sessions(value: Any, key: str) -> tuple[int, ...]:
    return tuple(_positive_count(item, key) for item in _list(value, 4))


def _bands(value: Any, _key: str) -> tuple[Band, ...]:
    bands: list[Band] = []
    for item in _list(value):
        entry = _list(item, 3)
        low, high = (_count(entry[0], _key), _count(entry[1], _key))
        if high < low:
            raise _Invalid(f"band [{low}, {high}] ends before it starts")
        bands.append((low, high, _factor(entry[2], _key)))
    return tuple(bands)


def _prob_bands(value: Any, key: str) -> tuple[Band, ...]:
    bands = _bands(value, key)
    for low, high, rate in bands:
        if rate > 1:
            raise _Invalid(f"band [{low}, {high}] must have a probability between 0 and 1")
    return bands


T = TypeVar("T")


def _section(cls: type[T], raw: Any, prefix: str) -> T:
    if not isinstance(raw, Mapping):
        raise _KeyProblem(prefix, "must be a table")
    values: dict[str, Any] = {}
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    for key in raw:
        if key not in names:
            raise _KeyProblem(f"{prefix}.{key}", "is not a setting the generator knows")
    for spec in dataclasses.fields(cls):  # type: ignore[arg-type]
        check = spec.metadata.get("check")
        if check is None:
            continue
        key = f"{prefix}.{spec.name}"
        if spec.name not in raw:
            raise _KeyProblem(key, "is missing")
        try:
            values[spec.name] = check(raw[spec.name], key)
        except _Invalid as exc:
            raise _KeyProblem(key, str(exc)) from exc
    return cls(**values)


class _KeyProblem(Exception):
    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


def _shares_table(raw: Any, key: str) -> dict[str, float]:
    if not isinstance(raw, Mapping) or not raw:
        raise _Invalid("must be a table of shares")
    shares = {name: _prob(value, f"{key}.{name}") for name, value in raw.items()}
    if abs(sum(shares.values()) - 1.0) > 1e-6:
        raise _Invalid("shares must add up to 1")
    return shares


def _coverage(raw: Any, key: str) -> dict[str, float]:
    if not isinstance(raw, Mapping):
        raise _Invalid("must be a table such as { nhs_number = 0.9 }")
    for name in raw:
        if name not in COVERAGE_FIELDS:
            raise _KeyProblem(f"{key}.{name}", f"is not one of {', '.join(COVERAGE_FIELDS)}")
    return {name: _prob(value, f"{key}.{name}") for name, value in raw.items()}


@dataclass(frozen=True)
class Borough:
    name: str = field(metadata={"check": _text})
    postcode_area: str = field(metadata={"check": _postcode_area})
    residents_per_primary_school: int = field(metadata={"check": _positive_count})
    residents_per_secondary_school: int = field(metadata={"check": _positive_count})
    vacant_properties: float = field(metadata={"check": _prob})
    flats: float = field(metadata={"check": _prob})


@dataclass(frozen=True)
class Tenure:
    social_rent: float = field(metadata={"check": _prob})
    private_rent: float = field(metadata={"check": _prob})
    owner: float = field(metadata={"check": _prob})


HOUSEHOLD_TYPES = (
    "one_person",
    "couple",
    "couple_with_children",
    "couple_with_adult_children",
    "lone_parent",
    "multi_generation",
    "shared",
)


@dataclass(frozen=True)
class Households:
    one_person: float = field(metadata={"check": _prob})
    couple: float = field(metadata={"check": _prob})
    couple_with_children: float = field(metadata={"check": _prob})
    couple_with_adult_children: float = field(metadata={"check": _prob})
    lone_parent: float = field(metadata={"check": _prob})
    multi_generation: float = field(metadata={"check": _prob})
    shared: float = field(metadata={"check": _prob})
    tenure: Tenure = field(metadata={"check": partial(_section, Tenure)})
    origins: dict[str, float] = field(metadata={"check": _shares_table})

    def type_shares(self) -> tuple[float, ...]:
        """Shares of the household types, in HOUSEHOLD_TYPES order."""
        return tuple(getattr(self, name) for name in HOUSEHOLD_TYPES)


@dataclass(frozen=True)
class Families:
    children: tuple[float, ...] = field(metadata={"check": _shares(5)})
    twins: float = field(metadata={"check": _prob})
    adult_child_at_home: float = field(metadata={"check": _prob})
    lone_fathers: float = field(metadata={"check": _prob})
    other_parent_in_borough: float = field(metadata={"check": _prob})
    records_name_other_parent: float = field(metadata={"check": _prob})
    children_take_absent_fathers_surname: float = field(metadata={"check": _prob})
    same_sex_couples: float = field(metadata={"check": _prob})
    mixed_origin_couples: float = field(metadata={"check": _prob})
    partners_share_surname: float = field(metadata={"check": _prob})
    children_take_fathers_surname: float = field(metadata={"check": _prob})
    in_education_after_16: float = field(metadata={"check": _prob})
    sixth_form_at_school: float = field(metadata={"check": _prob})
    same_name_and_birthday: float = field(metadata={"check": _prob})


@dataclass(frozen=True)
class Demography:
    death: tuple[Band, ...] = field(metadata={"check": _prob_bands})
    household_leaves: float = field(metadata={"check": _prob})
    single_leaves: float = field(metadata={"check": _prob})
    annual_growth: float = field(metadata={"check": _factor})
    move_social_rent: float = field(metadata={"check": _prob})
    move_private_rent: float = field(metadata={"check": _prob})
    move_owner: float = field(metadata={"check": _prob})
    leave_home: float = field(metadata={"check": _prob})
    partnering: float = field(metadata={"check": _prob})
    separation: ByState = field(metadata={"check": _by_state})
    separated_partner_stays: float = field(metadata={"check": _prob})
    woman_takes_surname: float = field(metadata={"check": _prob})
    man_takes_surname: float = field(metadata={"check": _prob})
    reverts_surname: float = field(metadata={"check": _prob})
    birth: tuple[Band, ...] = field(metadata={"check": _prob_bands})
    birth_without_partner: float = field(metadata={"check": _factor})
    child_moves_to_other_parent: float = field(metadata={"check": _prob})
    changes_given_name: float = field(metadata={"check": _prob})


@dataclass(frozen=True)
class Circumstances:
    initial: tuple[float, ...] = field(metadata={"check": _shares(3)})
    warmup_quarters: int = field(metadata={"check": _count})
    coping: tuple[float, ...] = field(metadata={"check": _shares(3)})
    struggling: tuple[float, ...] = field(metadata={"check": _shares(3)})
    in_crisis: tuple[float, ...] = field(metadata={"check": _shares(3)})
    relapse: float = field(metadata={"check": _factor})
    fresh_start: float = field(metadata={"check": _prob})

    def transitions(self) -> tuple[tuple[float, ...], ...]:
        """The 3x3 matrix of quarterly state changes, rows coping, struggling, in crisis."""
        return (self.coping, self.struggling, self.in_crisis)


@dataclass(frozen=True)
class Indicators:
    offence: ByState = field(metadata={"check": _by_state})
    offence_ages: tuple[Band, ...] = field(metadata={"check": _bands})
    offence_male: float = field(metadata={"check": _factor})
    asb: ByState = field(metadata={"check": _by_state})
    asb_ages: tuple[Band, ...] = field(metadata={"check": _bands})
    youth_offending_referral: float = field(metadata={"check": _prob})
    probation_starts: float = field(metadata={"check": _prob})
    probation_ends: float = field(metadata={"check": _prob})
    housing_asb_case: float = field(metadata={"check": _prob})
    housing_only_asb: ByState = field(metadata={"check": _by_state})
    absence_median: float = field(metadata={"check": _prob})
    absence_spread: float = field(metadata={"check": _factor})
    absence_by_state: ByState = field(metadata={"check": _factors_by_state})
    absence_noise: float = field(metadata={"check": _factor})
    sessions: tuple[int, ...] = field(metadata={"check": _sessions})
    fixed_exclusion: ByState = field(metadata={"check": _by_state})
    permanent_exclusion: ByState = field(metadata={"check": _by_state})
    secondary_exclusion_factor: float = field(metadata={"check": _factor})
    alternative_provision_ends: float = field(metadata={"check": _prob})
    social_care_starts: ByState = field(metadata={"check": _by_state})
    social_care_levels: tuple[float, ...] = field(metadata={"check": _shares(4)})
    social_care_ends: ByState = field(metadata={"check": _by_state})
    social_care_after_abuse: float = field(metadata={"check": _factor})
    claim_starts: ByState = field(metadata={"check": _by_state})
    claim_ends: ByState = field(metadata={"check": _by_state})
    claim_ends_in_work: float = field(metadata={"check": _prob})
    rent_arrears: ByState = field(metadata={"check": _by_state})
    claimant_arrears_factor: float = field(metadata={"check": _factor})
    eviction_notice: float = field(metadata={"check": _prob})
    domestic_abuse: ByState = field(metadata={"check": _by_state})
    abuse_reported_to_police: float = field(metadata={"check": _prob})
    abuse_marac_referral: float = field(metadata={"check": _prob})
    abuse_support_case: float = field(metadata={"check": _prob})
    mental_health_starts: ByState = field(metadata={"check": _by_state})
    mental_health_ends: ByState = field(metadata={"check": _by_state})
    mental_health_contact: float = field(metadata={"check": _prob})
    injury_under_5: ByState = field(metadata={"check": _by_state})
    injury_adult: ByState = field(metadata={"check": _by_state})
    health_visiting: float = field(metadata={"check": _prob})
    substance_starts: ByState = field(metadata={"check": _by_state})
    substance_ends: ByState = field(metadata={"check": _by_state})


@dataclass(frozen=True)
class PartnerRecording:
    """One partner's recording-error rates and identifier coverage."""

    typo: float = field(metadata={"check": _prob})
    nickname: float = field(metadata={"check": _prob})
    variant: float = field(metadata={"check": _prob})
    swapped_names: float = field(metadata={"check": _prob})
    dob_transposed: float = field(metadata={"check": _prob})
    dob_missing: float = field(metadata={"check": _prob})
    stale_address: float = field(metadata={"check": _prob})
    old_surname: float = field(metadata={"check": _prob})
    duplicate: float = field(metadata={"check": _prob})
    coverage: dict[str, float] = field(metadata={"check": _coverage})

    def rate(self, error: str) -> float:
        """The probability of one of ERROR_KINDS."""
        return float(getattr(self, error))

    def covers(self, identifier: str) -> float:
        """The share of rows holding `identifier` (1.0 unless the settings say less)."""
        return self.coverage.get(identifier, 1.0)


@dataclass(frozen=True)
class Recording:
    stale_address_quarters: int = field(metadata={"check": _positive_count})
    old_surname_quarters: int = field(metadata={"check": _positive_count})
    partners: dict[str, PartnerRecording] = field(default_factory=dict)


@dataclass(frozen=True)
class Settings:
    """The whole settings file, checked. `digest` identifies it in the output's manifest."""

    borough: Borough
    households: Households
    families: Families
    demography: Demography
    circumstances: Circumstances
    indicators: Indicators
    recording: Recording
    source: str
    digest: str


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """`override` laid over `base`, table by table (the coverage tables are replaced whole)."""
    merged = dict(base)
    for key, value in override.items():
        current = merged.get(key)
        if isinstance(current, dict) and isinstance(value, Mapping) and key != "coverage":
            merged[key] = _merge(current, value)
        else:
            merged[key] = value
    return merged


def default_settings_text() -> str:
    """The shipped settings file, as text (documentation and the starting point for a council)."""
    return resources.files("kinfold.synth").joinpath("settings.toml").read_text("utf-8")


def _read_toml(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"is not valid TOML: {exc}", file=source) from exc


def load_settings(path: str | Path | None = None) -> Settings:
    """The default settings, with the file at `path` (if any) laid over them, checked.

    Raises ConfigError naming the file and the dotted key of the first bad or unknown setting.
    """
    raw = _read_toml(default_settings_text(), "settings.toml (shipped)")
    source = "settings.toml (shipped)"
    if path is not None:
        file = Path(path)
        try:
            text = file.read_text("utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot be read: {exc.strerror}", file=file) from exc
        raw = _merge(raw, _read_toml(text, str(file)))
        source = str(file)
    try:
        return _build(raw, source)
    except _KeyProblem as exc:
        raise ConfigError(exc.message, file=source, field=exc.key) from exc


def _build(raw: dict[str, Any], source: str) -> Settings:
    known = {"borough", "households", "families", "demography", "circumstances", "indicators"}
    for key in raw:
        if key not in known | {"recording"}:
            raise _KeyProblem(key, "is not a section the generator knows")
    sections = {
        "borough": Borough,
        "households": Households,
        "families": Families,
        "demography": Demography,
        "circumstances": Circumstances,
        "indicators": Indicators,
    }
    built: dict[str, Any] = {
        name: _section(cls, raw.get(name), name) for name, cls in sections.items()
    }
    households: Households = built["households"]
    if abs(sum(households.type_shares()) - 1.0) > 1e-6:
        raise _KeyProblem("households", "the shares of household types must add up to 1")
    tenure = households.tenure
    if abs(tenure.social_rent + tenure.private_rent + tenure.owner - 1.0) > 1e-6:
        raise _KeyProblem("households.tenure", "the shares must add up to 1")
    return Settings(
        **built,
        recording=_recording(raw.get("recording")),
        source=source,
        digest=_digest(raw),
    )


def _recording(raw: Any) -> Recording:
    if not isinstance(raw, Mapping):
        raise _KeyProblem("recording", "must be a table")
    partners: dict[str, PartnerRecording] = {}
    for partner in PARTNERS:
        partners[partner] = _section(PartnerRecording, raw.get(partner), f"recording.{partner}")
    scalars = {k: v for k, v in raw.items() if k not in PARTNERS}
    recording = _section(Recording, scalars, "recording")
    return dataclasses.replace(recording, partners=partners)


def _digest(raw: Mapping[str, Any]) -> str:
    canonical = json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()
