"""`GitHubConnector`: GitHub Projects (v2) items as tasks; status labels, one edited comment."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import httpx

from connectors.github import webhooks
from connectors.github.client import GitHubClient
from connectors.github.projects import ProjectDirectory
from connectors.github.pull import Puller
from connectors.github.push import Pusher, is_draft
from connectors.github.settings import GitHubSettings
from okrbridge.connector.base import (
    Capability,
    Connector,
    Page,
    PushChange,
    PushResult,
    WebhookEvent,
    WebhookRequest,
)
from okrbridge.connector.errors import require_secret
from okrbridge.domain import Task
from okrbridge.marks import StatusLabels

if TYPE_CHECKING:
    from okrbridge.sandbox.tool import SimulatedTool

__all__ = ["GitHubConnector"]

_CONTENT_CAPABILITIES = frozenset({Capability.LABELS, Capability.COMMENTS})
_DRAFT_CAPABILITIES = frozenset({Capability.PROJECT_FIELD})


class GitHubConnector(Connector[GitHubSettings]):
    """Pulls project items over GraphQL, pushes labels/comments over REST + one mutation."""

    name: ClassVar[str] = "github"
    settings_model: ClassVar[type[GitHubSettings]] = GitHubSettings
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.LABELS,
            Capability.COMMENTS,
            Capability.WEBHOOKS,
            Capability.PROJECT_FIELD,
            Capability.INCREMENTAL,
        }
    )
    default_writes_per_minute: ClassVar[int] = 60
    """One write a second: GitHub asks for >= 1 s between mutations and <= 80 creations/min."""

    def __init__(
        self,
        instance: str,
        settings: GitHubSettings,
        env: Mapping[str, str],
        *,
        labels: StatusLabels | None = None,
        http_client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        pacer_clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(instance, settings, env, labels=labels, http_client=http_client)
        token = require_secret(env, settings.token_env, instance, "the GitHub token")
        secret_env = settings.webhook_secret_env
        self._secret = env.get(secret_env, "").encode() if secret_env else b""
        self.client = GitHubClient(
            instance,
            settings,
            token,
            self.stats,
            http_client=http_client,
            sleep=sleep,
            pacer_clock=pacer_clock,
        )
        self.projects = ProjectDirectory(instance, settings, self.client)
        self._puller = Puller(instance, settings, self.client)
        self._pusher = Pusher(instance, settings, self.client, self.projects, self.bot_login)
        self._bot: str | None = settings.bot_login
        self._bot_lock = threading.Lock()

    # -- reading ------------------------------------------------------------------------------
    def pull(self, cursor: str | None, *, full: bool = False) -> Iterator[Page]:
        return self._puller.pull(cursor, full=full)

    def fetch(self, external_ids: Sequence[str]) -> list[Task]:
        if not external_ids:
            return []
        return self._puller.fetch(external_ids, self.projects.ids())

    # -- webhooks -----------------------------------------------------------------------------
    def verify_webhook(self, request: WebhookRequest) -> bool:
        return bool(self._secret) and webhooks.verify(request, self._secret)

    def parse_webhook(self, request: WebhookRequest) -> list[WebhookEvent]:
        context = webhooks.WebhookContext(
            bot_login=self.bot_login,
            project_ids=self.projects.known_ids,
            bridge_field_ids=self.projects.bridge_field_ids(),
        )
        return webhooks.parse(request, context)

    def bot_login(self) -> str | None:
        """The bridge's own login: configured, else `GET /user` once (echo detection)."""
        with self._bot_lock:
            if self._bot is None:
                user: Any = self.client.get("user")
                self._bot = str(user.get("login", "")) if isinstance(user, dict) else ""
            return self._bot or None

    # -- writing ------------------------------------------------------------------------------
    def apply(self, change: PushChange) -> PushResult:
        return self._pusher.apply(change)

    def close(self) -> None:
        self.client.close()

    def task_capabilities(self, task: Task) -> frozenset[Capability]:
        """Issues and pull requests take labels and comments; a draft item only the project
        status field, and only when `kr_status_field` is configured."""
        if not is_draft(task):
            return _CONTENT_CAPABILITIES
        return _DRAFT_CAPABILITIES if self.settings.kr_status_field else frozenset()

    @classmethod
    def simulator(cls) -> SimulatedTool:
        from connectors.github.simulator import GitHubSimulator

        return GitHubSimulator()
