"""bench_pipeline's choice of Kafka clients per run."""

from __future__ import annotations

import argparse

import pytest

from loadtest.bench_pipeline import parse_clients


def test_client_pairs_in_order_the_first_the_baseline() -> None:
    assert parse_clients("aiokafka/aiokafka, confluent/aiokafka,confluent/confluent") == [
        ("aiokafka", "aiokafka"), ("confluent", "aiokafka"), ("confluent", "confluent")]


@pytest.mark.parametrize("text", ["confluent", "confluent/", "kafka/aiokafka", "aiokafka/x"])
def test_a_bad_pair_is_refused_by_name(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="expected PRODUCER/FETCH"):
        parse_clients(text)
