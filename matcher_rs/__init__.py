"""Payload matcher for runtime data lineage (Rust, built by maturin)."""

from __future__ import annotations

from matcher_rs._native import version

__all__ = ["version"]
