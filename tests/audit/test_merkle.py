"""The RFC 9162 Merkle module on its own: peer vectors, the RFC's worked examples, random trees."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kinfold.audit import merkle
from kinfold.audit.merkle import Collector, Frontier, LeafList, ProofError

# Copied from transparency-dev/merkle's testdata (see vectors/README.md), so the suite never
# reaches outside the repository.
VECTORS = Path(__file__).parent / "vectors"


def _b64(value: str | None) -> bytes:
    return base64.b64decode(value or "")


def _proof(value: list[str] | None) -> list[bytes]:
    return [_b64(item) for item in value or []]


def _cases(kind: str) -> list[Any]:
    files = sorted((VECTORS / kind).rglob("*.json"))
    return [pytest.param(json.loads(f.read_text()), id=str(f.relative_to(VECTORS))) for f in files]


def test_the_vectors_are_all_there() -> None:
    assert len(_cases("inclusion")) == 98
    assert len(_cases("consistency")) == 98


@pytest.mark.parametrize("case", _cases("inclusion"))
def test_inclusion_vectors(case: dict[str, Any]) -> None:
    def check() -> None:
        merkle.verify_inclusion(
            case["leafIdx"],
            case["treeSize"],
            _b64(case["leafHash"]),
            _proof(case["proof"]),
            _b64(case["root"]),
        )

    if case["wantErr"]:
        with pytest.raises(ProofError):
            check()
    else:
        check()


@pytest.mark.parametrize("case", _cases("consistency"))
def test_consistency_vectors(case: dict[str, Any]) -> None:
    def check() -> None:
        merkle.verify_consistency(
            case["size1"],
            case["size2"],
            _b64(case["root1"]),
            _b64(case["root2"]),
            _proof(case["proof"]),
        )

    if case["wantErr"]:
        with pytest.raises(ProofError):
            check()
    else:
        check()


# RFC 9162 §2.1.5 draws the trees over these 7 leaves; the transparency-dev vectors use them too.
RFC_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
]


def _rfc_tree(size: int) -> LeafList:
    return LeafList([merkle.leaf_hash(leaf) for leaf in RFC_LEAVES[:size]])


def test_roots_of_the_vector_trees_match_the_vector_files() -> None:
    happy = json.loads((VECTORS / "inclusion/1/happy-path.json").read_text())
    assert merkle.root(8, _rfc_tree(8)) == _b64(happy["root"])
    consistent = json.loads((VECTORS / "consistency/3/happy-path.json").read_text())
    assert merkle.root(2, _rfc_tree(2)) == _b64(consistent["root1"])
    assert merkle.root(5, _rfc_tree(5)) == _b64(consistent["root2"])


def test_generated_proofs_equal_the_vector_proofs() -> None:
    for name in ("1", "2", "3", "4"):
        case = json.loads((VECTORS / "inclusion" / name / "happy-path.json").read_text())
        tree = _rfc_tree(case["treeSize"])
        assert merkle.inclusion_proof(case["leafIdx"], case["treeSize"], tree) == _proof(
            case["proof"]
        )
    for name in ("1", "2", "3", "4"):
        case = json.loads((VECTORS / "consistency" / name / "happy-path.json").read_text())
        tree = _rfc_tree(case["size2"])
        assert merkle.consistency_proof(case["size1"], case["size2"], tree) == _proof(case["proof"])


def test_empty_tree_root_is_sha256_of_nothing() -> None:
    assert merkle.root(0, LeafList([])) == hashlib.sha256(b"").digest()
    assert Frontier().root() == merkle.EMPTY_ROOT


def _leaves(n: int) -> list[bytes]:
    return [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


def _reference_root(leaves: list[bytes]) -> bytes:
    """MTH written as the RFC's recursion, independent of the module's own decomposition."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return merkle.node_hash(_reference_root(leaves[:k]), _reference_root(leaves[k:]))


@settings(deadline=None)
@given(st.integers(min_value=1, max_value=300))
def test_frontier_root_and_nodes_agree_with_the_rfc_recursion(size: int) -> None:
    leaves = _leaves(size)
    frontier = Frontier()
    nodes: dict[tuple[int, int], bytes] = {}
    for leaf in leaves:
        for level, index, value in frontier.append(leaf):
            nodes[(level, index)] = value
    assert frontier.root() == _reference_root(leaves) == merkle.root(size, LeafList(leaves))
    for (level, index), value in nodes.items():
        width = 1 << level
        assert value == _reference_root(leaves[index * width : (index + 1) * width])
    restarted = Frontier(size, [LeafList(leaves).perfect(*p) for p in Frontier.positions(size)])
    assert restarted.hashes == frontier.hashes


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_inclusion_proofs_verify_and_any_flipped_bit_is_rejected(data: st.DataObject) -> None:
    size = data.draw(st.integers(min_value=1, max_value=260), label="size")
    index = data.draw(st.integers(min_value=0, max_value=size - 1), label="index")
    leaves = _leaves(size)
    tree = LeafList(leaves)
    top = merkle.root(size, tree)
    proof = merkle.inclusion_proof(index, size, tree)
    merkle.verify_inclusion(index, size, leaves[index], proof, top)

    material = [leaves[index], *proof, top]
    which = data.draw(st.integers(min_value=0, max_value=len(material) - 1), label="which")
    bit = data.draw(st.integers(min_value=0, max_value=255), label="bit")
    flipped = bytearray(material[which])
    flipped[bit // 8] ^= 1 << (bit % 8)
    material[which] = bytes(flipped)
    with pytest.raises(ProofError):
        merkle.verify_inclusion(index, size, material[0], material[1:-1], material[-1])


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_consistency_proofs_verify_and_any_flipped_bit_is_rejected(data: st.DataObject) -> None:
    size2 = data.draw(st.integers(min_value=2, max_value=260), label="size2")
    size1 = data.draw(st.integers(min_value=1, max_value=size2 - 1), label="size1")
    tree = LeafList(_leaves(size2))
    root1, root2 = merkle.root(size1, tree), merkle.root(size2, tree)
    proof = merkle.consistency_proof(size1, size2, tree)
    merkle.verify_consistency(size1, size2, root1, root2, proof)

    material = [root1, root2, *proof]
    which = data.draw(st.integers(min_value=0, max_value=len(material) - 1), label="which")
    bit = data.draw(st.integers(min_value=0, max_value=255), label="bit")
    flipped = bytearray(material[which])
    flipped[bit // 8] ^= 1 << (bit % 8)
    material[which] = bytes(flipped)
    with pytest.raises(ProofError):
        merkle.verify_consistency(size1, size2, material[0], material[1], material[2:])


@settings(deadline=None)
@given(st.integers(min_value=2, max_value=200), st.data())
def test_a_proof_for_one_index_fails_for_another(size: int, data: st.DataObject) -> None:
    leaves = _leaves(size)
    tree = LeafList(leaves)
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    proof = merkle.inclusion_proof(index, size, tree)
    top = merkle.root(size, tree)
    other = data.draw(st.integers(min_value=0, max_value=size - 1).filter(lambda i: i != index))
    with pytest.raises(ProofError):
        merkle.verify_inclusion(other, size, leaves[index], proof, top)
    with pytest.raises(ProofError):
        merkle.verify_inclusion(index, size, leaves[other], proof, top)


def test_a_collector_names_only_logarithmically_many_subtrees() -> None:
    collector = Collector()
    merkle.inclusion_proof(123_456, 1_000_003, collector)
    merkle.consistency_proof(999_999, 1_000_003, collector)
    assert 0 < len(collector.wanted) <= 3 * 20


def test_the_module_imports_without_django() -> None:
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'django' or name.startswith('django.'):\n"
        "            raise ImportError(name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import kinfold.audit.merkle, kinfold.audit.canonical\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
