"""Transaction: read-your-writes overlay, merged scans, one atomic commit; length-prefixed keys."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from state.rocksdb import PartitionStore
from state.transaction import Transaction, length_prefixed, prefix_end


def test_reads_see_pending_writes_before_commit(store: PartitionStore, tx: Transaction) -> None:
    store.write({b"a": b"old", b"gone": b"x"})
    tx.put(b"a", b"new")
    tx.delete(b"gone")
    tx.put(b"fresh", b"1")
    assert tx.get(b"a") == b"new"
    assert tx.get(b"gone") is None
    assert tx.get(b"fresh") == b"1"
    assert store.get(b"a") == b"old"  # nothing written yet
    assert store.get(b"fresh") is None


def test_get_many_reads_as_get_does(store: PartitionStore, tx: Transaction) -> None:
    store.write({b"a": b"old", b"gone": b"x", b"kept": b"k", b"sorted": b"s"})
    keys = [b"a", b"gone", b"kept", b"fresh", b"missing", b"sorted"]
    assert tx.get_many(keys) == [b"old", b"x", b"k", None, None, b"s"]
    tx.put(b"sorted", b"S")
    list(tx.scan_prefix(b"s"))  # moves the pending change into the sorted changes
    tx.put(b"a", b"new")
    tx.delete(b"gone")
    tx.update([(b"fresh", b"1"), (b"fresh", b"2")])  # the later change wins
    assert tx.get_many(keys) == [tx.get(key) for key in keys]
    assert tx.get_many(keys) == [b"new", None, b"k", b"2", None, b"S"]


def test_scan_merges_pending_changes_in_key_order(store: PartitionStore, tx: Transaction) -> None:
    store.write({b"p|1": b"a", b"p|3": b"c", b"p|5": b"e", b"q|1": b"other"})
    tx.put(b"p|2", b"b")
    tx.put(b"p|3", b"C")
    tx.delete(b"p|5")
    tx.put(b"q|0", b"outside")
    assert list(tx.scan_prefix(b"p|")) == [(b"p|1", b"a"), (b"p|2", b"b"), (b"p|3", b"C")]


def test_scan_without_pending_changes_reads_the_store(store: PartitionStore,
                                                      tx: Transaction) -> None:
    store.write({b"p|1": b"a", b"p|2": b"b"})
    tx.put(b"z", b"unrelated")
    assert list(tx.scan_prefix(b"p|")) == [(b"p|1", b"a"), (b"p|2", b"b")]


def test_delete_of_a_pending_put_hides_it(tx: Transaction) -> None:
    tx.put(b"p|1", b"a")
    tx.delete(b"p|1")
    assert tx.get(b"p|1") is None
    assert list(tx.scan_prefix(b"p|")) == []


def test_commit_writes_changes_and_offset_then_starts_empty(store: PartitionStore,
                                                            tx: Transaction) -> None:
    store.write({b"gone": b"x"})
    tx.put(b"a", b"1")
    tx.delete(b"gone")
    tx.commit(12)
    assert store.get(b"a") == b"1"
    assert store.get(b"gone") is None
    assert store.offset() == 12
    assert tx.get(b"a") == b"1" and not tx.changes


def test_uncommitted_changes_never_reach_the_store(store: PartitionStore) -> None:
    tx = Transaction(store)
    tx.put(b"a", b"1")
    del tx
    assert store.get(b"a") is None
    assert store.offset() == -1


def test_prefix_end_is_above_every_extension() -> None:
    prefix = b"trace|c|"
    end = prefix_end(prefix)
    for key in (prefix, prefix + b"a", prefix + "é".encode() * 4, prefix + b"\x7f\x7f"):
        assert prefix <= key < end


def test_length_prefixed_names_are_never_prefixes_of_each_other() -> None:
    names = ["a", "a|b", "ab", "a|", "", "b", "1:a", "ü"]
    keys = {name: length_prefixed(b"ns|", name) for name in names}
    for one in names:
        for other in names:
            if one != other:
                assert not keys[other].startswith(keys[one]), (one, other)


def test_length_prefixed_scans_do_not_cross_names(tx: Transaction) -> None:
    for name in ("a", "a|b", "ab"):
        tx.put(length_prefixed(b"ns|", name) + b"000000", name.encode())
    tx.commit()
    for name in ("a", "a|b", "ab"):
        assert [v for _, v in tx.scan_prefix(length_prefixed(b"ns|", name))] == [name.encode()]


_KEYS = st.sampled_from([b"a", b"a|1", b"a|2", b"b", b"b|1", b"c"])
_OPS = st.lists(st.one_of(
    st.tuples(st.just("put"), _KEYS, st.binary(min_size=1, max_size=3)),
    st.tuples(st.just("delete"), _KEYS, st.none()),
    st.tuples(st.just("scan"), _KEYS, st.none()),
    st.tuples(st.just("get"), _KEYS, st.none()),
    st.tuples(st.just("commit"), _KEYS, st.none()),
), max_size=40)


@settings(max_examples=150, deadline=None)
@given(_OPS)
def test_behaves_like_a_dict_over_the_store(tmp_path_factory: pytest.TempPathFactory,
                                            ops: list[tuple[str, bytes, bytes | None]]) -> None:
    """Any mix of puts, deletes, reads, scans and commits reads like one dict."""
    store = PartitionStore(tmp_path_factory.mktemp("tx") / "s")
    try:
        tx, model = Transaction(store), {}
        for op, key, value in ops:
            if op == "put":
                assert value is not None
                tx.put(key, value)
                model[key] = value
            elif op == "delete":
                tx.delete(key)
                model.pop(key, None)
            elif op == "get":
                assert tx.get(key) == model.get(key)
            elif op == "scan":
                assert list(tx.scan(key, prefix_end(key))) == sorted(
                    (k, v) for k, v in model.items() if key <= k < prefix_end(key))
            else:
                tx.commit(0)
                assert dict(store.scan(b"a", b"\xff")) == model  # from b"a": not the offset
    finally:
        store.close()
