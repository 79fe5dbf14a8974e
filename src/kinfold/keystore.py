"""Key-encryption epochs: the small key store, outside the database, that makes erasure final.

Data keys (one per person, one per family) are wrapped by an *epoch key*; epoch keys are kept in a
small JSON file outside the database (setting ``KINFOLD_KEYSTORE_FILE``), themselves wrapped by the
hub's master key. After a retention run erases anyone, it starts a new epoch, re-wraps every
surviving data key under it and destroys the old epoch keys. A database backup taken before the
run holds data keys wrapped under an epoch that no longer exists, so restoring it cannot bring an
erased person back: the master key alone no longer opens anything in it (docs/rights.md,
docs/adr/ for the reasoning).

The file must never be restored from an older copy (that would resurrect destroyed epochs): keep
it with the keys, in key escrow, not with the database backups. Without the setting (the test
suite's default) data keys are wrapped directly by the master key, as before.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings

from kinfold import crypto

FORMAT = "kinfold-keystore/v1"
#: Marks a wrapped data key as wrapped by an epoch key: magic, then the epoch number (4 bytes).
MAGIC = b"\x00KE1"
HEADER_BYTES = len(MAGIC) + 4


class EpochDestroyed(crypto.DecryptionError):
    """The epoch key that wrapped a data key was destroyed: the data key can never be opened."""


def path() -> Path | None:
    """The key store's file, or None when epochs are not in use."""
    value = getattr(settings, "KINFOLD_KEYSTORE_FILE", None)
    return Path(value) if value else None


def enabled() -> bool:
    return path() is not None


def _wrap_epoch(number: int, key: bytes) -> str:
    return base64.b64encode(
        crypto.wrap_key(settings.KEYS.vault_master_key, key, f"epoch:{number}")
    ).decode()


def _unwrap_epoch(number: int, wrapped: str) -> bytes:
    return crypto.unwrap_key(
        settings.KEYS.vault_master_key, base64.b64decode(wrapped), f"epoch:{number}"
    )


@contextlib.contextmanager
def _locked(file: Path) -> Iterator[None]:
    file.parent.mkdir(parents=True, exist_ok=True)
    lock = file.with_name(file.name + ".lock")
    with open(lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _read(file: Path) -> dict[str, object]:
    if not file.exists():
        return {"format": FORMAT, "current": 0, "epochs": {}, "destroyed": []}
    data: dict[str, object] = json.loads(file.read_text())
    if data.get("format") != FORMAT:
        raise crypto.DecryptionError(f"{file}: not a kinfold key store")
    return data


def _write(file: Path, data: dict[str, object]) -> None:
    """Replace the file atomically (write, fsync, rename), readable by the owner only."""
    tmp = file.with_name(file.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(json.dumps(data, indent=2, sort_keys=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, file)


def _epochs(data: dict[str, object]) -> dict[str, str]:
    epochs = data["epochs"]
    assert isinstance(epochs, dict)
    return epochs


def current() -> tuple[int, bytes]:
    """The current epoch's number and key, starting epoch 1 if the store is new."""
    file = path()
    if file is None:
        raise RuntimeError("no key store configured (KINFOLD_KEYSTORE_FILE)")
    data = _read(file)
    number = int(str(data["current"]))
    if number == 0:
        with _locked(file):
            data = _read(file)
            number = int(str(data["current"]))
            if number == 0:
                number = 1
                _epochs(data)["1"] = _wrap_epoch(1, crypto.new_data_key())
                data["current"] = 1
                _write(file, data)
    return number, _unwrap_epoch(number, _epochs(data)[str(number)])


def epoch_key(number: int) -> bytes:
    """The key of epoch `number`; EpochDestroyed if it was destroyed (or never existed)."""
    file = path()
    wrapped = _epochs(_read(file)).get(str(number)) if file is not None else None
    if wrapped is None:
        raise EpochDestroyed(f"key epoch {number} was destroyed; what it wrapped is erased")
    return _unwrap_epoch(number, wrapped)


def start_epoch() -> int:
    """Begin a new epoch (new data keys are wrapped under it from now on); returns its number."""
    file = path()
    if file is None:
        raise RuntimeError("no key store configured (KINFOLD_KEYSTORE_FILE)")
    current()  # make sure epoch 1 exists
    with _locked(file):
        data = _read(file)
        number = int(str(data["current"])) + 1
        _epochs(data)[str(number)] = _wrap_epoch(number, crypto.new_data_key())
        data["current"] = number
        _write(file, data)
    return number


def destroy_before(number: int) -> list[int]:
    """Destroy every epoch key older than `number`; returns the epochs destroyed."""
    file = path()
    if file is None:
        return []
    with _locked(file):
        data = _read(file)
        epochs = _epochs(data)
        gone = sorted(int(n) for n in epochs if int(n) < number)
        for n in gone:
            del epochs[str(n)]
        destroyed = data.get("destroyed", [])
        assert isinstance(destroyed, list)
        data["destroyed"] = sorted(set(destroyed) | set(gone))
        _write(file, data)
    return gone


def wrap(clear: bytes, key_id: str) -> bytes:
    """A data key wrapped under the current epoch (header + AES-GCM blob)."""
    number, kek = current()
    return MAGIC + number.to_bytes(4, "big") + crypto.wrap_key(kek, clear, key_id)


def epoch_of(wrapped: bytes) -> int | None:
    """The epoch a wrapped data key belongs to, or None if the master key wrapped it directly."""
    if len(wrapped) > HEADER_BYTES + crypto.NONCE_BYTES and wrapped.startswith(MAGIC):
        return int.from_bytes(wrapped[len(MAGIC) : HEADER_BYTES], "big")
    return None


def unwrap(wrapped: bytes, key_id: str) -> bytes:
    """Open a data key wrapped by `wrap`."""
    number = epoch_of(wrapped)
    if number is None:
        raise crypto.DecryptionError("not an epoch-wrapped data key")
    return crypto.unwrap_key(epoch_key(number), wrapped[HEADER_BYTES:], key_id)
