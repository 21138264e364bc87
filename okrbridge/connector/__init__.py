"""The connector contract and the shared plumbing connectors build on.

Re-exported here: the error tree, the HTTP transport and its retry policy, the token bucket,
and the paging helpers. Cursor and signature helpers live in `okrbridge.connector.cursor` and
`okrbridge.connector.signatures`.
"""

from okrbridge.connector.errors import (
    AuthError,
    BadResponse,
    ConnectorError,
    CursorError,
    NotFound,
    PaginationError,
    RateLimitExhausted,
    RequestFailed,
    ToolUnavailable,
    UncertainWrite,
)
from okrbridge.connector.pacing import TokenBucket
from okrbridge.connector.pagination import TokenPaginator, next_link
from okrbridge.connector.transport import HttpTransport, RetryHint, RetryPolicy

__all__ = [
    "AuthError",
    "BadResponse",
    "ConnectorError",
    "CursorError",
    "HttpTransport",
    "NotFound",
    "PaginationError",
    "RateLimitExhausted",
    "RequestFailed",
    "RetryHint",
    "RetryPolicy",
    "TokenBucket",
    "TokenPaginator",
    "ToolUnavailable",
    "UncertainWrite",
    "next_link",
]
