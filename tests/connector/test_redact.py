"""One redaction for logs, error texts and URLs (okrbridge.redact)."""

from __future__ import annotations

import logging

import pytest

from okrbridge.redact import RedactingFilter, Redactor, redact_store_url


def test_known_secrets_and_query_keys_are_masked_longest_first() -> None:
    redactor = Redactor(["abcd", "abcdefgh", "xy"])  # "xy" is too short to mask
    text = redactor.mask("token abcdefgh then abcd, GET /1/cards?key=k1&token=t2&fields=id xy")
    assert "abcd" not in text
    assert "k1" not in text
    assert "t2" not in text
    assert "fields=id" in text
    assert "xy" in text
    assert text.count("***") == 4


def test_a_library_logger_line_is_masked(caplog: pytest.LogCaptureFixture) -> None:
    redactor = Redactor(["s3cr3t-value"])
    RedactingFilter(redactor).install("test.redact.lib")
    with caplog.at_level(logging.INFO, logger="test.redact.lib"):
        logging.getLogger("test.redact.lib").info("GET %s", "https://x/?token=abc&a=s3cr3t-value")
    assert caplog.messages == ["GET https://x/?token=***&a=***"]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql+psycopg://bob:pw123@db:5432/okr", "postgresql+psycopg://bob:***@db:5432/okr"),
        ("sqlite:///data/okr.db", "sqlite:///data/okr.db"),
        ("postgresql://bob:pw@db:notaport/okr", "postgresql://..."),
        ("not a url at all", "<unparseable>"),
    ],
)
def test_store_urls_never_show_a_password(url: str, shown: str) -> None:
    assert redact_store_url(url) == shown
