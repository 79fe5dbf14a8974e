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
