"""The linkage benchmark's runners: kinfold (on encodings) and its peers (Splink 5 with DuckDB,
recordlinkage and anonlink), each given the same files and asked the same question.

Every runner returns the pairs it links (for a link between two files) or each record's cluster
(for a de-duplication or a borough quarter), and how many record pairs it compared. Peers get
plaintext with the light cleaning any analyst would do (trimmed, lower-cased, dates read);
kinfold gets the raw files, as partners send them, and links encodings only.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import logging
import re
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # kinfold is imported where used, so peers' processes never load it
    from kinfold.linkage import ColumnMap, EncodedTable

Pair = tuple[str, str]


@dataclass
class Outcome:
    """What a runner found: links (pairs) or clusters (record -> cluster), and pairs compared."""

    pairs: set[Pair] = field(default_factory=set)
    clusters: dict[str, str] = field(default_factory=dict)
    compared: int = 0
    note: str = ""
    #: Counts the pairs compared once the clock has stopped (when counting costs extra work).
    count_later: Callable[[], int] | None = None


# --------------------------------------------------------------------------------------- kinfold


def kinfold(dataset: Mapping[str, Any], workdir: Path) -> Outcome:
    """kinfold's commands as an analyst runs them (link, dedupe), or a quarter as the hub does."""
    from kinfold.cli import main

    out = workdir / "kinfold-out.csv"
    if dataset["kind"] == "borough":
        return _kinfold_borough(dataset)
    stdout = io.StringIO()
    if dataset["kind"] == "link":
        argv = [
            "link",
            "--left",
            dataset["left"],
            "--left-map",
            dataset["map"],
            "--right",
            dataset["right"],
            "--right-map",
            dataset["map"],
            "--out",
            str(out),
            "--blank-bad-values",
        ]
        if dataset.get("one_to_one"):
            argv.append("--one-to-one")
    else:
        argv = [
            "dedupe",
            dataset["file"],
            "--map",
            dataset["map"],
            "--out",
            str(out),
            "--blank-bad-values",
        ]
    with redirect_stdout(stdout):
        status = main(argv)
    if status != 0:
        raise RuntimeError(f"kinfold exited {status}")
    compared = int(
        re.search(r"from ([\d,]+) pairs compared", stdout.getvalue())[1].replace(",", "")
    )
    with out.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if dataset["kind"] == "link":
        return Outcome(pairs={(r["left_id"], r["right_id"]) for r in rows}, compared=compared)
    return Outcome(clusters={r["id"]: r["cluster"] for r in rows}, compared=compared)


def _kinfold_borough(dataset: Mapping[str, Any]) -> Outcome:
    from kinfold.linkage import (
        PersonIndex,
        new_secret,
        resolve_persons,
    )

    tables = encode_extracts(Path(dataset["folder"]), dataset["schemas"], new_secret())
    result = resolve_persons(tables, PersonIndex.new(), quarter=dataset["quarter"])
    clusters = {f"{source}|{record}": person for (source, record), person in result.persons.items()}
    compared = result.links.pairs_compared if result.links is not None else 0
    return Outcome(clusters=clusters, compared=compared)


def schemas(folder: str) -> dict[str, dict[str, Any]]:
    """The partners' extract schemas, by partner id."""
    found = {}
    for path in sorted(Path(folder).glob("*.toml")):
        schema = tomllib.loads(path.read_text("utf-8"))
        found[schema["partner"]["id"]] = schema
    return found


def partner_extracts(
    folder: Path, schemas_dir: str | Path
) -> Iterator[tuple[str, Path, ColumnMap]]:
    """Each partner's extract in a quarter's folder (those present), with its identity columns."""
    from kinfold.linkage import ColumnMap

    for partner, schema in schemas(str(schemas_dir)).items():
        path = folder / schema["partner"]["file"]
        if path.exists():
            yield (
                partner,
                path,
                ColumnMap.from_dict(schema["identity"], record_id=schema["partner"]["record_id"]),
            )


def encode_extracts(folder: Path, schemas_dir: str | Path, secret: bytes) -> list[EncodedTable]:
    """A quarter's partner extracts encoded as each partner would (bad values blanked)."""
    from kinfold.linkage import encode, read_rows

    return [
        encode(
            read_rows(path, column_map, allow_no_rows=True),
            column_map,
            secret,
            source=partner,
            bad_values="blank",
            file=path,
        )
        for partner, path, column_map in partner_extracts(folder, schemas_dir)
    ]


# ---------------------------------------------------------------------------------- plain tables


def read_table(path: str, columns: str) -> list[dict[str, str]]:
    """A data set's rows as plaintext dicts in the shape the peers are given."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle, skipinitialspace=True)
        header = [h.strip() for h in next(reader)]
        rows = [
            {
                h: (c.strip() if h == "rec_id" else c.strip().lower()) if c else ""
                for h, c in zip(header, row, strict=False)
            }
            for row in reader
        ]
    if columns == "febrl":
        for row in rows:
            row["address"] = " ".join(
                row[c] for c in ("street_number", "address_1", "address_2", "suburb") if row[c]
            )
    return rows


def _frame(rows: list[dict[str, str]]) -> Any:
    import pandas as pd

    frame = pd.DataFrame(rows)
    return frame.replace({"": None})


# ---------------------------------------------------------------------------------------- splink

FEBRL_BLOCKS = [
    ("given_name", "surname"),
    "l.given_name = r.surname and l.surname = r.given_name",
    ("date_of_birth",),
    ("soc_sec_id",),
    ("state", "address_1"),
    ("street_number", "address_1"),
    ("postcode",),
]
PEOPLE_BLOCKS = [
    ("given_name", "surname"),
    "l.given_name = r.surname and l.surname = r.given_name",
    ("dob",),
    ("postcode",),
]


def splink(dataset: Mapping[str, Any], workdir: Path) -> Outcome:
    """Splink 5 on DuckDB with a standard model: Splink's own FEBRL examples' "detailed model" for
    FEBRL; the same kind (name, date of birth, postcode, address, sex, reference comparisons with
    term frequencies) for the synthetic people. u by random sampling, m by EM on two blocking
    rules, the match rate from deterministic rules; links at match probability 0.5; one-to-one
    links through Splink's single-best-links clustering where neither file repeats a person."""
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    logging.getLogger("splink").setLevel(logging.ERROR)
    febrl = dataset["columns"] == "febrl"
    kind = dataset["kind"]
    if kind == "link":
        frames = [
            _frame(read_table(dataset[side], dataset["columns"])) for side in ("left", "right")
        ]
    elif kind == "dedupe":
        frames = [_frame(read_table(dataset["file"], dataset["columns"]))]
    else:
        frames = [_frame(read_table(dataset["unified"], "people"))]
    present = set(frames[0].columns)
    if febrl:
        comparisons = [
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison(
                "date_of_birth", input_is_string=True, datetime_format="%Y%m%d"
            ),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]).configure(
                term_frequency_adjustments=True
            ),
        ]
        blocks = FEBRL_BLOCKS
        deterministic = [block_on("soc_sec_id"), block_on("given_name", "surname", "date_of_birth")]
        training = [block_on("date_of_birth"), block_on("postcode")]
    else:
        comparisons = [
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("dob", input_is_string=True, datetime_format="%Y-%m-%d"),
            cl.ExactMatch("sex"),
            cl.JaroWinklerAtThresholds("address", [0.95, 0.88]),
            cl.PostcodeComparison("postcode"),
        ]
        refs = [c for c in ("nhs_number", "ni_number", "upn", "uprn") if c in present]
        comparisons += [cl.ExactMatch(c) for c in refs]
        blocks = PEOPLE_BLOCKS + [(c,) for c in refs]
        deterministic = [block_on("given_name", "surname", "dob")]
        training = [block_on("dob"), block_on("postcode")]
    link_type = "link_only" if kind == "link" else "dedupe_only"
    settings = SettingsCreator(
        unique_id_column_name="rec_id",
        link_type=link_type,
        blocking_rules_to_generate_predictions=[
            b if isinstance(b, str) else block_on(*b) for b in blocks
        ],
        comparisons=comparisons,
    )
    db_api = DuckDBAPI()
    names = ["file_a", "file_b"] if kind == "link" else ["records"]
    tables = [
        db_api.register(f, dataset_display_name=n) for f, n in zip(frames, names, strict=True)
    ]
    linker = Linker(tables if kind == "link" else tables[0], settings, log_level=logging.ERROR)
    linker.training.estimate_probability_two_random_records_match(deterministic, recall=0.8)
    linker.training.estimate_u_using_random_sampling(max_pairs=5e6, seed=1)
    for rule in training:
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule, estimate_without_term_frequencies=True
        )
    predictions = linker.inference.predict(threshold_match_probability=0.5)

    def count() -> int:
        from splink.blocking_analysis import count_comparisons_from_blocking_rules

        found = count_comparisons_from_blocking_rules(
            tables if kind == "link" else tables[0],
            blocking_rules=[b if isinstance(b, str) else block_on(*b) for b in blocks],
            link_type=link_type,
            unique_id_column_name="rec_id",
            record_sample_proportion=1.0,
        )
        return int(found[-1]["cumulative_comparison_count"])

    if kind == "link":
        if dataset.get("one_to_one"):
            clustered = linker.clustering.cluster_using_single_best_links(
                predictions, duplicate_free_datasets=names, threshold_match_probability=0.5
            ).as_pandas_dataframe()
            by_cluster: dict[str, dict[str, str]] = {}
            for row in clustered.itertuples():
                by_cluster.setdefault(row.cluster_id, {})[row.source_dataset] = row.rec_id
            pairs = {(c["file_a"], c["file_b"]) for c in by_cluster.values() if len(c) == 2}
        else:
            frame = predictions.as_pandas_dataframe()
            pairs = {
                (r.rec_id_l, r.rec_id_r)
                if r.source_dataset_l == "file_a"
                else (r.rec_id_r, r.rec_id_l)
                for r in frame.itertuples()
            }
        return Outcome(pairs=pairs, count_later=count)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=0.5
    ).as_pandas_dataframe()
    return Outcome(
        clusters=dict(zip(clusters["rec_id"], clusters["cluster_id"].astype(str), strict=True)),
        count_later=count,
    )


# -------------------------------------------------------------------------------- recordlinkage


def recordlinkage(dataset: Mapping[str, Any], workdir: Path) -> Outcome:
    """recordlinkage with its standard recipe: a union of blocking indexes, Jaro-Winkler names,
    exact date of birth and postcode, a Levenshtein address, exact reference numbers, and the
    unsupervised ECM classifier (Fellegi-Sunter by EM) on the binary features."""
    import pandas as pd
    import recordlinkage as rl

    febrl = dataset["columns"] == "febrl"
    kind = dataset["kind"]
    dob = "date_of_birth" if febrl else "dob"
    if kind == "link":
        left = _frame(read_table(dataset["left"], dataset["columns"])).set_index("rec_id")
        right = _frame(read_table(dataset["right"], dataset["columns"])).set_index("rec_id")
    else:
        path = dataset["file"] if kind == "dedupe" else dataset["unified"]
        left = _frame(read_table(path, dataset.get("columns", "people"))).set_index("rec_id")
        right = None
    blocks = [["given_name", "surname"], [dob], ["postcode"]]
    refs = (
        ["soc_sec_id"]
        if febrl
        else [c for c in ("nhs_number", "ni_number", "upn", "uprn") if c in left.columns]
    )
    blocks += [[r] for r in refs]
    indexes = []
    for keys in blocks:
        indexer = rl.Index()
        indexer.block(keys)
        indexes.append(indexer.index(left) if right is None else indexer.index(left, right))
    candidates = indexes[0]
    for more in indexes[1:]:
        candidates = candidates.union(more)
    compare = rl.Compare()
    compare.string("given_name", "given_name", method="jarowinkler", threshold=0.85)
    compare.string("surname", "surname", method="jarowinkler", threshold=0.85)
    compare.exact(dob, dob)
    compare.string("address", "address", method="levenshtein", threshold=0.85)
    compare.exact("postcode", "postcode")
    for ref in refs:
        compare.exact(ref, ref)
    features = (
        compare.compute(candidates, left)
        if right is None
        else compare.compute(candidates, left, right)
    )
    classifier = rl.ECMClassifier(binarize=None)
    matches = classifier.fit_predict(features.astype(int))
    pairs = {(str(a), str(b)) for a, b in matches.tolist()}
    if kind == "link":
        return Outcome(pairs=pairs, compared=len(candidates))
    del pd
    return Outcome(
        clusters=connected(left.index.astype(str).tolist(), pairs), compared=len(candidates)
    )


def connected(records: Iterable[str], pairs: Iterable[Pair]) -> dict[str, str]:
    """Clusters from pairs (connected components), named by their smallest record."""
    parent: dict[str, str] = {r: r for r in records}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {r: find(r) for r in parent}


# ------------------------------------------------------------------------------------- anonlink

CLK_BITS = 1024
CLK_FIELDS = {  # field -> bits set per q-gram (clkhash-style weights)
    "given_name": 15,
    "surname": 15,
    "dob": 10,
    "date_of_birth": 10,
    "sex": 5,
    "address": 4,
    "postcode": 8,
    "soc_sec_id": 8,
    "nhs_number": 10,
    "ni_number": 10,
    "upn": 10,
    "uprn": 10,
}
ANONLINK_THRESHOLD = 0.8


def anonlink(dataset: Mapping[str, Any], workdir: Path) -> Outcome:
    """anonlink (Data61's Bloom-filter linkage): each record one 1,024-bit CLK of keyed bigram
    hashes (clkhash's scheme: HMAC-SHA256, per-field weights), Dice similarity at 0.8, greedy
    solving. Small files are compared all against all; large ones within the same keyed blocking
    keys kinfold uses (anonlink has no blocking of its own without blocklib)."""
    from anonlink import candidate_generation, similarities, solving

    kind = dataset["kind"]
    if kind == "link":
        sides = [read_table(dataset[s], dataset["columns"]) for s in ("left", "right")]
    elif kind == "dedupe":
        sides = [read_table(dataset["file"], dataset["columns"])]
    else:
        rows = read_table(dataset["unified"], "people")
        by_source: dict[str, list[dict[str, str]]] = {}
        for row in rows:
            by_source.setdefault(row["source"], []).append(row)
        sides = list(by_source.values())
    key = hashlib.sha256(b"anonlink benchmark secret").digest()
    clks = [[_clk(row, key) for row in side] for side in sides]
    datasets = clks if kind != "dedupe" else [clks[0], clks[0]]
    sizes = [len(d) for d in datasets]
    total = sum(a * b for i, a in enumerate(sizes) for b in sizes[i + 1 :])
    blocking_f = None
    compared = total
    if total > 50_000_000:
        keys = [_blocking_keys(side) for side in (sides if kind != "dedupe" else sides * 2)]
        blocking_f = lambda d, r, _h: keys[d][r]  # noqa: E731 - anonlink's callback shape
        compared = _block_pairs(keys)
    candidates = candidate_generation.find_candidate_pairs(
        datasets,
        similarities.dice_coefficient_accelerated,
        ANONLINK_THRESHOLD,
        blocking_f=blocking_f,
    )
    ids = [[row["rec_id"] for row in side] for side in sides]
    if kind == "dedupe":
        _, _, rec = candidates
        pairs = {(ids[0][a], ids[0][b]) for a, b in zip(rec[0], rec[1], strict=True) if a != b}
        return Outcome(clusters=connected(ids[0], pairs), compared=compared // 2)
    groups = solving.greedy_solve(candidates)
    if kind == "link":
        pairs = set()
        for group in groups:
            found = dict(group)
            if 0 in found and 1 in found:
                pairs.add((ids[0][found[0]], ids[1][found[1]]))
        return Outcome(pairs=pairs, compared=compared)
    links = set()
    for group in groups:
        members = [ids[d][r] for d, r in group]
        links.update((members[0], other) for other in members[1:])
    everyone = [i for side in ids for i in side]
    return Outcome(clusters=connected(everyone, links), compared=compared)


def _clk(row: Mapping[str, str], key: bytes) -> Any:
    from bitarray import bitarray

    value = 0
    for name, k in CLK_FIELDS.items():
        text = row.get(name) or ""
        if not text:
            continue
        padded = f"_{text}_"
        for gram in {padded[i : i + 2] for i in range(len(padded) - 1)}:
            value |= _gram_bits(key, name, gram, k)
    bits = bitarray(endian="little")
    bits.frombytes(value.to_bytes(CLK_BITS // 8, "little"))
    return bits


_GRAMS: dict[tuple[str, str], int] = {}


def _gram_bits(key: bytes, name: str, gram: str, k: int) -> int:
    found = _GRAMS.get((name, gram))
    if found is None:
        digest = hmac.digest(key, f"{name}\x1f{gram}".encode(), "sha256")
        positions = np.frombuffer(digest, dtype="<u2")[:k] % CLK_BITS
        found = 0
        for p in positions.tolist():
            found |= 1 << p
        _GRAMS[(name, gram)] = found
    return found


def _blocking_keys(rows: list[dict[str, str]]) -> list[list[str]]:
    """kinfold's keyed blocking keys for plaintext rows (so anonlink meets the same pairs)."""
    from kinfold.linkage import ColumnMap, encode

    columns = {"given_name", "surname", "sex", "address", "postcode"} & set(rows[0])
    parts = [f"{c}={c}" for c in sorted(columns)]
    dob = "dob" if "dob" in rows[0] else "date_of_birth"
    fmt = "%Y-%m-%d" if dob == "dob" else "%Y%m%d"
    column_map = ColumnMap.parse(",".join([*parts, f"dob={dob}:{fmt}"]))
    table = encode(rows, column_map, b"anonlink-blocking-secret!!", bad_values="blank")
    return [[f"{p}:{k}" for p, k in enumerate(row) if k] for row in table.blocking.tolist()]


def _block_pairs(keys: list[list[list[str]]]) -> int:
    counts: list[dict[str, int]] = []
    for side in keys:
        found: dict[str, int] = {}
        for row in side:
            for k in row:
                found[k] = found.get(k, 0) + 1
        counts.append(found)
    total = 0
    for i, a in enumerate(counts):
        for b in counts[i + 1 :]:
            total += sum(n * b.get(k, 0) for k, n in a.items())
    return total


RUNNERS = {
    "kinfold": kinfold,
    "splink": splink,
    "recordlinkage": recordlinkage,
    "anonlink": anonlink,
}
