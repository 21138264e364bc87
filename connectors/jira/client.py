"""Thin wrapper over the shared `HttpTransport`: one method per Jira REST call the bridge makes.

Everything speaks REST v3 (`/rest/api/3/...`). Retries, `Retry-After`/`X-RateLimit-*` handling
and error mapping all live in the transport; this module only knows paths and shapes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import httpx

from okrbridge.connector.base import ConnectorStats
from okrbridge.connector.errors import BadResponse, require_secret
from okrbridge.connector.transport import HttpTransport, RetryPolicy

from .settings import API_VERSION, JiraSettings

__all__ = [
    "BULKFETCH_MAX",
    "COMMENT_LIST_MAX",
    "RECONCILE_MAX",
    "JiraClient",
    "build_transport",
]

BULKFETCH_MAX = 100
"""`POST /issue/bulkfetch` takes at most 100 issue ids or keys per call."""
COMMENT_LIST_MAX = 1000
"""`POST /comment/list` takes at most 1,000 comment ids per call."""
RECONCILE_MAX = 50
"""`reconcileIssues` of an enhanced search lists at most 50 issue ids."""
_COMMENT_PAGE = 100
_API = f"rest/api/{API_VERSION}"

# Atlassian's advice: start backing off at a few seconds, double, cap around 30 s, honour
# Retry-After when given (the transport does), and never repeat a non-idempotent create.
JIRA_RETRY = RetryPolicy(max_attempts=5, base_delay=2.0, max_delay=30.0, max_total_wait=300.0)


def build_transport(
    settings: JiraSettings,
    env: Mapping[str, str],
    *,
    instance: str,
    stats: ConnectorStats,
    client: httpx.Client | None = None,
    policy: RetryPolicy = JIRA_RETRY,
) -> HttpTransport:
    """The transport for one instance, with credentials read from `env` by variable name."""
    if settings.auth == "cloud":
        email_var, token_var = settings.email_env or "", settings.token_env or ""
        hint = f"the environment variables {email_var} and {token_var} (Atlassian API token)"
        auth: tuple[str, str] | None = (
            require_secret(env, email_var, instance),
            require_secret(env, token_var, instance),
        )
        headers = {"Accept": "application/json"}
    else:
        pat_var = settings.pat_env or ""
        hint = f"the environment variable {pat_var} (personal access token)"
        auth = None
        headers = {
            "Accept": "application/json",
            "Authorization": f"Bearer {require_secret(env, pat_var, instance)}",
        }
    return HttpTransport(
        instance=instance,
        base_url=settings.base_url,
        stats=stats,
        headers=headers,
        auth=auth,
        credential_hint=hint,
        policy=policy,
        client=client,
        timeout=30.0,
    )


class JiraClient:
    """The Jira REST calls of the bridge (reads and its two kinds of writes)."""

    def __init__(self, transport: HttpTransport) -> None:
        self.transport = transport

    # -- metadata -----------------------------------------------------------------------------
    def fields(self) -> list[dict[str, Any]]:
        """`GET /field`: every system and custom field with its id, name and clause names."""
        return _list(self.transport.get_json(f"{_API}/field"), self.transport.instance)

    def myself(self) -> dict[str, Any]:
        """`GET /myself`: the account the credentials belong to (the bridge's bot)."""
        return _dict(self.transport.get_json(f"{_API}/myself"), self.transport.instance)

    # -- reading issues -----------------------------------------------------------------------
    def search_ids(
        self,
        jql: str,
        next_page_token: str | None,
        max_results: int,
        *,
        fields: Sequence[str] = ("id",),
        reconcile: Sequence[str] = (),
    ) -> tuple[dict[str, Any], datetime | None]:
        """One page of enhanced search (ids only by default: pages of up to 5,000 ids; with
        more `fields`, pages of up to 100 whole issues), and the server's time of the answer
        (its `Date` header) when it sent one. `reconcile` (at most 50 issue ids) asks for
        read-after-write consistency on those issues.

        Sent as POST so a long JQL never hits URL length limits; it is a read and safe to
        repeat, so the transport may retry it.
        """
        body: dict[str, Any] = {"jql": jql, "fields": list(fields), "maxResults": max_results}
        if next_page_token:
            body["nextPageToken"] = next_page_token
        if reconcile:
            body["reconcileIssues"] = [int(i) for i in reconcile[:RECONCILE_MAX]]
        response, data = self._read_json("POST", f"{_API}/search/jql", body)
        return _dict(data, self.transport.instance), _server_time(response)

    def bulkfetch(self, ids: Sequence[str], fields: Sequence[str]) -> list[dict[str, Any]]:
        """Details of up to 100 issues; ids that vanished or are invisible are simply absent."""
        if len(ids) > BULKFETCH_MAX:
            raise ValueError(f"bulkfetch takes at most {BULKFETCH_MAX} ids, got {len(ids)}")
        body = {"issueIdsOrKeys": list(ids), "fields": list(fields), "fieldsByKeys": False}
        _, data = self._read_json("POST", f"{_API}/issue/bulkfetch", body)
        return _list(
            _dict(data, self.transport.instance).get("issues", []), self.transport.instance
        )

    def comments_by_ids(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        """Comments (with their properties) by id, from any issues: `POST /comment/list`.
        Ids that vanished are absent; the answer pages (`isLast`), so ask again for the rest."""
        wanted = list(dict.fromkeys(str(i) for i in ids))
        found: dict[str, dict[str, Any]] = {}
        while wanted:
            if len(wanted) > COMMENT_LIST_MAX:
                raise ValueError(f"comment/list takes at most {COMMENT_LIST_MAX} ids")
            _, data = self.transport.request_with_json(
                "POST",
                f"{_API}/comment/list",
                params={"expand": "properties"},
                json={"ids": [int(i) for i in wanted]},
                write=False,
                idempotent=True,
            )
            page = _dict(data, self.transport.instance)
            values = _list(page.get("values", []), self.transport.instance)
            found.update((str(c.get("id")), c) for c in values)
            if page.get("isLast", True) is not False or not values:
                break
            wanted = [i for i in wanted if i not in found]
        return list(found.values())

    def _read_json(self, method: str, path: str, body: Any) -> tuple[httpx.Response, Any]:
        """A read sent as POST: retried like a GET, its JSON decoded once by the transport."""
        return self.transport.request_with_json(
            method, path, json=body, write=False, idempotent=True
        )

    # -- writing ------------------------------------------------------------------------------
    def edit_labels(self, key: str, add: Sequence[str], remove: Sequence[str]) -> None:
        """Add and remove labels in ONE edit with the `update` verbs.

        Never `fields.labels`: that SETs the whole list and would drop labels a person added
        since we last read the issue. `notifyUsers=false` spares watchers an e-mail, but Jira
        silently ignores it unless the account administers the project.
        """
        verbs = [{"add": label} for label in add] + [{"remove": label} for label in remove]
        self.transport.request(
            "PUT",
            f"{_API}/issue/{_segment(key)}",
            params={"notifyUsers": "false"},
            json={"update": {"labels": verbs}},
        )

    def iter_comments(self, key: str) -> Iterator[dict[str, Any]]:
        """Every comment of an issue with its properties (comments still page by `startAt`)."""
        start = 0
        while True:
            data = _dict(
                self.transport.get_json(
                    f"{_API}/issue/{_segment(key)}/comment",
                    params={"startAt": start, "maxResults": _COMMENT_PAGE, "expand": "properties"},
                ),
                self.transport.instance,
            )
            comments = _list(data.get("comments", []), self.transport.instance)
            yield from comments
            start += len(comments)
            if not comments or start >= int(data.get("total", 0)):
                return

    def get_comment(self, key: str, comment_id: str) -> dict[str, Any]:
        path = f"{_API}/issue/{_segment(key)}/comment/{_segment(comment_id)}"
        data = self.transport.get_json(path, params={"expand": "properties"})
        return _dict(data, self.transport.instance)

    def create_comment(
        self, key: str, body: dict[str, Any], properties: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """POST a comment carrying its entity properties in the same request (one write)."""
        data = self.transport.request_json(
            "POST",
            f"{_API}/issue/{_segment(key)}/comment",
            json={"body": body, "properties": properties},
        )
        return _dict(data, self.transport.instance)

    def update_comment(
        self,
        key: str,
        comment_id: str,
        body: dict[str, Any],
        properties: list[dict[str, Any]] | None = None,
    ) -> None:
        """Edit in place; `properties` ride along in the same request (one write)."""
        payload: dict[str, Any] = {"body": body}
        if properties:
            payload["properties"] = properties
        self.transport.request(
            "PUT",
            f"{_API}/issue/{_segment(key)}/comment/{_segment(comment_id)}",
            params={"notifyUsers": "false"},
            json=payload,
        )

    def delete_comment(self, key: str, comment_id: str) -> None:
        self.transport.request(
            "DELETE", f"{_API}/issue/{_segment(key)}/comment/{_segment(comment_id)}"
        )

    def close(self) -> None:
        self.transport.close()


def _server_time(response: httpx.Response) -> datetime | None:
    try:
        return parsedate_to_datetime(response.headers["date"]).astimezone(UTC)
    except (KeyError, TypeError, ValueError, IndexError):
        return None


def _segment(value: str) -> str:
    """One URL path segment: a key or id from the store can never inject a path."""
    return quote(str(value), safe="")


def _dict(data: Any, instance: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise BadResponse(instance, f"expected a JSON object, got {type(data).__name__}")
    return data


def _list(data: Any, instance: str) -> list[dict[str, Any]]:
    if not isinstance(data, list):
        raise BadResponse(instance, f"expected a JSON array, got {type(data).__name__}")
    return [item for item in data if isinstance(item, dict)]
