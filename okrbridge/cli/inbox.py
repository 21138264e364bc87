"""Bodies of `okrbridge inbox list|retry|purge`."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from okrbridge.cli.common import EXIT_USAGE, fail, load, open_store, stdout


def run_inbox_list(
    path: Path | None, *, status: str | None, connector: str | None, limit: int, as_json: bool
) -> None:
    from okrbridge.daemon.inbox_admin import STATUSES, list_entries

    if status is not None and status not in STATUSES:
        fail(f"--status must be one of {', '.join(STATUSES)}", EXIT_USAGE)
    with open_store(load(path, check_secrets=False)) as store, store.session() as session:
        entries = list_entries(session, status=status, connector=connector, limit=limit)
    if as_json:
        rows = [
            {
                "id": e.id,
                "connector": e.connector,
                "delivery_id": e.delivery_id,
                "status": e.status,
                "attempts": e.attempts,
                "received_at": e.received_at.isoformat(),
                "next_attempt_at": e.next_attempt_at.isoformat(),
                "last_error": e.last_error,
            }
            for e in entries
        ]
        print(json.dumps(rows, indent=2))
        return
    from rich.table import Table
    from rich.text import Text

    table = Table("id", "connector", "delivery", "status", "attempts", "received", "last error")
    for e in entries:
        table.add_row(  # a tool's ids and error texts are data, never Rich markup
            str(e.id),
            Text(e.connector),
            Text(e.delivery_id),
            Text(e.status),
            str(e.attempts),
            e.received_at.strftime("%Y-%m-%d %H:%M:%S"),
            Text((e.last_error or "")[:80]),
        )
    stdout().print(table)


def run_inbox_retry(path: Path | None, ids: list[int], *, all_parked: bool) -> None:
    from okrbridge.daemon.inbox_admin import retry_entries

    if not ids and not all_parked:
        fail("name delivery ids (see `okrbridge inbox list`) or pass --all-parked", EXIT_USAGE)
    with open_store(load(path, check_secrets=False)) as store, store.session() as session:
        count = retry_entries(session, ids, all_parked=all_parked)
    stdout().print(f"{count} deliveries queued for another attempt")


def run_inbox_purge(path: Path | None, *, status: str, older_than_days: float | None) -> None:
    from okrbridge.daemon.inbox_admin import purge_entries

    if status not in ("done", "parked"):
        fail("--status must be done or parked (pending deliveries are never purged)", EXIT_USAGE)
    older = None if older_than_days is None else timedelta(days=older_than_days)
    with open_store(load(path, check_secrets=False)) as store, store.session() as session:
        count = purge_entries(session, status=status, older_than=older)
    stdout().print(f"{count} {status} deliveries deleted")
