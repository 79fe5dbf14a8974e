"""Data keys: made, unwrapped and destroyed here only (envelope encryption, crypto-shredding)."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from kinfold import crypto
from kinfold.people.models import DataKey


class KeyDestroyed(crypto.DecryptionError):
    """The data key was destroyed (erasure): what it protected cannot be read, ever."""


def new_key() -> tuple[DataKey, bytes]:
    """A fresh data key, saved wrapped; returns the row and the clear key for immediate use."""
    clear = crypto.new_data_key()
    key = DataKey()
    key.wrapped = crypto.wrap_key(settings.KEYS.vault_master_key, clear, str(key.id))
    key.save()
    return key, clear


def unwrap(key: DataKey) -> bytes:
    if key.destroyed_at is not None or not key.wrapped:
        raise KeyDestroyed(f"data key {key.id} was destroyed: {key.destroyed_reason}")
    return crypto.unwrap_key(settings.KEYS.vault_master_key, bytes(key.wrapped), str(key.id))


def destroy(key: DataKey, reason: str) -> None:
    """Overwrite the wrapped key so nothing sealed under it can be opened again."""
    DataKey.objects.filter(pk=key.pk).update(
        wrapped=b"", destroyed_at=timezone.now(), destroyed_reason=reason[:200]
    )
    key.refresh_from_db()
