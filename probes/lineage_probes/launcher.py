"""`lineage-probe run --service NAME [--sample-rate R] -- CMD...`: a command with the probes on.

Like `opentelemetry-instrument`: the settings go into the environment and a
`sitecustomize` on `PYTHONPATH` starts the probes in every Python process
the command runs (`python app.py`, `uvicorn ...`, `gunicorn ...` and their
workers), before the application's own code; then the command replaces this
process.

The Kafka security options are the `lineage` commands' own (docs/OPERATIONS.md)
and reach the command as the same environment variables; the password never
as a flag (it would show in `ps`): `KAFKA_SASL_PASSWORD` or a file.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from lineage_probes.security import SASL_MECHANISMS, SECURITY_PROTOCOLS

BOOTSTRAP_DIR = Path(__file__).resolve().parent / "_bootstrap"


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="lineage-probe",
                                  description="Run a Python service with lineage probes on.")
    sub = top.add_subparsers(dest="command", required=True)
    # no abbreviations: `--sasl-password X` must not be taken for `--sasl-password-file X`
    run = sub.add_parser("run", help="run CMD with the probes on", allow_abbrev=False,
                         description="Run CMD (after --) with the probes on, configured by "
                                     "these options or the LINEAGE_PROBE_* environment.")
    run.add_argument("--service", help="service name in asset names (env LINEAGE_PROBE_SERVICE)")
    run.add_argument("--sample-rate", type=float,
                     help="share of traces captured, 0..1 (env LINEAGE_PROBE_SAMPLE_RATE)")
    run.add_argument("--bootstrap-servers", help="Kafka (env KAFKA_BOOTSTRAP_SERVERS)")
    run.add_argument("--topic-prefix", help="prefix of probe-events (env LINEAGE_TOPIC_PREFIX)")
    run.add_argument("--redact", help="comma-separated field names never captured "
                                      "(env LINEAGE_PROBE_REDACT)")
    run.add_argument("--no-enforce", action="store_true",
                     help="captures only: no enforcement of policies (env LINEAGE_PROBE_ENFORCE=0)")
    run.add_argument("--enforce-fail", choices=("fail_open", "fail_closed"),
                     help="before the policy zones could ever be read: let writes go or block "
                          "them (env LINEAGE_PROBE_ENFORCE_FAIL; docs/ENFORCEMENT.md)")
    _security_options(run)
    run.add_argument("cmd", nargs=argparse.REMAINDER, help="-- the command to run")
    return top


#: Each security flag's destination and the variable it sets in the command's environment.
SECURITY_FLAGS = (
    ("security_protocol", "KAFKA_SECURITY_PROTOCOL"),
    ("sasl_mechanism", "KAFKA_SASL_MECHANISM"),
    ("sasl_username", "KAFKA_SASL_USERNAME"),
)
#: The same for the flags that name a file (passed on as absolute paths: the
#: command may change its directory before the probes read them).
SECURITY_FILE_FLAGS = (
    ("sasl_password_file", "KAFKA_SASL_PASSWORD_FILE"),
    ("ssl_cafile", "KAFKA_SSL_CAFILE"),
    ("ssl_certfile", "KAFKA_SSL_CERTFILE"),
    ("ssl_keyfile", "KAFKA_SSL_KEYFILE"),
)


def _security_options(run: argparse.ArgumentParser) -> None:
    group = run.add_argument_group(
        "Kafka security", "as every lineage command's (docs/OPERATIONS.md); the password comes "
                          "from env KAFKA_SASL_PASSWORD, else --sasl-password-file")
    group.add_argument("--security-protocol", type=str.upper, choices=SECURITY_PROTOCOLS,
                       help="how the probes talk to Kafka (env KAFKA_SECURITY_PROTOCOL; "
                            "default PLAINTEXT)")
    group.add_argument("--sasl-mechanism", type=str.upper, choices=SASL_MECHANISMS,
                       help="SASL mechanism (env KAFKA_SASL_MECHANISM; default SCRAM-SHA-512)")
    group.add_argument("--sasl-username", help="SASL user (env KAFKA_SASL_USERNAME)")
    group.add_argument("--sasl-password-file",
                       help="file whose first line is the SASL password "
                            "(env KAFKA_SASL_PASSWORD_FILE)")
    group.add_argument("--sasl-password", nargs="?", action=_NoPasswordFlag,
                       help=argparse.SUPPRESS)
    group.add_argument("--ssl-cafile", help="CA certificates (PEM) to trust the brokers by "
                                            "(env KAFKA_SSL_CAFILE)")
    group.add_argument("--ssl-certfile", help="client certificate (PEM), for mutual TLS "
                                              "(env KAFKA_SSL_CERTFILE)")
    group.add_argument("--ssl-keyfile", help="its private key (PEM) (env KAFKA_SSL_KEYFILE)")


class _NoPasswordFlag(argparse.Action):
    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        parser.error("--sasl-password: the password is never a flag (it would show in ps); "
                     "use env KAFKA_SASL_PASSWORD or --sasl-password-file")


def environment(args: argparse.Namespace, env: dict[str, str]) -> dict[str, str]:
    """The command's environment: the probes' settings and the bootstrap on PYTHONPATH."""
    env = dict(env)
    for value, var in ((args.service, "LINEAGE_PROBE_SERVICE"),
                       (args.sample_rate, "LINEAGE_PROBE_SAMPLE_RATE"),
                       (args.bootstrap_servers, "KAFKA_BOOTSTRAP_SERVERS"),
                       (args.topic_prefix, "LINEAGE_TOPIC_PREFIX"),
                       (args.redact, "LINEAGE_PROBE_REDACT"),
                       ("0" if getattr(args, "no_enforce", False) else None,
                        "LINEAGE_PROBE_ENFORCE"),
                       (getattr(args, "enforce_fail", None), "LINEAGE_PROBE_ENFORCE_FAIL")):
        if value is not None:
            env[var] = str(value)
    for flags, as_given in ((SECURITY_FLAGS, str), (SECURITY_FILE_FLAGS, os.path.abspath)):
        for dest, var in flags:
            value = getattr(args, dest, None)
            if value is not None:
                env[var] = as_given(value)
    path = env.get("PYTHONPATH", "")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(BOOTSTRAP_DIR), path) if p)
    return env


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        print("lineage-probe: no command given (lineage-probe run --service NAME -- CMD...)",
              file=sys.stderr)
        return 2
    if args.sample_rate is not None and not 0.0 <= args.sample_rate <= 1.0:
        print("lineage-probe: --sample-rate must be between 0 and 1", file=sys.stderr)
        return 2
    env = environment(args, dict(os.environ))
    try:
        os.execvpe(cmd[0], cmd, env)
    except OSError as exc:
        print(f"lineage-probe: cannot run {cmd[0]}: {exc.strerror}", file=sys.stderr)
        return 127
    return 0  # not reached


if __name__ == "__main__":
    raise SystemExit(main())
