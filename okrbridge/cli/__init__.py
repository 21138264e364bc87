"""The `okrbridge` command line. Command bodies import their heavy modules lazily so that
`okrbridge --help` stays fast (see bench/bench_cli_startup.py)."""

from __future__ import annotations

from okrbridge.cli.app import app, main

__all__ = ["app", "main"]
