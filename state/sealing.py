"""Sealing captured payloads with per-epoch keys that exist only in memory.

Deleting a closed window's captures from RocksDB leaves their bytes in SST
and WAL files until compaction rewrites them, so a copy of the data directory
would still hold personal data long after its window closed. Instead every
stored capture batch is encrypted (AES-256-GCM) with the key of its window's
*epoch*: windows are grouped by close time into epochs of `epoch_ms`, and an
epoch's key is dropped as soon as the partition's watermark has closed every
window of that epoch. Keys are never written anywhere, so what is on disk is
ciphertext only, and a closed window's ciphertext has no key left to open it
(crypto-shredding): unrecoverable from the data directory before compaction.

The price: a crash or restart forgets every key, so the captures of windows
still open then cannot be read afterwards (`unseal` returns None); the probe
join counts them as lost. Sampling already tolerates losing a few traces.

A sealed record is `key id (8) | captures (4) | nonce (12) | ciphertext+tag`.
The key id names the key (random per key, so a key made after a restart never
opens an older record); the capture count is in the clear (a count, no value)
so that lost captures can be counted; both are authenticated with the
caller's associated data (the record's store key, so a record cannot be
moved to another trace).

>>> keys = EpochKeys(epoch_ms=1000)
>>> sealed = keys.seal(close_at=1500, plaintext=b"secret", count=1, aad=b"k")
>>> b"secret" in sealed, keys.unseal(sealed, b"k")
(False, b'secret')
>>> keys.forget_closed(watermark=1999), keys.unseal(sealed, b"k")
(1, None)
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_KID = 8
_COUNT = 4
_NONCE = 12
_HEADER = _KID + _COUNT + _NONCE
#: Bytes a sealed record adds in front of the ciphertext (plus a 16-byte tag after).
HEADER_BYTES = _HEADER
#: A nonce is a counter per key; a key is forgotten long before this.
_MAX_NONCE = 1 << 64


class _EpochKey:
    """One epoch's cipher and the nonce counter that goes with it (never reused)."""

    __slots__ = ("aead", "epoch", "kid", "nonces")

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch
        self.kid = os.urandom(_KID)
        self.aead = AESGCM(AESGCM.generate_key(bit_length=256))
        self.nonces = 0


class EpochKeys:
    """The in-memory keys of one partition's open window epochs."""

    def __init__(self, epoch_ms: int) -> None:
        if epoch_ms <= 0:
            raise ValueError("epoch_ms must be positive")
        self.epoch_ms = epoch_ms
        self._by_epoch: dict[int, _EpochKey] = {}
        self._by_kid: dict[bytes, _EpochKey] = {}

    def __len__(self) -> int:
        """How many keys are held (one per epoch with an open window)."""
        return len(self._by_epoch)

    def seal(self, close_at: int, plaintext: bytes, count: int, aad: bytes) -> bytes:
        """Encrypt `count` captures of a window closing at `close_at`."""
        epoch = close_at // self.epoch_ms
        key = self._by_epoch.get(epoch)
        if key is None:
            key = _EpochKey(epoch)
            self._by_epoch[epoch] = key
            self._by_kid[key.kid] = key
        if key.nonces >= _MAX_NONCE:
            raise OverflowError("nonce space of an epoch key exhausted")
        nonce = key.nonces.to_bytes(_NONCE, "big")
        key.nonces += 1
        header = key.kid + count.to_bytes(_COUNT, "big") + nonce
        return header + key.aead.encrypt(nonce, plaintext, aad + header)

    def unseal(self, sealed: bytes, aad: bytes) -> bytes | None:
        """The plaintext, or None when its key is gone (forgotten, or made before a restart)."""
        key = self._by_kid.get(sealed[:_KID])
        if key is None:
            return None
        header = sealed[:_HEADER]
        try:
            return key.aead.decrypt(header[_KID + _COUNT:], sealed[_HEADER:], aad + header)
        except InvalidTag:
            return None

    def forget_closed(self, watermark: int) -> int:
        """Drop the keys of epochs whose every window closed at `watermark`; return how many.

        A window closes once its close time is at or below the watermark, so
        epoch E (close times in [E*epoch_ms, (E+1)*epoch_ms)) is all closed when
        E < (watermark + 1) // epoch_ms. No window opened later can fall in
        it: a window that is not late closes after the watermark.
        """
        first_open = (watermark + 1) // self.epoch_ms
        done = [epoch for epoch in self._by_epoch if epoch < first_open]
        for epoch in done:
            key = self._by_epoch.pop(epoch)
            del self._by_kid[key.kid]
        return len(done)


def sealed_count(sealed: bytes) -> int:
    """How many captures a sealed record holds (readable without its key)."""
    return int.from_bytes(sealed[_KID:_KID + _COUNT], "big")


class Keyrings:
    """One `EpochKeys` per partition store, living as long as the store object.

    Keyed by the store object itself (weakly): a store reopened after a
    restart is a new object, and gets new keys, as it must.
    """

    def __init__(self, epoch_ms: int, make: Callable[[int], EpochKeys] = EpochKeys) -> None:
        """`make` builds the keys of a new store from `epoch_ms` (a benchmark swaps it)."""
        self.epoch_ms = epoch_ms
        self._make = make
        self._keys: weakref.WeakKeyDictionary[object, EpochKeys] = weakref.WeakKeyDictionary()

    def of(self, store: object) -> EpochKeys:
        keys = self._keys.get(store)
        if keys is None:
            keys = self._make(self.epoch_ms)
            self._keys[store] = keys
        return keys

    def held(self) -> int:
        """Keys held over every store (for the metrics)."""
        return sum(len(keys) for keys in self._keys.values())
