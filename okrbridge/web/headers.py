"""Which request headers the inbox keeps: an allowlist, never the whole request.

A delivery is stored with what its later parse and an audit of its signature need: the
signature, event and delivery-id headers of each tool, its content type, and whatever its
connector class declares in `Connector.webhook_headers`. Everything else (`Authorization`, a
`Cookie` carrying the dashboard token, API keys a proxy adds, tracing headers) is dropped
before the delivery reaches the store. A name that looks like a credential is never kept,
even when a connector declares it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = ["INBOX_HEADERS", "inbox_headers"]

INBOX_HEADERS = frozenset(
    {
        "content-type",
        # GitHub: event name, delivery GUID, HMAC signatures, the hook that sent it.
        "x-github-event",
        "x-github-delivery",
        "x-github-hook-id",
        "x-github-hook-installation-target-id",
        "x-github-hook-installation-target-type",
        "x-hub-signature",
        "x-hub-signature-256",
        # Jira: webhook identifier (de-duplication), retry counter; signature in x-hub-signature.
        "x-atlassian-webhook-identifier",
        "x-atlassian-webhook-retry",
        # Trello: HMAC-SHA1 of body + callback URL.
        "x-trello-webhook",
    }
)
"""Header names (lower-case) kept for every connector."""

_CREDENTIAL_WORDS = ("authorization", "cookie", "token", "key", "secret", "password", "session")


def inbox_headers(headers: Mapping[str, str], declared: Iterable[str] = ()) -> dict[str, str]:
    """The headers of a delivery to store: those in `INBOX_HEADERS` or `declared` (by the
    connector), never one whose name looks like a credential. Names are lower-cased."""
    allowed = INBOX_HEADERS.union(name.lower() for name in declared)
    kept = {}
    for name, value in headers.items():
        lower = name.lower()
        if lower in allowed and not any(word in lower for word in _CREDENTIAL_WORDS):
            kept[lower] = value
    return kept
