"""bench_pipeline's choice of Kafka clients per run."""

from __future__ import annotations

import argparse

import pytest

from loadtest.bench_pipeline import parse_clients


def test_client_pairs_in_order_the_first_the_baseline() -> None:
    assert parse_clients("aiokafka/aiokafka, confluent/aiokafka,confluent/confluent") == [
        ("aiokafka", "aiokafka", None), ("confluent", "aiokafka", None),
        ("confluent", "confluent", None)]
    assert parse_clients("aiokafka/aiokafka:objects,aiokafka/aiokafka:columns") == [
        ("aiokafka", "aiokafka", "objects"), ("aiokafka", "aiokafka", "columns")]


def test_records_other_than_columns_or_objects_are_refused() -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="columns or objects"):
        parse_clients("aiokafka/aiokafka:dicts")


@pytest.mark.parametrize("text", ["confluent", "confluent/", "kafka/aiokafka", "aiokafka/x"])
def test_a_bad_pair_is_refused_by_name(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="expected PRODUCER/FETCH"):
        parse_clients(text)
