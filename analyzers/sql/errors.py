"""One error base class for the SQL analyzer, and its few precise children."""

from __future__ import annotations

#: Tokens of one statement past which it is not parsed (:class:`StatementTooLarge`).
MAX_TOKENS = 100_000
#: Seconds one statement may take (:class:`StatementTimeout`).
TIME_CAP_S = 2.0


class SqlAnalysisError(Exception):
    """Base of every error the SQL analyzer raises internally.

    The public entry points never let one escape: each failed statement becomes
    an entry of ``errors`` with its index and this message.
    """


class StatementTooLarge(SqlAnalysisError):
    """The statement exceeds the size cap (characters or tokens)."""


class StatementTimeout(SqlAnalysisError):
    """The statement ran past the per-statement time cap."""


class UnsupportedStatement(SqlAnalysisError):
    """The statement parses but its shape cannot be analysed."""
