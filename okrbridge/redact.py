"""One way to keep secrets out of every text the bridge shows: log lines, error messages, URLs.

A `Redactor` knows secret values (tokens, passwords, the Basic header they become) and
hides them, plus the values of `key=` / `token=` query parameters that some tools (Trello)
put in URLs. The logging pipeline, the HTTP transport's error texts, the store's URL and the
standard-library loggers of HTTP libraries all use it, so a secret masked in one place is
masked in all.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

__all__ = [
    "MASK",
    "MIN_SECRET_LENGTH",
    "RedactingFilter",
    "Redactor",
    "redact_store_url",
    "redactor",
]

MASK = "***"
MIN_SECRET_LENGTH = 4
"""Shorter values are not masked: they would garble ordinary words without hiding anything."""
_SECRET_QUERY = re.compile(r"((?:^|[?&;\s])(?:key|token|api_key|access_token)=)[^&\s\"']+", re.I)


class Redactor:
    """Replaces known secret values (longest first) and secret query parameters by `***`."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        merged = {*self.secrets, *(s for s in secrets if len(s) >= MIN_SECRET_LENGTH)}
        self.secrets = sorted(merged, key=len, reverse=True)

    def mask(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        if "=" in text:
            text = _SECRET_QUERY.sub(rf"\1{MASK}", text)
        return text


redactor = Redactor()
"""The process's redactor: secrets learnt from the config and the connectors go here."""


class RedactingFilter(logging.Filter):
    """A standard-library logging filter that masks a finished message with a `Redactor`
    (for libraries such as httpx whose lines may carry a URL with a key in it)."""

    def __init__(self, using: Redactor = redactor) -> None:
        super().__init__()
        self.redactor = using

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage() if record.args else str(record.msg)
        record.msg, record.args = self.redactor.mask(text), None
        return True

    def install(self, *loggers: str) -> None:
        """Attach to the named loggers (idempotent)."""
        for name in loggers:
            logger = logging.getLogger(name)
            if self not in logger.filters:
                logger.addFilter(self)


def redact_store_url(url: str) -> str:
    """A database URL with its password replaced by `***`; an unparseable one by its scheme."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):  # a port that is not a number is a ValueError
        scheme, sep, _ = url.partition("://")
        return f"{scheme}://..." if sep and scheme.replace("+", "").isalnum() else "<unparseable>"
