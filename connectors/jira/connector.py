"""`JiraConnector`: the contract's entry point, wiring client, pull, push and webhooks."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, ClassVar

import httpx

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
from okrbridge.connector.errors import ConnectorError
from okrbridge.connector.transport import RetryPolicy
from okrbridge.domain import Task
from okrbridge.marks import StatusLabels

from .client import JIRA_RETRY, JiraClient, build_transport
from .marks import MarkFinder, OwnWrites
from .normalize import FieldMap
from .pull import JiraPuller, resolve_field_map
from .push import JiraPusher
from .settings import JiraSettings
from .webhooks import JiraWebhookParser, project_scope, screen_delivery, verify_signature

if TYPE_CHECKING:
    from okrbridge.sandbox.tool import SimulatedTool

__all__ = ["JiraConnector"]


class JiraConnector(Connector[JiraSettings]):
    """Jira Cloud (API token) or Data Center (PAT), REST v3, scoped by a JQL query."""

    name: ClassVar[str] = "jira"
    settings_model: ClassVar[type[ConnectorSettings]] = JiraSettings
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.LABELS,
            Capability.COMMENTS,
            Capability.WEBHOOKS,
            Capability.INCREMENTAL,
            Capability.MARKS_IN_PULL,
        }
    )
    default_writes_per_minute: ClassVar[int] = 100
    """API-token traffic has no published points budget; stay well under the burst limits
    and the per-issue write limit (two writes per issue, sequential)."""

    def __init__(
        self,
        instance: str,
        settings: JiraSettings,
        env: Mapping[str, str],
        *,
        labels: StatusLabels | None = None,
        http_client: httpx.Client | None = None,
        retry_policy: RetryPolicy = JIRA_RETRY,
    ) -> None:
        super().__init__(instance, settings, env, labels=labels, http_client=http_client)
        self._retry_policy = retry_policy
        self._client: JiraClient | None = None
        self._field_map: FieldMap | None = None
        self._bot: str | None = settings.bot_account_id
        self._lock = threading.Lock()
        self._own = OwnWrites()
        """The bridge's comment writes of this process (the next read needs no lookup)."""

    # -- lazily built pieces ------------------------------------------------------------------
    @property
    def client(self) -> JiraClient:
        with self._lock:
            if self._client is None:
                transport = build_transport(
                    self.settings,
                    self.env,
                    instance=self.instance,
                    stats=self.stats,
                    client=self.http_client,
                    policy=self._retry_policy,
                )
                self._client = JiraClient(transport)
            return self._client

    def field_map(self) -> FieldMap:
        """Resolved estimate/extra field ids (`GET /field` once, only when names are used)."""
        client = self.client
        with self._lock:  # concurrent bulkfetch threads must not each ask for /field
            if self._field_map is None:
                try:
                    self._field_map = resolve_field_map(self.settings, client.fields)
                except ValueError as exc:
                    raise ConnectorError(self.instance, str(exc)) from exc
            return self._field_map

    def bot_account(self) -> str:
        """The bridge's account id: from the settings, else `GET /myself`, cached once it
        succeeds. A failed lookup raises (the caller, the inbox worker, retries later)."""
        if self._bot is None:
            me = self.client.myself()
            who = me.get("accountId") or me.get("key") or me.get("name")
            if not who:
                raise ConnectorError(self.instance, "GET /myself named no account")
            self._bot = str(who)
        return self._bot

    def _known_bot(self) -> str | None:
        """The bridge's account id if already known (reads never look it up)."""
        return self._bot

    # -- the contract -------------------------------------------------------------------------
    def pull(self, cursor: str | None, *, full: bool = False) -> Iterator[Page]:
        return self._puller().pull(cursor, full=full)

    def fetch(self, external_ids: Sequence[str]) -> list[Task]:
        return self._puller().fetch(external_ids)

    def preflight(self) -> list[str]:
        """Jira takes any label without spaces: only the configured names can fail."""
        return [
            f"status label {name!r} is not a valid Jira label (no spaces, at most 255 chars)"
            for name in sorted(self.labels.names)
            if not name or any(ch.isspace() for ch in name) or len(name) > 255
        ]

    def verify_webhook(self, request: WebhookRequest) -> bool:
        var = self.settings.webhook_secret_env
        if not var:
            # No secret configured: Jira sends no signature, so anything is accepted (the docs
            # explain the risk). A named but unset variable refuses everything instead.
            return True
        secret = self.env.get(var, "")
        return bool(secret) and verify_signature(request, secret.encode())

    def screen_webhook(self, request: WebhookRequest) -> WebhookScreening:
        return screen_delivery(request)

    def parse_webhook(self, request: WebhookRequest) -> list[WebhookEvent]:
        parser = JiraWebhookParser(
            instance=self.instance,
            base_url=self.settings.base_url,
            field_map=self._field_map_if_known,
            bot_account=self.bot_account,
            labels=self.labels,
            projects=project_scope(self.settings.scope_jql),
        )
        return parser.parse(request)

    def apply(self, change: PushChange) -> PushResult:
        pusher = JiraPusher(
            self.client, instance=self.instance, finder=self._finder(), own=self._own
        )
        return pusher.apply(change)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    @classmethod
    def simulator(cls) -> SimulatedTool:
        from .simulator import JiraSimulator

        return JiraSimulator()

    # -- helpers ------------------------------------------------------------------------------
    def _finder(self) -> MarkFinder:
        return MarkFinder(self.client, bot_account=self._known_bot, own=self._own)

    def _puller(self) -> JiraPuller:
        return JiraPuller(
            self.client,
            self.settings,
            instance=self.instance,
            field_map=self.field_map,
            marks=self._finder(),
            known_fields=self._remember_fields,
        )

    def _remember_fields(self, resolved: FieldMap) -> None:
        with self._lock:
            if self._field_map is None:
                self._field_map = resolved

    def _field_map_if_known(self) -> FieldMap | None:
        if self._field_map is not None:
            return self._field_map
        if self.settings.estimate_field is None and not self.settings.extra_fields:
            return self.field_map()  # nothing to resolve: no request needed
        try:
            return self.field_map()  # one `GET /field`, cached for every later delivery
        except ConnectorError:
            return None
