"""`GitHubConnector`: GitHub Projects (v2) items as tasks; status labels, one edited comment."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

import httpx

from connectors.github import webhooks
from connectors.github.client import GitHubClient
from connectors.github.projects import ProjectDirectory
from connectors.github.pull import Puller
from connectors.github.push import LABEL_DESCRIPTION, MAX_LABEL_LENGTH, Pusher, is_draft
from connectors.github.settings import GitHubSettings
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
from okrbridge.connector.errors import ConnectorError, RequestFailed, require_secret
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
            Capability.MARKS_IN_PULL,
        }
    )
    max_label_length: ClassVar[int | None] = MAX_LABEL_LENGTH
    """GitHub refuses label names over 50 characters (`config check` tests the prefix)."""
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
        self._pusher = Pusher(
            instance, settings, self.client, self.projects, self.bot_login, self.labels
        )
        self._bot: str | None = settings.bot_login
        self._bot_lock = threading.Lock()

    # -- reading ------------------------------------------------------------------------------
    def pull(self, cursor: str | None, *, full: bool = False) -> Iterator[Page]:
        return self._puller.pull(cursor, full=full)

    def fetch(self, external_ids: Sequence[str]) -> list[Task]:
        if not external_ids:
            return []
        return self._puller.fetch(external_ids, self.projects.ids())

    def scan_marks(self) -> Iterator[Task]:
        """Every task carrying a bridge label, comment or draft field value (a full read)."""
        for page in self.pull(None, full=True):
            for task in page.tasks:
                marks = task.marks
                if self.labels.owned_in(task.labels) or (
                    marks is not None and (marks.comment_id or marks.field_value)
                ):
                    yield task

    def preflight(self) -> list[str]:
        """Projects the token cannot read, and statuses the draft field has no option for."""
        problems = [
            f"label {name!r} is over GitHub's {MAX_LABEL_LENGTH} characters (label_prefix)"
            for name in sorted(self.labels.names)
            if len(name) > MAX_LABEL_LENGTH
        ]
        for number in self.settings.projects:
            try:
                meta = self.projects.by_number(number)
            except RequestFailed as exc:
                problems.append(str(exc))
                continue
            if self.settings.kr_status_field:
                where = f"project {self.settings.owner}/{number}"
                field = meta.fields.get(self.settings.kr_status_field)
                problems += self._pusher.options.problems(where, field)
        return problems

    # -- webhooks -----------------------------------------------------------------------------
    def verify_webhook(self, request: WebhookRequest) -> bool:
        return bool(self._secret) and webhooks.verify(request, self._secret)

    def screen_webhook(self, request: WebhookRequest) -> WebhookScreening:
        return webhooks.screen(request)

    def parse_webhook(self, request: WebhookRequest) -> list[WebhookEvent]:
        context = webhooks.WebhookContext(
            bot_login=self._required_bot_login,
            project_ids=self.projects.ids,
            labels=self.labels,
            bridge_field_ids=self.projects.bridge_field_ids,
        )
        return webhooks.parse(request, context)

    def bot_login(self) -> str | None:
        """The bridge's own login: configured, else `GET /user` once (echo detection).
        A failed lookup raises and is tried again next time."""
        with self._bot_lock:
            if self._bot is None:
                user: Any = self.client.get("user")
                login = user.get("login") if isinstance(user, dict) else None
                if not isinstance(login, str) or not login:
                    raise RequestFailed(self.instance, "GET /user answered without a login")
                self._bot = login
            return self._bot

    def _required_bot_login(self) -> str:
        login = self.bot_login()
        if not login:
            raise ConnectorError(self.instance, "the bridge's GitHub login is unknown")
        return login

    # -- writing ------------------------------------------------------------------------------
    def apply(self, change: PushChange) -> PushResult:
        return self._pusher.apply(change)

    def cleanup_artifacts(self, *, dry_run: bool = False) -> list[str]:
        """Delete the status label definitions the bridge created (its name and description)
        in the projects' repositories, once no issue or pull request carries them."""
        lines = []
        for repo in sorted(self._puller.repositories()):
            path = quote(repo, safe="/")
            for label in list(self.client.get_pages(f"repos/{path}/labels")):
                name = str(label.get("name", ""))
                if not self.labels.owns(name) or label.get("description") != LABEL_DESCRIPTION:
                    continue
                if self._label_in_use(path, name):
                    continue
                if not dry_run:
                    self.client.delete(f"repos/{path}/labels/{quote(name, safe='')}")
                lines.append(f"{repo}: delete label definition {name}")
            self._pusher.forget_repo(path)
        return lines

    def _label_in_use(self, repo_path: str, name: str) -> bool:
        params = {"labels": name, "state": "all", "per_page": 1}
        return bool(self.client.get(f"repos/{repo_path}/issues", params))

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
