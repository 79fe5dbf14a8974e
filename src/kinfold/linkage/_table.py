"""Encoded tables and their file format.

An encoded table is what a partner sends for linkage: record ids (the partner's own references) and,
per record, keyed Bloom filters for the fuzzy fields, keyed tokens for reference numbers, nickname
groups and the household address, and keyed blocking keys. Nothing in it can be read back as a name,
date or address without the linkage secret.

File format (``.kfe``): a ZIP archive of NumPy ``.npy`` arrays (``numpy.savez``; read with
``numpy.load(allow_pickle=False)``, never pickle):

- ``header``: UTF-8 JSON as uint8 — format name and version, source, key id, settings fingerprint,
  record count, filter lengths per field, token names, blocking pass names, hardening and salt;
- ``ids`` (uint8, UTF-8 bytes of every record id end to end) and ``id_offsets`` (int64, n + 1);
- ``filter.<field>``: uint64 (n, bits / 64) — bit ``p`` is bit ``p % 64`` of word ``p // 64``; an
  all-zero row means the field was missing;
- ``token.<name>``: uint64 (n,) or (n, k) — 0 means missing;
- ``blocking``: uint64 (n, passes) — 0 means the record has no key for that pass.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from kinfold.errors import InputError

FORMAT: Final = "kinfold-encoded"
VERSION: Final = 1
U64 = NDArray[np.uint64]


@dataclass(frozen=True)
class TableHeader:
    """What a reader needs to know to compare tables; nothing about any person."""

    source: str
    key_id: str
    fingerprint: str
    field_bits: Mapping[str, int]
    blocking: tuple[str, ...]
    hardening: str = "none"
    salt: str = "none"

    def comparable_with(self, other: TableHeader) -> str | None:
        """Why two tables cannot be compared, or None if they can."""
        if self.key_id != other.key_id:
            return "they were encoded with different linkage secrets"
        if self.fingerprint != other.fingerprint:
            return "they were encoded with different settings"
        return None


@dataclass(frozen=True)
class EncodedTable:
    """One source's encoded records. Rows line up across every array."""

    header: TableHeader
    record_ids: NDArray[np.str_]
    filters: Mapping[str, U64]
    tokens: Mapping[str, U64]
    blocking: U64
    _popcounts: dict[str, NDArray[np.int32]] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return int(self.record_ids.shape[0])

    @property
    def source(self) -> str:
        """The source (partner) this table came from."""
        return self.header.source

    def popcount(self, name: str) -> NDArray[np.int32]:
        """Bits set in each record's ``name`` filter (0: the field is missing); cached."""
        found = self._popcounts.get(name)
        if found is None:
            found = np.bitwise_count(self.filters[name]).sum(axis=1, dtype=np.int32)
            self._popcounts[name] = found
        return found

    def take(
        self, rows: NDArray[np.intp] | Sequence[int], source: str | None = None
    ) -> EncodedTable:
        """The table's records at ``rows`` (in that order)."""
        index = np.asarray(rows, dtype=np.intp)
        header = self.header
        if source is not None:
            header = TableHeader(**{**header.__dict__, "source": source})
        return EncodedTable(
            header,
            self.record_ids[index],
            {k: v[index] for k, v in self.filters.items()},
            {k: v[index] for k, v in self.tokens.items()},
            self.blocking[index],
        )

    def write(self, path: str | Path) -> None:
        """Write to ``path`` atomically (a partial file never appears under that name)."""
        path = Path(path)
        handle, temporary = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(self.to_bytes())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def to_bytes(self) -> bytes:
        """The table in the ``.kfe`` file format."""
        ids = [i.encode() for i in self.record_ids.tolist()]
        offsets = np.zeros(len(ids) + 1, dtype=np.int64)
        np.cumsum([len(i) for i in ids], out=offsets[1:])
        arrays: dict[str, NDArray[Any]] = {
            "header": np.frombuffer(json.dumps(self._header_json()).encode(), dtype=np.uint8),
            "ids": np.frombuffer(b"".join(ids), dtype=np.uint8),
            "id_offsets": offsets,
            "blocking": self.blocking,
        }
        arrays.update({f"filter.{k}": v for k, v in self.filters.items()})
        arrays.update({f"token.{k}": v for k, v in self.tokens.items()})
        buffer = io.BytesIO()
        np.savez(buffer, allow_pickle=False, **arrays)
        return buffer.getvalue()

    def _header_json(self) -> dict[str, Any]:
        h = self.header
        return {
            "format": FORMAT,
            "version": VERSION,
            "source": h.source,
            "key_id": h.key_id,
            "settings_fingerprint": h.fingerprint,
            "records": len(self),
            "fields": dict(h.field_bits),
            "tokens": sorted(self.tokens),
            "blocking": list(h.blocking),
            "hardening": h.hardening,
            "salt": h.salt,
        }

    @classmethod
    def read(cls, path: str | Path) -> EncodedTable:
        """Read a ``.kfe`` file; InputError naming the file if it is not one."""
        path = Path(path)
        try:
            data = path.read_bytes()
        except FileNotFoundError as exc:
            raise InputError("file not found", file=path) from exc
        return cls.from_bytes(data, where=path)

    @classmethod
    def from_bytes(cls, data: bytes, where: str | Path | None = None) -> EncodedTable:
        """Parse the ``.kfe`` format."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
            meta = json.loads(arrays["header"].tobytes().decode())
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, UnicodeDecodeError) as exc:
            raise InputError("is not a kinfold encoded file (.kfe)", file=where) from exc
        if meta.get("format") != FORMAT or meta.get("version") != VERSION:
            raise InputError(f"is not a {FORMAT} file of version {VERSION}", file=where)
        blob, offsets = arrays["ids"].tobytes(), arrays["id_offsets"]
        ids = [blob[offsets[i] : offsets[i + 1]].decode() for i in range(len(offsets) - 1)]
        header = TableHeader(
            source=meta["source"],
            key_id=meta["key_id"],
            fingerprint=meta["settings_fingerprint"],
            field_bits=meta["fields"],
            blocking=tuple(meta["blocking"]),
            hardening=meta.get("hardening", "none"),
            salt=meta.get("salt", "none"),
        )
        return cls(
            header,
            np.asarray(ids, dtype=np.str_),
            {k[7:]: arrays[k] for k in arrays if k.startswith("filter.")},
            {k[6:]: arrays[k] for k in arrays if k.startswith("token.")},
            arrays["blocking"],
        )


def concatenate(tables: Sequence[EncodedTable], source: str = "") -> EncodedTable:
    """One table holding every record of ``tables`` in order (they must be comparable)."""
    if not tables:
        raise ValueError("nothing to concatenate")
    first = tables[0].header
    for table in tables[1:]:
        reason = first.comparable_with(table.header)
        if reason:
            raise InputError(f"cannot combine {table.source!r} with {first.source!r}: {reason}")
    header = TableHeader(**{**first.__dict__, "source": source})
    return EncodedTable(
        header,
        np.concatenate([t.record_ids for t in tables]),
        {k: np.concatenate([t.filters[k] for t in tables]) for k in first.field_bits},
        {k: np.concatenate([_token(t, k) for t in tables]) for k in tables[0].tokens},
        np.concatenate([t.blocking for t in tables]),
    )


def _token(table: EncodedTable, name: str) -> U64:
    """A table's token column, or zeros (missing) if it was encoded before that token existed."""
    found = table.tokens.get(name)
    if found is not None:
        return found
    return np.zeros(len(table), dtype=np.uint64)
