"""Rate limits (Trello's 429 without Retry-After), pacing, secrets kept out of logs and errors,
and signed deliveries from the simulator, including the echo of the bridge's own writes."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from connectors.trello import TrelloConnector, TrelloSettings
from connectors.trello.simulator import API_KEY, BOT_TOKEN, Limits, TrelloSimulator
from okrbridge.connector.base import (
    CommentAction,
    CommentChange,
    EventKind,
    PushChange,
    WebhookRequest,
)
from okrbridge.connector.errors import ConnectorError
from okrbridge.connector.pacing import TokenBucket
from okrbridge.domain import StatusCategory
from okrbridge.sandbox.harness import SandboxServer
from okrbridge.sandbox.tool import SeedTask

from .conftest import FakeClock


def _connector(
    sim: TrelloSimulator, server: SandboxServer, clock: FakeClock, pacer: TokenBucket
) -> TrelloConnector:
    settings = TrelloSettings.model_validate(sim.settings(server.url))
    return TrelloConnector("t", settings, sim.env(), pacer=pacer, sleep=clock.sleep)


def _seed(sim: TrelloSimulator) -> None:
    for board in ("a", "b", "c"):
        for i in range(3):
            sim.add_task(SeedTask(title=f"{board}{i}", container=board))


def test_429_without_retry_after_waits_the_window_and_succeeds() -> None:
    clock = FakeClock()
    sim = TrelloSimulator(limits=Limits(token_max=4), monotonic=clock)
    _seed(sim)
    unpaced = TokenBucket(1000, 1000, clock=clock, sleep=clock.sleep)
    with SandboxServer(sim.app) as server, _connector(sim, server, clock, unpaced) as conn:
        # Another process on the same token spends the window first.
        auth = {"key": API_KEY, "token": BOT_TOKEN}
        for _ in range(4):
            httpx.get(f"{server.url}/1/members/me", params=auth).raise_for_status()
        tasks = [t for p in conn.pull(None) for t in p.tasks]
        stats = conn.stats
    assert len(tasks) == 9
    assert sim.limiter.refused >= 1
    assert stats.rate_limit_waits == sim.limiter.refused
    # No Retry-After: the wait comes from x-rate-limit-api-token-interval-ms (10 000 ms).
    assert stats.rate_limit_wait_seconds >= 10.0 * stats.rate_limit_waits


def test_the_shared_pacer_keeps_every_board_under_the_limit() -> None:
    clock = FakeClock()
    sim = TrelloSimulator(limits=Limits(token_max=4), monotonic=clock)
    _seed(sim)
    paced = TokenBucket.per_window(4, 10, headroom=0.9, clock=clock, sleep=clock.sleep)
    with SandboxServer(sim.app) as server, _connector(sim, server, clock, paced) as conn:
        assert len([t for p in conn.pull(None) for t in p.tasks]) == 9
    assert sim.limiter.refused == 0


def test_secrets_never_reach_errors_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    sim = TrelloSimulator(limits=Limits(enabled=False), monotonic=clock)
    _seed(sim)
    caplog.set_level(logging.DEBUG)
    pacer = TokenBucket(1000, 1000, clock=clock, sleep=clock.sleep)
    with SandboxServer(sim.app) as server, _connector(sim, server, clock, pacer) as conn:
        with pytest.raises(ConnectorError) as failure:
            conn.puller.board_id("no-such-board")
        sim.state.tokens.pop(BOT_TOKEN)
        with pytest.raises(ConnectorError) as listing:
            conn.client.token_webhooks()
    text = str(failure.value) + str(listing.value) + caplog.text
    assert "GET" in caplog.text or "HTTP Request" in caplog.text  # the logs were really captured
    assert BOT_TOKEN not in text
    assert API_KEY not in text


def test_missing_credentials_name_the_variable_only() -> None:
    settings = TrelloSettings(boards=["x"])
    with pytest.raises(ConnectorError, match="TRELLO_TOKEN"):
        TrelloConnector("t", settings, {"TRELLO_API_KEY": "k"})


def test_simulator_deliveries_verify_and_bridge_writes_are_echoes() -> None:
    clock = FakeClock()
    sim = TrelloSimulator(limits=Limits(enabled=False), monotonic=clock)
    card = sim.add_task(SeedTask(title="Ünïcode ✓", container="alpha"))
    received: list[WebhookRequest] = []
    url = "https://bridge.example.com/hooks/trello"
    sim.set_webhook_sink(url, lambda u, h, b: received.append(WebhookRequest("POST", u, h, b)))
    pacer = TokenBucket(1000, 1000, clock=clock, sleep=clock.sleep)
    with SandboxServer(sim.app) as server, _connector(sim, server, clock, pacer) as conn:
        (task,) = conn.fetch([card])
        conn.apply(
            PushChange(
                task=task,
                add_label="okr:on-track",
                comment=CommentChange(CommentAction.CREATE, "**On track** — façade"),
            )
        )
        sim.set_status(card, StatusCategory.DONE)
        assert all(conn.verify_webhook(r) for r in received)
        events = [e for r in received for e in conn.parse_webhook(r)]
        hook_id = conn.register_webhook("alpha", url)
        assert conn.register_webhook("alpha", url) == hook_id  # already there: same webhook
    echoes = [(e.name, e.own_echo) for e in events]
    # The bridge's own comment is not even handled (screened out on the request path).
    assert echoes == [("addLabelToCard", True), ("commentCard", False), ("updateCard", False)]
    assert [conn.screen_webhook(r).handled for r in received] == [True, False, True]
    assert events[-1].kind is EventKind.REFRESH
    assert events[-1].external_id == card
    # Built from the recorded deliveries: their envelope, the simulated action's values.
    label_added = json.loads(received[0].body)
    assert {"appCreator", "limits", "display"} <= set(label_added["action"])
    assert label_added["action"]["display"]["translationKey"] == "action_addLabelToCard"
    assert label_added["action"]["data"]["label"]["name"] == "okr:on-track"
    assert label_added["model"]["prefs"] == {"permissionLevel": "org"}
    assert label_added["model"]["id"] == sim.board("alpha")["id"]
