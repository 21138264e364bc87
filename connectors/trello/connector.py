"""`TrelloConnector`: the Trello boards of one token, as the core sees them."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, ClassVar

from okrbridge.config.schema import ConnectorSettings
from okrbridge.connector.base import (
    Capability,
    Connector,
    Page,
    PushChange,
    PushResult,
    WebhookEvent,
    WebhookRequest,
    WebhookScreening,
)
from okrbridge.connector.errors import RequestFailed
from okrbridge.connector.pacing import TokenBucket
from okrbridge.domain import Task
from okrbridge.marks import StatusLabels

from .artifacts import remove_label_definitions
from .client import TrelloClient
from .pull import TrelloPuller
from .push import TrelloPusher
from .settings import TrelloSettings
from .webhooks import parse_delivery, request_callback_url, screen_delivery, verify_signature

if TYPE_CHECKING:
    import httpx

    from okrbridge.sandbox.tool import SimulatedTool

__all__ = ["TrelloConnector"]


class TrelloConnector(Connector[TrelloSettings]):
    """Cards of the configured boards; status label and one edited comment per card.

    All requests of an instance share one token bucket (100 requests per 10 s per token).
    """

    name: ClassVar[str] = "trello"
    settings_model: ClassVar[type[ConnectorSettings]] = TrelloSettings
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.LABELS,
            Capability.COMMENTS,
            Capability.WEBHOOKS,
            Capability.REGISTERS_WEBHOOKS,
            Capability.INCREMENTAL,
            Capability.MARKS_IN_PULL,
        }
    )
    default_writes_per_minute: ClassVar[int] = 300
    """Half of the token's 600 requests/minute: the rest is for the reads around the writes."""

    def __init__(
        self,
        instance: str,
        settings: TrelloSettings,
        env: Mapping[str, str],
        *,
        labels: StatusLabels | None = None,
        http_client: httpx.Client | None = None,
        pacer: TokenBucket | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(instance, settings, env, labels=labels, http_client=http_client)
        self.client = TrelloClient(
            instance=instance,
            settings=settings,
            env=env,
            stats=self.stats,
            pacer=pacer,
            sleep=sleep,
            http_client=http_client,
        )
        self.puller = TrelloPuller(self.client, settings, instance, self.labels)
        self.pusher = TrelloPusher(self.client, self.puller, settings, self.labels)
        self._secret = env.get(settings.secret_env, "").encode("utf-8")

    # -- reading ------------------------------------------------------------------------------
    def pull(self, cursor: str | None, *, full: bool = False) -> Iterator[Page]:
        return self.puller.pull(cursor, full=full)

    def fetch(self, external_ids: Sequence[str]) -> list[Task]:
        return self.puller.fetch(external_ids)

    def scan_marks(self) -> Iterator[Task]:
        """Cards of the configured boards carrying a bridge label or comment, read fresh."""
        for page in self.puller.pull(None, full=True):
            for task in page.tasks:
                commented = task.marks is not None and task.marks.comment_id is not None
                if commented or self.labels.owned_in(task.labels):
                    yield task

    # No `preflight`: what could make Trello refuse the bridge's writes (a board the bot is no
    # member of) costs a request per board to find, on every sync, above the steady-state floor
    # of one request per board; such a board fails its pull with its name instead.

    # -- webhooks -----------------------------------------------------------------------------
    def verify_webhook(self, request: WebhookRequest) -> bool:
        """`X-Trello-Webhook` over body + the registered callback URL (needs `secret_env`)."""
        if not self._secret or request.method.upper() != "POST":
            return False
        url = request_callback_url(request, self.settings.callback_url)
        return verify_signature(
            request.headers.get("x-trello-webhook"), self._secret, request.body, url
        )

    def screen_webhook(self, request: WebhookRequest) -> WebhookScreening:
        if request.method.upper() == "HEAD":  # Trello's check when a webhook is registered
            return WebhookScreening(delivery_id="", event="HEAD", handled=False, reason="check")
        return screen_delivery(request.body)

    def parse_webhook(self, request: WebhookRequest) -> list[WebhookEvent]:
        if request.method.upper() == "HEAD":
            return []
        return parse_delivery(
            request.body,
            bot_id=self.puller.bot_id,
            board_ids=lambda: set(self.puller.board_ids()),
            labels=self.labels,
        )

    def register_webhooks(self, callback_url: str) -> list[str]:
        """One webhook per configured board (Trello watches a model: the board)."""
        return [
            f"board {board}: webhook {self.register_webhook(board, callback_url)}"
            for board in self.settings.boards
        ]

    def register_webhook(self, board: str, callback_url: str) -> str:
        """Register `callback_url` for a configured board; returns the webhook id.

        Trello first sends a HEAD to the URL and refuses unless it answers 200. An existing
        webhook for the same URL, board and token is returned instead of an error.
        """
        board_id = self.puller.board_id(board)
        params = {
            "callbackURL": callback_url,
            "idModel": board_id,
            "description": f"okrbridge {self.instance} {board}",
        }
        try:
            return str(self.client.write("POST", "webhooks", params=params)["id"])
        except RequestFailed as exc:
            if "already exists" not in exc.detail:
                raise
        for hook in self.client.token_webhooks():
            if hook.get("callbackURL") == callback_url and hook.get("idModel") == board_id:
                return str(hook["id"])
        raise RequestFailed(self.instance, "Trello says the webhook exists but does not list it")

    # -- writing ------------------------------------------------------------------------------
    def apply(self, change: PushChange) -> PushResult:
        return self.pusher.apply(change)

    def cleanup_artifacts(self, *, dry_run: bool = False) -> list[str]:
        return remove_label_definitions(self.client, self.puller, self.pusher, dry_run=dry_run)

    def close(self) -> None:
        self.client.close()

    @classmethod
    def simulator(cls) -> SimulatedTool:
        from .simulator import TrelloSimulator

        return TrelloSimulator()
