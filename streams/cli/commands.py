"""Every built-in command of the `lineage` CLI, by name (plugins: see `root`).

Each entry names the module and attribute that define the command; `root`
imports a command's module only when that command runs (or `--help` lists
them all), so `lineage analyze-sql` does not pay for pyarrow, Faust or the
console at start.
"""

from __future__ import annotations

#: command name -> "module:attribute"
BUILTIN: dict[str, str] = {
    "kafka": "streams.cli.kafka_cmd:kafka_group",
    "topics": "streams.cli.topics_cmd:topics_group",
    "worker": "streams.cli.worker_cmd:worker_command",
    "send": "streams.cli.send_cmd:send_command",
    "analyze-sql": "streams.cli.sql_cmd:analyze_sql_command",
    "match": "streams.cli.match_cmd:match_command",
    "graph": "streams.cli.graph_cmd:graph_group",
    "openlineage": "streams.cli.openlineage_cmd:openlineage_group",
    "violations": "streams.cli.policy_cmd:violations_command",
    "review": "streams.cli.policy_cmd:review_command",
    "zone": "streams.cli.policy_cmd:zone_command",
    "console": "streams.cli.console_cmd:console_command",
    "archive": "streams.cli.archive_cmd:archive_command",
    "replay": "streams.cli.archive_cmd:replay_command",
}
