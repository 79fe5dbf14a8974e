"""Linking on encodings: blocking, comparison, classification, one-to-one, clustering."""

from __future__ import annotations

from itertools import product
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kinfold.errors import InputError
from kinfold.linkage import Settings, dedupe, encode, link
from kinfold.linkage._blocking import dedupe_pairs, link_pairs
from kinfold.linkage._cluster import components, one_to_one
from tests.linkage.conftest import (
    LEFT_PEOPLE,
    OTHER_SECRET,
    PEOPLE_MAP,
    RIGHT_PEOPLE,
    SECRET,
    encode_rows,
    person,
)

TRUE_PAIRS = {("L1", "R1"), ("L2", "R2"), ("L3", "R3"), ("L4", "R4"), ("L5", "R5"), ("L6", "R6")}


def test_linking_sees_through_recording_differences() -> None:
    # typos (Smyth), nicknames (Bill, Kate), accents (Zoë/Zoe), swapped names (R6), missing address
    found = link(encode_rows(LEFT_PEOPLE), encode_rows(RIGHT_PEOPLE))
    assert {(a, b) for a, b, _ in found.rows()} == TRUE_PAIRS
    assert all(0.5 <= score <= 1.0 for _, _, score in found.rows())


def test_one_to_one_keeps_the_best_link_for_each_record() -> None:
    twin = person(
        "R8", "John", "Smith", "1980-03-14", sex="M", address="12 High Street", postcode="NF1 2AB"
    )
    right = encode_rows([*RIGHT_PEOPLE, twin])
    many = link(encode_rows(LEFT_PEOPLE), right)
    single = link(encode_rows(LEFT_PEOPLE), right, one_to_one=True)
    assert {("L1", "R1"), ("L1", "R8")} <= {(a, b) for a, b, _ in many.rows()}
    pairs = [(a, b) for a, b, _ in single.rows()]
    assert ("L1", "R8") in pairs  # the exact copy beats the misspelt one
    assert len({a for a, _ in pairs}) == len(pairs) == len({b for _, b in pairs})


def test_a_higher_threshold_keeps_fewer_links() -> None:
    left, right = encode_rows(LEFT_PEOPLE), encode_rows(RIGHT_PEOPLE)
    assert len(link(left, right, threshold=0.99999)) < len(link(left, right, threshold=0.5))


def test_tables_made_with_different_secrets_are_not_compared() -> None:
    with pytest.raises(InputError, match="different linkage secrets"):
        link(encode_rows(LEFT_PEOPLE), encode_rows(RIGHT_PEOPLE, secret=OTHER_SECRET))


def test_tables_made_with_different_settings_are_not_compared(tmp_path: Path) -> None:
    (tmp_path / "s.toml").write_text("[fields.surname]\nbits = 512\n")
    other = encode(RIGHT_PEOPLE, PEOPLE_MAP, SECRET, Settings.load(tmp_path / "s.toml"))
    with pytest.raises(InputError, match="different settings"):
        link(encode_rows(LEFT_PEOPLE), other)


def test_dedupe_clusters_the_same_person_within_one_file() -> None:
    rows = [*LEFT_PEOPLE, *(dict(r, ref=r["ref"].replace("R", "D")) for r in RIGHT_PEOPLE)]
    clusters = dedupe(encode_rows(rows))
    cluster_of = dict(clusters.rows())
    for n in range(1, 7):
        assert cluster_of[f"L{n}"] == cluster_of[f"D{n}"] == f"L{n}"
    assert cluster_of["D7"] == "D7"
    assert clusters.count() == 7


def test_the_weighted_dice_classifier_is_a_setting(tmp_path: Path) -> None:
    (tmp_path / "s.toml").write_text('[linking]\nclassifier = "weighted-dice"\nthreshold = 0.8\n')
    chosen = Settings.load(tmp_path / "s.toml")
    found = link(encode_rows(LEFT_PEOPLE), encode_rows(RIGHT_PEOPLE), chosen)
    assert {(a, b) for a, b, _ in found.rows()} <= TRUE_PAIRS
    assert len(found) >= 4


keys = st.lists(st.lists(st.integers(0, 4), min_size=3, max_size=3), min_size=1, max_size=25)


def _brute_link(left: np.ndarray, right: np.ndarray) -> set[tuple[int, int]]:
    return {
        (i, j)
        for i, j in product(range(len(left)), range(len(right)))
        if any(left[i, p] == right[j, p] != 0 for p in range(left.shape[1]))
    }


@given(keys, keys)
@settings(max_examples=80, deadline=None)
def test_link_blocking_makes_each_pair_sharing_a_key_exactly_once(
    left_keys: list[list[int]], right_keys: list[list[int]]
) -> None:
    left = np.asarray(left_keys, dtype=np.uint64)
    right = np.asarray(right_keys, dtype=np.uint64)
    made = [
        (int(a), int(b))
        for li, ri in link_pairs(left, right, max_block_pairs=10**6)
        for a, b in zip(li, ri, strict=True)
    ]
    assert len(made) == len(set(made))
    assert set(made) == _brute_link(left, right)


@given(keys)
@settings(max_examples=80, deadline=None)
def test_dedupe_blocking_makes_each_pair_once_in_order(rows: list[list[int]]) -> None:
    table = np.asarray(rows, dtype=np.uint64)
    made = [
        (int(a), int(b))
        for li, ri in dedupe_pairs(table, max_block_pairs=10**6)
        for a, b in zip(li, ri, strict=True)
    ]
    assert len(made) == len(set(made))
    assert all(a < b for a, b in made)
    assert set(made) == {(i, j) for i, j in _brute_link(table, table) if i < j}


def test_a_block_too_big_is_skipped_but_its_pairs_can_come_from_another_pass() -> None:
    # pass 0: everyone shares key 1 (too big); pass 1: rows 0 and 1 share key 7
    left = np.array([[1, 7], [1, 8], [1, 9]], dtype=np.uint64)
    right = np.array([[1, 7], [1, 5], [1, 6]], dtype=np.uint64)
    made = {
        (int(a), int(b))
        for li, ri in link_pairs(left, right, max_block_pairs=4)
        for a, b in zip(li, ri, strict=True)
    }
    assert made == {(0, 0)}


def _greedy(left: list[int], right: list[int], score: list[float]) -> set[int]:
    order = sorted(range(len(left)), key=lambda i: (-score[i], left[i], right[i]))
    used_left, used_right, kept = set(), set(), set()
    for i in order:
        if left[i] not in used_left and right[i] not in used_right:
            kept.add(i)
            used_left.add(left[i])
            used_right.add(right[i])
    return kept


links = st.lists(
    st.tuples(st.integers(0, 6), st.integers(0, 6), st.sampled_from([0.5, 0.7, 0.9, 0.99])),
    max_size=30,
    unique_by=lambda t: (t[0], t[1]),
)


@given(links)
@settings(max_examples=150, deadline=None)
def test_one_to_one_is_the_greedy_assignment(found: list[tuple[int, int, float]]) -> None:
    left = np.array([f[0] for f in found], dtype=np.intp)
    right = np.array([f[1] for f in found], dtype=np.intp)
    score = np.array([f[2] for f in found], dtype=np.float64)
    kept = one_to_one(left, right, score)
    assert set(kept.tolist()) == _greedy(left.tolist(), right.tolist(), score.tolist())


@given(st.lists(st.tuples(st.integers(0, 14), st.integers(0, 14)), max_size=30))
@settings(max_examples=150, deadline=None)
def test_components_join_exactly_the_connected_nodes(edges: list[tuple[int, int]]) -> None:
    left = np.array([e[0] for e in edges], dtype=np.intp)
    right = np.array([e[1] for e in edges], dtype=np.intp)
    label = components(15, left, right)
    parent = list(range(15))

    def root(x: int) -> int:
        while parent[x] != x:
            x = parent[x]
        return x

    for a, b in edges:
        parent[root(a)] = root(b)
    for a in range(15):
        for b in range(15):
            assert (label[a] == label[b]) == (root(a) == root(b))
        assert label[a] == min(n for n in range(15) if root(n) == root(a))


def test_comparing_in_worker_processes_gives_the_same_links(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kinfold.linkage._link as workings

    monkeypatch.setattr(workings, "PARALLEL_FROM_RECORDS", 2)  # small tables, real workers
    left, right = encode_rows(LEFT_PEOPLE), encode_rows(RIGHT_PEOPLE)
    results = []
    for workers in (1, 2):
        (tmp_path / f"w{workers}.toml").write_text(f"[linking]\nworkers = {workers}\n")
        chosen = Settings.load(tmp_path / f"w{workers}.toml")
        found = link(left, right, chosen)
        results.append((found.rows(), found.pairs_compared))
    assert results[0] == results[1]
    assert results[0][0]
