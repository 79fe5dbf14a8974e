"""Keyed Bloom filters: each q-gram of a value sets `hashes` bits chosen by HMAC-SHA256.

A filter is held as a row of little-endian 64-bit words: bit ``p`` is bit ``p % 64`` of word
``p // 64``. Positions come from independent 32-bit slices of HMAC digests under the field's own key
("random hashing", not double hashing, which leaks more to pattern-mining attacks).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Sequence

import numpy as np
from numpy.typing import NDArray

from kinfold.linkage._keys import derive, seed
from kinfold.linkage._settings import FieldSettings

Words = NDArray[np.uint64]
#: Values turned into letter-pair filters at once (bounds the memory of one step).
_BIGRAM_BATCH = 8192


class FieldFilter:
    """Builds one field's keyed filters; caches each q-gram's bit mask (names repeat a lot)."""

    def __init__(
        self,
        secret: bytes,
        field: str,
        settings: FieldSettings,
        hardening: str,
        key_domain: str | None = None,
    ) -> None:
        self.field = field
        self.bits = settings.bits
        self.hashes = settings.hashes
        self.hardening = hardening
        self._key = derive(secret, f"field/{key_domain or field}")
        self._permutation_key = derive(secret, f"balance/{key_domain or field}")
        self._masks: dict[str, int] = {}

    @property
    def encoded_bits(self) -> int:
        """Length of the filters this field produces after hardening."""
        if self.hardening == "balance":
            return 2 * self.bits
        if self.hardening == "xor-fold":
            return self.bits // 2
        return self.bits

    def mask(self, grams: Iterable[str], prefix: str = "") -> int:
        """The filter of a set of q-grams/tokens (each keyed with ``prefix``, the record's salt),
        as an integer bit mask."""
        value = 0
        masks = self._masks
        for gram in grams:
            found = masks.get(prefix + gram)
            if found is None:
                found = masks[prefix + gram] = self._gram_mask(prefix + gram)
            value |= found
        return value

    def _gram_mask(self, gram: str) -> int:
        value, counter, data = 0, 0, gram.encode()
        positions: list[int] = []
        while len(positions) < self.hashes:
            digest = hmac.digest(self._key, data + b"\x00" + bytes([counter]), "sha256")
            positions.extend(
                int.from_bytes(digest[i : i + 4], "little") % self.bits for i in range(0, 32, 4)
            )
            counter += 1
        for position in positions[: self.hashes]:
            value |= 1 << position
        return value

    def bigram_rows(self, values: Sequence[str]) -> Words:
        """The filters of many non-empty values' padded letter pairs at once (what
        ``rows([mask(qgrams(v, 2)) for v in values])`` gives, without a Python step per letter
        pair): the values as arrays of code points, each pair's filter looked up once per distinct
        pair and OR-ed together with ``np.bitwise_or.reduceat``."""
        words = self.bits // 64
        out = np.zeros((len(values), words), dtype=np.uint64)
        for start in range(0, len(values), _BIGRAM_BATCH):
            part = values[start : start + _BIGRAM_BATCH]
            padded = np.array(["\x02" + v + "\x03" for v in part])
            codes = padded.view(np.uint32).reshape(len(part), -1).astype(np.uint64)
            real = codes[:, 1:] != 0  # a value shorter than the longest is padded with 0
            distinct, which = _distinct_pairs(codes[:, :-1][real], codes[:, 1:][real])
            table = self._pair_rows(distinct.tolist())
            starts = np.r_[0, np.cumsum(real.sum(axis=1))[:-1]]
            out[start : start + len(part)] = np.bitwise_or.reduceat(table[which], starts, axis=0)
        return self._harden(out)

    def _pair_rows(self, pairs: list[int]) -> Words:
        """The filter (as words) of each letter pair, given as ``first << 32 | second``."""
        width = self.bits // 8
        masks = []
        for pair in pairs:
            gram = chr(pair >> 32) + chr(pair & 0xFFFFFFFF)
            found = self._masks.get(gram)
            if found is None:
                found = self._masks[gram] = self._gram_mask(gram)
            masks.append(found.to_bytes(width, "little"))
        table: Words = np.frombuffer(b"".join(masks), dtype="<u8").reshape(len(pairs), -1)
        return table.astype(np.uint64)

    def rows(self, masks: Sequence[int]) -> Words:
        """Pack integer masks into an (n, words) uint64 array, hardened as the settings say."""
        width = self.bits // 8
        blob = b"".join(m.to_bytes(width, "little") for m in masks)
        plain = np.frombuffer(blob, dtype="<u8").reshape(len(masks), self.bits // 64)
        return self._harden(plain.astype(np.uint64))

    def _harden(self, rows: Words) -> Words:
        if self.hardening == "xor-fold":
            half = rows.shape[1] // 2
            return np.ascontiguousarray(rows[:, :half] ^ rows[:, half:])
        if self.hardening == "balance":
            return self._balance(rows)
        return rows

    def _balance(self, rows: Words) -> Words:
        """Filter + complement, bits shuffled by a keyed permutation: every row half full."""
        bits = np.unpackbits(rows.view(np.uint8), axis=1, bitorder="little")
        both = np.concatenate([bits, 1 - bits], axis=1)
        order = np.random.Generator(np.random.PCG64(seed(self._permutation_key)))
        shuffled = both[:, order.permutation(both.shape[1])]
        packed = np.packbits(shuffled, axis=1, bitorder="little")
        return np.ascontiguousarray(packed).view("<u8").astype(np.uint64)


def _distinct_pairs(
    first: NDArray[np.uint64], second: NDArray[np.uint64]
) -> tuple[NDArray[np.uint64], NDArray[np.intp]]:
    """The distinct letter pairs (``first << 32 | second``) and where each pair is among them.
    Normalised text is nearly always ASCII: then a table of all 65,536 byte pairs does it in one
    pass, without sorting."""
    if len(first) and int(first.max()) < 256 and int(second.max()) < 256:
        key = (first << np.uint64(8)) | second
        seen = np.zeros(65536, dtype=np.bool_)
        seen[key] = True
        codes = np.flatnonzero(seen).astype(np.uint64)
        number = np.cumsum(seen) - 1
        which: NDArray[np.intp] = number[key].astype(np.intp)
        distinct = ((codes >> np.uint64(8)) << np.uint64(32)) | (codes & np.uint64(255))
        return distinct, which
    distinct, where = np.unique((first << np.uint64(32)) | second, return_inverse=True)
    return distinct, where.astype(np.intp)


def qgrams(text: str, q: int, pad: bool = True) -> list[str]:
    """The q-grams of ``text``, padded with start and end marks so ends count as much as middles."""
    if not text:
        return []
    if pad and q > 1:
        text = "\x02" * (q - 1) + text + "\x03" * (q - 1)
    if len(text) <= q:
        return [text]
    return [text[i : i + q] for i in range(len(text) - q + 1)]


def popcount(rows: Words) -> NDArray[np.int32]:
    """Number of set bits in each row."""
    counts: NDArray[np.int32] = np.bitwise_count(rows).sum(axis=1, dtype=np.int32)
    return counts
