"""RFC 9162 Merkle trees: hashing, root, inclusion and consistency proofs. Pure Python, no Django.

Hashing is RFC 9162 §2.1.1: a leaf hash is SHA-256(0x00 ‖ leaf bytes), an interior node is
SHA-256(0x01 ‖ left ‖ right), the tree over n > 1 leaves splits at k, the largest power of two
smaller than n, and the empty tree's root is SHA-256 of nothing.

Proof *generation* works over any `NodeSource`: something that can hand over the hash of a
*perfect* subtree, named (level, index) and covering leaves [index·2^level, (index+1)·2^level).
Every hash a proof needs is either such a subtree or a right-border subtree that folds from them,
so a store of perfect-subtree hashes (a leaf is level 0) answers any proof with O(log n) look-ups.
`Collector` records which subtrees a proof will need, so a database can fetch them in one query.

Proof *verification* follows RFC 9162 §2.1.3.2 and §2.1.4.2 step by step, and refuses malformed
input (hashes of the wrong length, indexes out of range, extra or missing proof elements).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "Collector",
    "Frontier",
    "LeafList",
    "NodeSource",
    "Prefetched",
    "ProofError",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root",
    "subtree_hash",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


class ProofError(ValueError):
    """A proof that does not prove what it claims; the message says why."""


def leaf_hash(data: bytes) -> bytes:
    """The hash of one leaf: SHA-256(0x00 ‖ data)."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an interior node: SHA-256(0x01 ‖ left ‖ right)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """k of RFC 9162 §2.1.1: the largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def _is_power_of_two(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


class NodeSource(Protocol):
    """Where proof generation reads hashes from."""

    def perfect(self, level: int, index: int) -> bytes:
        """The hash of the perfect subtree over leaves [index·2^level, (index+1)·2^level)."""
        ...


class LeafList:
    """A `NodeSource` over leaf hashes held in memory (tests, small trees, third-party checks)."""

    def __init__(self, leaf_hashes: Sequence[bytes]) -> None:
        self._leaves = leaf_hashes

    def perfect(self, level: int, index: int) -> bytes:
        if level == 0:
            return self._leaves[index]
        return node_hash(self.perfect(level - 1, 2 * index), self.perfect(level - 1, 2 * index + 1))


class Collector:
    """A `NodeSource` that only notes which perfect subtrees were asked for.

    Proofs depend on sizes and indexes, never on hash values, so running a proof once against a
    Collector tells a store exactly what to fetch before running it for real.
    """

    def __init__(self) -> None:
        self.wanted: set[tuple[int, int]] = set()

    def perfect(self, level: int, index: int) -> bytes:
        self.wanted.add((level, index))
        return bytes(HASH_SIZE)


class Prefetched:
    """A `NodeSource` over hashes fetched in advance, keyed by (level, index)."""

    def __init__(self, hashes: Mapping[tuple[int, int], bytes]) -> None:
        self._hashes = hashes

    def perfect(self, level: int, index: int) -> bytes:
        try:
            return self._hashes[(level, index)]
        except KeyError:
            raise LookupError(
                f"no stored hash for subtree (level {level}, index {index})"
            ) from None


def subtree_hash(source: NodeSource, start: int, end: int) -> bytes:
    """MTH(D[start:end]) for a range the RFC recursion reaches (start aligned to its split)."""
    size = end - start
    if size <= 0:
        raise ValueError(f"empty or negative range [{start}, {end})")
    if _is_power_of_two(size):
        if start % size:
            raise ValueError(f"range [{start}, {end}) is not an aligned perfect subtree")
        return source.perfect(size.bit_length() - 1, start // size)
    k = _split(size)
    return node_hash(subtree_hash(source, start, start + k), subtree_hash(source, start + k, end))


def root(size: int, source: NodeSource) -> bytes:
    """MTH(D[size]): the root of the first `size` leaves."""
    if size < 0:
        raise ValueError("a tree size cannot be negative")
    return EMPTY_ROOT if size == 0 else subtree_hash(source, 0, size)


def inclusion_proof(index: int, size: int, source: NodeSource) -> list[bytes]:
    """PATH(index, D[size]) of RFC 9162 §2.1.3.1, ordered from the leaf's sibling upwards."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size} leaves")
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            path.append(subtree_hash(source, start + k, end))
            end = start + k
        else:
            path.append(subtree_hash(source, start, start + k))
            start += k
    path.reverse()
    return path


def consistency_proof(size1: int, size2: int, source: NodeSource) -> list[bytes]:
    """PROOF(size1, D[size2]) of RFC 9162 §2.1.4.1 (empty when the sizes are equal)."""
    if not 0 < size1 <= size2:
        raise ValueError(f"no consistency proof from {size1} to {size2} leaves")
    proof: list[bytes] = []
    start, end, m, whole = 0, size2, size1, True
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            proof.append(subtree_hash(source, start + k, end))
            end = start + k
        else:
            proof.append(subtree_hash(source, start, start + k))
            start, m, whole = start + k, m - k, False
    if not whole:
        proof.append(subtree_hash(source, start, end))
    proof.reverse()
    return proof


def _require_hashes(what: str, hashes: Iterable[bytes]) -> None:
    for position, value in enumerate(hashes):
        if len(value) != HASH_SIZE:
            raise ProofError(f"{what} {position} is {len(value)} bytes, not {HASH_SIZE}")


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root_hash: bytes
) -> None:
    """Check that `leaf` (a leaf hash) is leaf `index` of the tree of `size` with `root_hash`.

    RFC 9162 §2.1.3.2. Returns nothing on success; raises ProofError saying why otherwise.
    """
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of {size} leaves")
    _require_hashes("leaf hash", [leaf])
    _require_hashes("root hash", [root_hash])
    _require_hashes("proof element", proof)
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError("the proof has more elements than the tree has levels")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the proof is too short for the tree size")
    if r != root_hash:
        raise ProofError("the proof leads to a different root")


def verify_consistency(
    size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree of `size2` with `root2` extends the tree of `size1` with `root1`.

    RFC 9162 §2.1.4.2, plus the cases the RFC leaves to the caller: equal sizes need an empty
    proof and equal roots (and the empty tree's root is SHA-256 of nothing); a proof from the
    empty tree proves nothing. Raises ProofError saying why on failure.
    """
    if not 0 <= size1 <= size2:
        raise ProofError(f"size {size1} cannot grow into size {size2}")
    if size1 == size2:
        if proof:
            raise ProofError("equal sizes need an empty proof")
        if size1 == 0 and root1 != EMPTY_ROOT:
            raise ProofError("the empty tree's root is SHA-256 of nothing")
        if root1 != root2:
            raise ProofError("equal sizes but different roots")
        return
    if size1 == 0:
        raise ProofError("a consistency proof from the empty tree proves nothing")
    if not proof:
        raise ProofError("the proof is empty")
    _require_hashes("root hash", [root1, root2])
    _require_hashes("proof element", proof)
    path = [root1, *proof] if _is_power_of_two(size1) else list(proof)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("the proof has more elements than the trees need")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the proof is too short for the tree sizes")
    if fr != root1:
        raise ProofError("the proof does not lead to the first root")
    if sr != root2:
        raise ProofError("the proof does not lead to the second root")


class Frontier:
    """The perfect subtrees a tree of `size` leaves is made of, largest first: all appends need.

    A tree of n leaves is the perfect subtrees of n's binary digits, left to right; its root folds
    them from the right. Appending a leaf merges equal-sized subtrees, completing interior nodes.
    """

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if size < 0 or len(hashes) != size.bit_count():
            raise ValueError(f"a tree of {size} leaves has {size.bit_count()} frontier hashes")
        self.size = size
        self.hashes = list(hashes)

    @staticmethod
    def positions(size: int) -> list[tuple[int, int]]:
        """(level, index) of the perfect subtrees that make up a tree of `size`, largest first."""
        found: list[tuple[int, int]] = []
        start = 0
        for level in range(size.bit_length() - 1, -1, -1):
            if size >> level & 1:
                found.append((level, start >> level))
                start += 1 << level
        return found

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add a leaf hash; return the interior nodes it completes as (level, index, hash)."""
        completed: list[tuple[int, int, bytes]] = []
        position, level, value = self.size, 0, leaf
        while position >> level & 1:
            value = node_hash(self.hashes.pop(), value)
            level += 1
            completed.append((level, position >> level, value))
        self.hashes.append(value)
        self.size += 1
        return completed

    def root(self) -> bytes:
        """MTH of the leaves appended so far."""
        if not self.hashes:
            return EMPTY_ROOT
        value = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            value = node_hash(left, value)
        return value
