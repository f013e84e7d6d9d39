"""EpochKeys: per-epoch AES-GCM keys held in memory, forgotten when the epoch closes."""

from __future__ import annotations

import doctest

import pytest

from state import sealing
from state.sealing import EpochKeys, Keyrings, sealed_count


def test_doctests() -> None:
    assert doctest.testmod(sealing).failed == 0


def test_sealed_records_hide_the_value_and_differ_each_time() -> None:
    keys = EpochKeys(epoch_ms=100)
    one = keys.seal(150, b"Home, 123 Main St", count=3, aad=b"k")
    two = keys.seal(150, b"Home, 123 Main St", count=3, aad=b"k")
    assert b"Main St" not in one and one != two  # a fresh nonce per record
    assert one[:8] == two[:8]  # same epoch, same key
    assert keys.unseal(one, b"k") == keys.unseal(two, b"k") == b"Home, 123 Main St"
    assert sealed_count(one) == 3


def test_a_tampered_record_or_the_wrong_associated_data_does_not_open() -> None:
    keys = EpochKeys(epoch_ms=100)
    sealed = keys.seal(150, b"value", count=1, aad=b"trace-a")
    assert keys.unseal(sealed, b"trace-b") is None
    flipped = bytearray(sealed)
    flipped[-1] ^= 1
    assert keys.unseal(bytes(flipped), b"trace-a") is None
    recounted = bytearray(sealed)
    recounted[11] ^= 1  # the clear capture count is authenticated too
    assert keys.unseal(bytes(recounted), b"trace-a") is None


@pytest.mark.parametrize(("watermark", "forgotten"), [(198, 0), (199, 1), (299, 2)])
def test_an_epoch_is_forgotten_once_its_last_possible_window_closed(
    watermark: int, forgotten: int,
) -> None:
    keys = EpochKeys(epoch_ms=100)
    first = keys.seal(100, b"a", count=1, aad=b"")  # epoch 1: closes 100..199
    second = keys.seal(299, b"b", count=1, aad=b"")  # epoch 2: closes 200..299
    assert keys.forget_closed(watermark) == forgotten
    assert len(keys) == 2 - forgotten
    assert (keys.unseal(first, b"") is None) == (forgotten >= 1)
    assert (keys.unseal(second, b"") is None) == (forgotten >= 2)


def test_new_keys_for_the_same_epoch_never_open_records_of_the_old_ones() -> None:
    before = EpochKeys(epoch_ms=100).seal(150, b"value", count=1, aad=b"")
    assert EpochKeys(epoch_ms=100).unseal(before, b"") is None


def test_keyrings_keep_one_set_of_keys_per_store_object() -> None:
    class Store:
        pass

    rings = Keyrings(epoch_ms=100)
    a, b = Store(), Store()
    assert rings.of(a) is rings.of(a)
    assert rings.of(a) is not rings.of(b)
    rings.of(a).seal(150, b"x", count=1, aad=b"")
    assert rings.held() == 1
    del a
    assert rings.held() == 0
