"""The inbox keeps only the headers it needs, and the event type as a column.

Deliveries stored before kept every request header (`Authorization`, `Cookie`, API keys a
proxy added); their headers are cut down to the allowlist (a copy of the one in
`okrbridge.web.headers` as it was when this migration was written, plus the signature header
of any connector that declared one then: none outside the tests).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEPT = frozenset(
    {
        "content-type",
        "x-github-event",
        "x-github-delivery",
        "x-github-hook-id",
        "x-github-hook-installation-target-id",
        "x-github-hook-installation-target-type",
        "x-hub-signature",
        "x-hub-signature-256",
        "x-atlassian-webhook-identifier",
        "x-atlassian-webhook-retry",
        "x-trello-webhook",
        "x-memory-signature",
    }
)
_EVENT_HEADERS = ("x-github-event",)

_INBOX = sa.table(
    "webhook_inbox",
    sa.column("id", sa.Integer()),
    sa.column("headers", sa.JSON()),
    sa.column("event", sa.String(100)),
)


def upgrade() -> None:
    with op.batch_alter_table("webhook_inbox") as batch:
        batch.add_column(sa.Column("event", sa.String(100), nullable=False, server_default=""))
    connection = op.get_bind()
    last = 0
    while True:  # in batches: an inbox may hold many done deliveries
        rows = connection.execute(
            sa.select(_INBOX.c.id, _INBOX.c.headers)
            .where(_INBOX.c.id > last)
            .order_by(_INBOX.c.id)
            .limit(500)
        ).all()
        if not rows:
            return
        for row_id, headers in rows:
            kept, event = _kept(headers)
            if kept != headers or event:
                connection.execute(
                    sa.update(_INBOX).where(_INBOX.c.id == row_id).values(headers=kept, event=event)
                )
        last = rows[-1][0]


def _kept(headers: Any) -> tuple[dict[str, str], str]:
    if not isinstance(headers, dict):
        return {}, ""
    kept = {str(k).lower(): v for k, v in headers.items() if str(k).lower() in _KEPT}
    event = next((str(kept[name]) for name in _EVENT_HEADERS if name in kept), "")
    return kept, event[:100]


def downgrade() -> None:
    # The headers dropped by the upgrade are gone for good (that is the point).
    with op.batch_alter_table("webhook_inbox") as batch:
        batch.drop_column("event")
