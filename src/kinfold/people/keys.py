"""Data keys: made, unwrapped and destroyed here only (envelope encryption, crypto-shredding)."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from kinfold import crypto, keystore
from kinfold.people.models import DataKey


class KeyDestroyed(crypto.DecryptionError):
    """The data key was destroyed (erasure): what it protected cannot be read, ever."""


def new_key() -> tuple[DataKey, bytes]:
    """A fresh data key, saved wrapped; returns the row and the clear key for immediate use."""
    clear = crypto.new_data_key()
    key = DataKey()
    key.wrapped = _wrap(clear, str(key.id))
    key.save()
    return key, clear


def _wrap(clear: bytes, key_id: str) -> bytes:
    # Under the key store's current epoch when there is one (kinfold.keystore: erasure is then
    # final even against restored backups), otherwise directly under the master key.
    if keystore.enabled():
        return keystore.wrap(clear, key_id)
    return crypto.wrap_key(settings.KEYS.vault_master_key, clear, key_id)


def unwrap(key: DataKey) -> bytes:
    if key.destroyed_at is not None or not key.wrapped:
        raise KeyDestroyed(f"data key {key.id} was destroyed: {key.destroyed_reason}")
    wrapped = bytes(key.wrapped)
    if keystore.epoch_of(wrapped) is not None:
        try:
            return keystore.unwrap(wrapped, str(key.id))
        except keystore.EpochDestroyed as exc:
            raise KeyDestroyed(f"data key {key.id}: {exc}") from exc
    return crypto.unwrap_key(settings.KEYS.vault_master_key, wrapped, str(key.id))


def rewrap(key: DataKey) -> bool:
    """Re-wrap a live data key under the key store's current epoch; False if already there."""
    wrapped = bytes(key.wrapped)
    if not wrapped or key.destroyed_at is not None:
        return False
    number, _ = keystore.current()
    if keystore.epoch_of(wrapped) == number:
        return False
    clear = unwrap(key)
    DataKey.objects.filter(pk=key.pk).update(wrapped=_wrap(clear, str(key.id)))
    return True


def destroy(key: DataKey, reason: str) -> None:
    """Overwrite the wrapped key so nothing sealed under it can be opened again."""
    DataKey.objects.filter(pk=key.pk).update(
        wrapped=b"", destroyed_at=timezone.now(), destroyed_reason=reason[:200]
    )
    key.refresh_from_db()
