"""The inbox keeps only what it needs: signature, event and delivery headers (an allowlist),
never credentials; migration 0003 cuts down the headers stored before."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import select

from alembic import command
from okrbridge.store.db import Store
from okrbridge.store.migrate import _config, upgrade
from okrbridge.store.models import InboxRow, utcnow
from okrbridge.web.headers import inbox_headers
from tests.web.conftest import Web, delivery, sign

INBOX_0001 = sa.table(  # the inbox as revision 0001 made it (no event column)
    "webhook_inbox",
    *(sa.column(name) for name in ("connector", "delivery_id", "status", "attempts", "body")),
    sa.column("headers", sa.JSON()),
    sa.column("received_at", sa.DateTime(timezone=True)),
    sa.column("next_attempt_at", sa.DateTime(timezone=True)),
)
CREDENTIALS = {
    "authorization": "Bearer dashboard-token-123",
    "cookie": "okrbridge_dashboard=dashboard-token-123",
    "x-api-key": "proxy-added-key",
    "x-auth-token": "tok",
    "x-forwarded-for": "10.0.0.1",
}


def test_stored_delivery_keeps_signature_and_event_never_credentials(web: Web) -> None:
    body = delivery("H1")
    headers = {**sign(body), **CREDENTIALS, "X-GitHub-Event": "issues"}
    assert web.client.post("/webhooks/mem", content=body, headers=headers).status_code == 202
    with web.store.session() as session:
        row = session.scalars(select(InboxRow)).one()
    assert row.event == "task.updated"
    assert row.headers == {
        "content-type": "application/json",
        "x-memory-signature": sign(body)["x-memory-signature"],
        "x-github-event": "issues",
    }


def test_a_declared_header_that_looks_like_a_credential_is_still_dropped() -> None:
    headers = {"X-Gitlab-Token": "secret", "X-Hub-Signature-256": "sha256=ab", "Via": "proxy"}
    kept = inbox_headers(headers, declared=["x-gitlab-token", "Via"])
    assert kept == {"x-hub-signature-256": "sha256=ab", "via": "proxy"}


def test_migration_0003_cuts_stored_headers_down_to_the_allowlist(db_url: str) -> None:
    store = Store(db_url)
    with store.engine.connect() as connection:
        command.upgrade(_config(connection), "0001")
        connection.commit()
    kept = {"x-github-event": "issues", "x-hub-signature-256": "sha256=00", "content-type": "a/b"}
    with store.session() as session:
        for n, headers in enumerate([{**kept, **CREDENTIALS}, {"cookie": "c"}]):
            session.execute(
                sa.insert(INBOX_0001).values(
                    connector="gh", delivery_id=f"M{n}", received_at=utcnow(), headers=headers,
                    body=b"{}", status="done", attempts=1, next_attempt_at=utcnow(),
                )
            )  # fmt: skip
    upgrade(store)
    with store.session() as session:
        rows = session.execute(
            select(InboxRow.delivery_id, InboxRow.headers, InboxRow.event).order_by(InboxRow.id)
        ).all()
    assert [tuple(r) for r in rows] == [("M0", kept, "issues"), ("M1", {}, "")]
    store.dispose()
