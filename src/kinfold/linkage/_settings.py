"""Linkage settings: the shipped ``settings.toml``, overridable by a file, validated on load."""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Final

from kinfold.errors import ConfigError
from kinfold.linkage.fields import FUZZY_FIELDS, REFERENCE_FIELDS

SALTS: Final = ("none", "year-of-birth")
HARDENINGS: Final = ("none", "balance", "xor-fold")
CLASSIFIERS: Final = ("fellegi-sunter", "weighted-dice")
#: Blocking transforms each field allows ("" is the whole normalised value).
TRANSFORMS: Final = {
    "given_name": ("", "first", "initial", "phonetic", "nickname"),
    "surname": ("", "initial", "phonetic"),
    "dob": ("", "year", "year-month", "month-day", "unordered"),
    "sex": ("",),
    "address": ("",),
    "postcode": ("", "district", "sector"),
    # given name and surname together, in either order (names recorded the wrong way round)
    "names": ("phonetic-pair",),
    **dict.fromkeys(REFERENCE_FIELDS, ("",)),
}
_SHIPPED = "settings.toml"


@dataclass(frozen=True)
class FieldSettings:
    """How one fuzzy field is encoded and compared."""

    bits: int
    hashes: int
    weight: float
    thresholds: tuple[float, ...]
    term_frequency: bool
    salted: bool


@dataclass(frozen=True)
class BlockingPass:
    """One blocking key: the (field, transform) parts it is made from."""

    parts: tuple[tuple[str, str], ...]

    @property
    def name(self) -> str:
        """The pass's name as written in settings, e.g. ``dob+given_name:initial``."""
        return "+".join(f"{f}:{t}" if t else f for f, t in self.parts)


@dataclass(frozen=True)
class Settings:
    """Every linkage setting; see settings.toml for what each means."""

    qgram: int
    salt: str
    hardening: str
    fields: Mapping[str, FieldSettings]
    blocking: tuple[BlockingPass, ...]
    max_block_pairs: int
    classifier: str
    threshold: float
    em_iterations: int
    prior_match_share: float
    missed_match_share: float
    keep_apart_below: float
    workers: int
    keep_per_source: int
    keep_per_person: int
    source: str = "(shipped defaults)"

    @classmethod
    def default(cls) -> Settings:
        """The shipped defaults."""
        return _parse(_shipped(), _SHIPPED)

    @classmethod
    def load(cls, path: str | Path | None) -> Settings:
        """The defaults with ``path``'s keys laid over them (the defaults alone if None)."""
        if path is None:
            return cls.default()
        path = Path(path)
        try:
            override = tomllib.loads(path.read_text("utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError("settings file not found", file=path) from exc
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"not valid TOML: {exc}", file=path) from exc
        return _parse(_overlay(_shipped(), override), path)

    def encoding_fingerprint(self) -> str:
        """A digest of every setting that changes encodings; equal fingerprints can be compared."""
        fields = {name: [f.bits, f.hashes, f.salted] for name, f in sorted(self.fields.items())}
        material = {
            "v": ENCODER_VERSION,
            "qgram": self.qgram,
            "salt": self.salt,
            "hardening": self.hardening,
            "fields": fields,
            "blocking": [p.name for p in self.blocking],
        }
        text = json.dumps(material, sort_keys=True).encode()
        return hashlib.sha256(text).hexdigest()[:16]


#: Changes whenever the encoder changes what it writes for the same settings (2: the day-month
#: token of the date of birth, name variant groups), so files from two encoders are not compared.
ENCODER_VERSION = 2


def _shipped() -> dict[str, Any]:
    text = resources.files("kinfold.linkage").joinpath(_SHIPPED).read_text("utf-8")
    return tomllib.loads(text)


def _overlay(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _overlay(merged[key], value)
        else:
            merged[key] = value
    return merged


class _Reader:
    """Typed access to a TOML table that names the file and the dotted key in every error."""

    def __init__(self, table: Mapping[str, Any], file: str | Path, prefix: str = "") -> None:
        self.table, self.file, self.prefix = table, file, prefix

    def fail(self, key: str, message: str) -> ConfigError:
        return ConfigError(message, file=self.file, field=self.prefix + key)

    def sub(self, key: str) -> _Reader:
        value = self.table.get(key)
        if not isinstance(value, Mapping):
            raise self.fail(key, "must be a table")
        return _Reader(value, self.file, f"{self.prefix}{key}.")

    def integer(self, key: str, low: int, high: int) -> int:
        value = self.table.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise self.fail(key, f"must be a whole number from {low} to {high}")
        return value

    def number(self, key: str, low: float, high: float) -> float:
        value = self.table.get(key)
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise self.fail(key, f"must be a number from {low} to {high}")
        if not low <= float(value) <= high:
            raise self.fail(key, f"must be a number from {low} to {high}")
        return float(value)

    def boolean(self, key: str) -> bool:
        value = self.table.get(key)
        if not isinstance(value, bool):
            raise self.fail(key, "must be true or false")
        return value

    def choice(self, key: str, allowed: tuple[str, ...]) -> str:
        value = self.table.get(key)
        if value not in allowed:
            raise self.fail(key, f"must be one of {', '.join(repr(a) for a in allowed)}")
        return str(value)

    def unknown(self, allowed: set[str]) -> None:
        for key in self.table:
            if key not in allowed:
                raise self.fail(key, "is not a setting kinfold knows")


def _parse(data: Mapping[str, Any], file: str | Path) -> Settings:
    top = _Reader(data, file)
    top.unknown({"version", "encoding", "fields", "blocking", "linking", "persons"})
    if data.get("version") != 1:
        raise top.fail("version", "must be 1")
    encoding, linking, persons = top.sub("encoding"), top.sub("linking"), top.sub("persons")
    encoding.unknown({"qgram", "salt", "hardening"})
    linking.unknown(
        {
            "max_block_pairs",
            "classifier",
            "threshold",
            "em_iterations",
            "prior_match_share",
            "missed_match_share",
            "keep_apart_below",
            "workers",
        }
    )
    persons.unknown({"keep_per_source", "keep_per_person"})
    hardening = encoding.choice("hardening", HARDENINGS)
    return Settings(
        qgram=encoding.integer("qgram", 1, 4),
        salt=encoding.choice("salt", SALTS),
        hardening=hardening,
        fields=_fields(top.sub("fields"), hardening),
        blocking=_blocking(data.get("blocking"), top),
        max_block_pairs=linking.integer("max_block_pairs", 1, 10**9),
        classifier=linking.choice("classifier", CLASSIFIERS),
        threshold=linking.number("threshold", 0.0, 1.0),
        em_iterations=linking.integer("em_iterations", 1, 10_000),
        prior_match_share=linking.number("prior_match_share", 1e-9, 0.999),
        missed_match_share=linking.number("missed_match_share", 1e-9, 0.5),
        keep_apart_below=linking.number("keep_apart_below", 0.0, 0.5),
        workers=linking.integer("workers", 0, 256),
        keep_per_source=persons.integer("keep_per_source", 1, 1000),
        keep_per_person=persons.integer("keep_per_person", 1, 10_000),
        source=str(file),
    )


def _fields(table: _Reader, hardening: str) -> dict[str, FieldSettings]:
    table.unknown(set(FUZZY_FIELDS))
    found: dict[str, FieldSettings] = {}
    for name in FUZZY_FIELDS:
        field = table.sub(name)
        field.unknown({"bits", "hashes", "weight", "thresholds", "term_frequency", "salted"})
        bits = field.integer("bits", 64, 8192)
        step = 128 if hardening == "xor-fold" else 64
        if bits % step:
            raise field.fail("bits", f"must be a multiple of {step} with hardening '{hardening}'")
        thresholds = field.table.get("thresholds")
        if not isinstance(thresholds, list):
            raise field.fail("thresholds", "must be a list of numbers between 0 and 1, falling")
        valid = all(
            isinstance(t, int | float) and not isinstance(t, bool) and 0 < t < 1 for t in thresholds
        )
        if not valid or thresholds != sorted(thresholds, reverse=True):
            raise field.fail("thresholds", "must be a list of numbers between 0 and 1, falling")
        found[name] = FieldSettings(
            bits=bits,
            hashes=field.integer("hashes", 1, 64),
            weight=field.number("weight", 0.0, 100.0),
            thresholds=tuple(float(t) for t in thresholds),
            term_frequency=field.boolean("term_frequency"),
            salted=field.boolean("salted"),
        )
    return found


def _blocking(value: object, top: _Reader) -> tuple[BlockingPass, ...]:
    if not isinstance(value, list) or not value:
        raise top.fail("blocking", "must be a list of [[blocking]] tables with parts")
    passes = []
    for number, item in enumerate(value, start=1):
        key = f"blocking[{number}].parts"
        parts = item.get("parts") if isinstance(item, Mapping) else None
        if not isinstance(parts, list) or not parts or not all(isinstance(p, str) for p in parts):
            raise top.fail(key, "must be a list of field or field:transform")
        parsed = []
        for part in parts:
            field, _, transform = part.partition(":")
            if transform not in TRANSFORMS.get(field, ()):
                raise top.fail(key, f"'{part}' is not a field with a transform kinfold knows")
            parsed.append((field, transform))
        passes.append(BlockingPass(tuple(parsed)))
    return tuple(passes)
