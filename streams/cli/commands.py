"""Every built-in command of the `lineage` CLI, in one list (plugins: see `root`)."""

from __future__ import annotations

import click

from streams.cli.archive_cmd import archive_command, replay_command
from streams.cli.graph_cmd import graph_group
from streams.cli.kafka_cmd import kafka_group
from streams.cli.match_cmd import match_command
from streams.cli.policy_cmd import review_command, violations_command, zone_command
from streams.cli.send_cmd import send_command
from streams.cli.sql_cmd import analyze_sql_command
from streams.cli.topics_cmd import topics_group
from streams.cli.worker_cmd import worker_command

ALL: list[click.Command] = [
    kafka_group,
    topics_group,
    worker_command,
    send_command,
    analyze_sql_command,
    match_command,
    graph_group,
    violations_command,
    review_command,
    zone_command,
    archive_command,
    replay_command,
]
