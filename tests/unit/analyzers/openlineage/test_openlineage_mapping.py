"""OpenLineage events -> flow signals: column lineage, SQL facet, table level, names."""

from __future__ import annotations

from typing import Any

import pytest

from analyzers.openlineage import (
    RunPart,
    SqlLineage,
    kind_of,
    merge_parts,
    reduce_event,
    run_signals,
)
from analyzers.openlineage.naming import dataset_asset, field_asset, split_asset
from analyzers.openlineage.transformations import kinds_of, transformation_of
from analyzers.signals import SQL_DIRECT, SQL_INDIRECT
from tests.openlineage_events import PRODUCER, WH, dataset, facet, job_event, ref, run_event, schema

S, T = f"{WH}/default.s", f"{WH}/default.t"


def signals(event: dict[str, Any], sql: SqlLineage | None = None) -> set[tuple[str, str, bool]]:
    part = reduce_event(event, kind_of(event))
    out = run_signals(part, sql or SqlLineage())
    assert all(s.origin == "openlineage" and s.producer == PRODUCER for s in out)
    return {(s.edge_id, s.kind, s.masking) for s in out}


def lineage_output(fields: dict[str, list[dict[str, Any]]], *, indirect: list[dict[str, Any]]
                   | None = None, columns: tuple[str, ...] = ()) -> dict[str, Any]:
    body: dict[str, Any] = {"fields": {t: {"inputFields": r} for t, r in fields.items()}}
    if indirect is not None:
        body["dataset"] = indirect
    facets: dict[str, Any] = {"columnLineage": facet(**body)}
    if columns:
        facets["schema"] = schema(*columns)
    return dataset("default.t", **facets)


def test_column_lineage_transformations_become_our_kinds() -> None:
    out = lineage_output({
        "a": [ref("default.s", "a")],
        "h": [ref("default.s", "email", "DIRECT", "TRANSFORMATION", masking=True)],
        "n": [ref("default.s", "id", "DIRECT", "AGGREGATION")],
    })
    assert signals(run_event(inputs=[dataset("default.s")], outputs=[out])) == {
        (f"{S}#a -> {T}#a", "IDENTITY", False),
        (f"{S}#email -> {T}#h", "TRANSFORMATION", True),
        (f"{S}#id -> {T}#n", "AGGREGATION", False),
    }


def test_dataset_wide_inputs_reach_every_output_field() -> None:
    out = lineage_output({"a": [ref("default.s", "a")]}, columns=("a", "b"),
                         indirect=[ref("default.s", "day", "INDIRECT", "FILTER")])
    assert signals(run_event(outputs=[out])) == {
        (f"{S}#a -> {T}#a", "IDENTITY", False),
        (f"{S}#day -> {T}#a", "FILTER", False),
        (f"{S}#day -> {T}#b", "FILTER", False),
    }


def test_dataset_wide_inputs_without_fields_reach_the_dataset() -> None:
    out = dataset("default.t", columnLineage=facet(
        fields={}, dataset=[ref("default.s", "day", "INDIRECT", "SORT")]))
    assert signals(run_event(outputs=[out])) == {(f"{S}#day -> {T}", "SORT", False)}


@pytest.mark.parametrize(("field", "legacy", "expected"), [
    ({"transformations": [{"type": "DIRECT", "subtype": s}]}, None, [(s, False)])
    for s in SQL_DIRECT
] + [
    ({"transformations": [{"type": "INDIRECT", "subtype": s}]}, None, [(s, False)])
    for s in SQL_INDIRECT
] + [
    ({"transformations": [{"type": "DIRECT", "subtype": "NEW_THING"}]}, None,
     [("TRANSFORMATION", False)]),
    ({"transformations": [{"type": "INDIRECT"}]}, None, [("FILTER", False)]),
    ({}, None, [("TRANSFORMATION", False)]),
    ({}, "IDENTITY", [("IDENTITY", False)]),
    ({}, "MASKED", [("TRANSFORMATION", True)]),
])
def test_transformation_table(field: dict[str, Any], legacy: str | None,
                              expected: list[tuple[str, bool]]) -> None:
    assert kinds_of(field, legacy) == expected


@pytest.mark.parametrize("kind", [*SQL_DIRECT, *SQL_INDIRECT])
def test_sql_kinds_survive_the_way_out_and_back(kind: str) -> None:
    assert kinds_of({"transformations": [transformation_of(kind, False)]}) == [(kind, False)]


def test_sql_facet_uses_the_schema_facets_for_star_and_positional_insert() -> None:
    pg = "postgres://db:5432"
    event = run_event(
        inputs=[dataset("shop.public.orders", pg, schema=schema("id", "email"))],
        outputs=[dataset("shop.public.copy", pg, schema=schema("order_id", "mail"))],
        sql="INSERT INTO public.copy SELECT * FROM public.orders")
    orders, copy = f"{pg}/shop.public.orders", f"{pg}/shop.public.copy"
    assert signals(event) == {
        (f"{orders}#id -> {copy}#order_id", "IDENTITY", False),
        (f"{orders}#email -> {copy}#mail", "IDENTITY", False),
    }


def test_the_sql_analysis_is_cached() -> None:
    sql = SqlLineage()
    event = run_event(inputs=[dataset("default.s", schema=schema("a"))],
                      outputs=[dataset("default.t", schema=schema("a"))],
                      sql="INSERT INTO t SELECT a FROM s")
    assert signals(event, sql) == signals(event, sql) == {(f"{S}#a -> {T}#a", "IDENTITY", False)}
    assert sql.hits == 1


def test_neither_gives_table_level_edges_from_every_input_to_every_output() -> None:
    event = job_event(inputs=[dataset("default.s"), dataset("default.r")],
                      outputs=[dataset("default.t"), dataset("default.u")])
    assert signals(event) == {
        (f"{WH}/default.{a} -> {WH}/default.{b}", "OPENLINEAGE", False)
        for a in "sr" for b in "tu"}


def test_symlinks_make_a_path_and_its_table_one_asset() -> None:
    link = facet(identifiers=[{"namespace": WH, "name": "default.s", "type": "TABLE"}])
    path_input = dataset("/warehouse/default.db/s", "hdfs://nn:8020", symlinks=link)
    out = lineage_output({"a": [ref("/warehouse/default.db/s", "a", namespace="hdfs://nn:8020")]})
    assert signals(run_event(inputs=[path_input], outputs=[out])) == {
        (f"{S}#a -> {T}#a", "IDENTITY", False)}


def test_names_follow_openlineage_naming() -> None:
    assert dataset_asset("file", "/tmp/export_test") == "file:/tmp/export_test"
    assert dataset_asset("s3://bucket", "prefix/x") == "s3://bucket/prefix/x"
    assert dataset_asset("hdfs://nn:8020", "/w/t") == "hdfs://nn:8020/w/t"
    assert field_asset("postgres://h:5432", "DB.Public.T", "Email") == (
        "postgres://h:5432/db.public.t#email")
    assert field_asset("kafka://b:9092", "Topic", "userId") == "kafka://b:9092/Topic#userId"
    for asset in ("file:/tmp/x", "s3://bucket/prefix/x#f", "hive://warehouse/default.t#c",
                  "web://photos-web/photos/{id}#response.location"):
        namespace, name, field = split_asset(asset)
        back = dataset_asset(namespace, name)
        assert (back if field is None else f"{back}#{field}") == asset


def test_a_run_is_joined_across_its_events() -> None:
    start = run_event("START", inputs=[dataset("default.s")])
    complete = run_event("COMPLETE", outputs=[dataset("default.t")])
    alone = [reduce_event(e, "RunEvent") for e in (start, complete)]
    assert run_signals(alone[0], SqlLineage()) == run_signals(alone[1], SqlLineage()) == []
    merged = RunPart.from_bytes(merge_parts(alone).to_bytes())
    assert [(s.edge_id, s.kind) for s in run_signals(merged, SqlLineage())] == [
        (f"{S} -> {T}", "OPENLINEAGE")]


def test_a_dataset_event_says_where_its_fields_come_from() -> None:
    event = {"schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json",
             "eventTime": "2026-01-01T00:00:00Z", "producer": PRODUCER,
             "dataset": lineage_output({"a": [ref("default.s", "a")]})}
    assert signals(event) == {(f"{S}#a -> {T}#a", "IDENTITY", False)}
