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
)
from okrbridge.connector.errors import ConnectorError
from okrbridge.connector.transport import RetryPolicy
from okrbridge.domain import Task
from okrbridge.marks import StatusLabels

from .client import JIRA_RETRY, JiraClient, build_transport
from .normalize import FieldMap
from .pull import JiraPuller, resolve_field_map
from .push import JiraPusher
from .settings import JiraSettings
from .webhooks import JiraWebhookParser, verify_signature

if TYPE_CHECKING:
    from okrbridge.sandbox.tool import SimulatedTool

__all__ = ["JiraConnector"]


class JiraConnector(Connector[JiraSettings]):
    """Jira Cloud (API token) or Data Center (PAT), REST v3, scoped by a JQL query."""

    name: ClassVar[str] = "jira"
    settings_model: ClassVar[type[ConnectorSettings]] = JiraSettings
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.LABELS, Capability.COMMENTS, Capability.WEBHOOKS, Capability.INCREMENTAL}
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
        self._http_client = http_client
        self._retry_policy = retry_policy
        self._client: JiraClient | None = None
        self._field_map: FieldMap | None = None
        self._bot: str | None = settings.bot_account_id
        self._bot_looked_up = settings.bot_account_id is not None
        self._lock = threading.Lock()

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
                    client=self._http_client,
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

    def bot_account(self) -> str | None:
        """The bridge's account id: from the settings, else `GET /myself` (asked once)."""
        if not self._bot_looked_up:
            self._bot_looked_up = True
            try:
                me = self.client.myself()
            except ConnectorError:
                return None
            who = me.get("accountId") or me.get("key") or me.get("name")
            self._bot = str(who) if who else None
        return self._bot

    # -- the contract -------------------------------------------------------------------------
    def pull(self, cursor: str | None, *, full: bool = False) -> Iterator[Page]:
        return self._puller().pull(cursor, full=full)

    def fetch(self, external_ids: Sequence[str]) -> list[Task]:
        return self._puller().fetch(external_ids)

    def verify_webhook(self, request: WebhookRequest) -> bool:
        var = self.settings.webhook_secret_env
        if not var:
            # No secret configured: Jira sends no signature, so anything is accepted (the docs
            # explain the risk). A named but unset variable refuses everything instead.
            return True
        secret = self.env.get(var, "")
        return bool(secret) and verify_signature(request, secret.encode())

    def parse_webhook(self, request: WebhookRequest) -> list[WebhookEvent]:
        parser = JiraWebhookParser(
            instance=self.instance,
            base_url=self.settings.base_url,
            field_map=self._field_map_if_known,
            bot_account=self.bot_account,
        )
        return parser.parse(request)

    def apply(self, change: PushChange) -> PushResult:
        return JiraPusher(self.client, instance=self.instance).apply(change)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    @classmethod
    def simulator(cls) -> SimulatedTool:
        from .simulator import JiraSimulator

        return JiraSimulator()

    # -- helpers ------------------------------------------------------------------------------
    def _puller(self) -> JiraPuller:
        return JiraPuller(
            self.client, self.settings, instance=self.instance, field_map=self.field_map
        )

    def _field_map_if_known(self) -> FieldMap | None:
        if self._field_map is not None:
            return self._field_map
        if self.settings.estimate_field is None and not self.settings.extra_fields:
            return self.field_map()  # nothing to resolve: no request needed
        try:
            return self.field_map()  # one `GET /field`, cached for every later delivery
        except ConnectorError:
            return None
