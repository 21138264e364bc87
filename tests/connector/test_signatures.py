"""Webhook signature helpers, checked against documented vectors."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from okrbridge.connector.signatures import (
    hmac_base64,
    hmac_hex,
    verify_base64_signature,
    verify_hex_signature,
)

GITHUB_SECRET = b"It's a Secret to Everybody"
GITHUB_BODY = b"Hello, World!"
GITHUB_DIGEST = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def test_github_documented_vector() -> None:
    assert hmac_hex(GITHUB_SECRET, GITHUB_BODY) == GITHUB_DIGEST
    assert verify_hex_signature("sha256=" + GITHUB_DIGEST, GITHUB_SECRET, GITHUB_BODY)


@pytest.mark.parametrize(
    "header",
    [
        "SHA256=" + GITHUB_DIGEST.upper(),
        f"  sha256={GITHUB_DIGEST}\n",
        "sha256=" + GITHUB_DIGEST.upper(),
    ],
)
def test_case_and_whitespace_tolerated(header: str) -> None:
    assert verify_hex_signature(header, GITHUB_SECRET, GITHUB_BODY)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha256=",
        GITHUB_DIGEST,
        "sha1=" + GITHUB_DIGEST,
        "sha256=zz" + GITHUB_DIGEST[2:],
        "sha256=" + GITHUB_DIGEST[:-2],
    ],
)
def test_missing_or_malformed_header_is_false(header: str | None) -> None:
    assert not verify_hex_signature(header, GITHUB_SECRET, GITHUB_BODY)


def test_tampered_body_or_wrong_secret_is_false() -> None:
    header = "sha256=" + GITHUB_DIGEST
    assert not verify_hex_signature(header, GITHUB_SECRET, GITHUB_BODY + b" ")
    assert not verify_hex_signature(header, b"another secret", GITHUB_BODY)
    assert not verify_hex_signature(header, b"", GITHUB_BODY)


def test_hex_without_prefix_and_other_algorithm() -> None:
    digest = hmac.new(b"k", b"body", hashlib.sha1).hexdigest()
    assert hmac_hex(b"k", b"body", "sha1") == digest
    assert verify_hex_signature(digest, b"k", b"body", prefix="", algo="sha1")


def test_trello_base64_sha1_over_body_and_callback_url() -> None:
    secret = b"oauth1-secret"
    body = '{"action":{"type":"commentCard","data":{"text":"Überprüfung ✓"}}}'.encode()
    callback = b"https://okr.example/webhooks/trello?board=1"
    expected = base64.b64encode(hmac.new(secret, body + callback, hashlib.sha1).digest()).decode()
    assert hmac_base64(secret, body + callback) == expected
    assert verify_base64_signature(expected, secret, body + callback)
    assert not verify_base64_signature(
        expected, secret, body + b"https://okr.example/webhooks/trello"
    )
    assert not verify_base64_signature("not base64!", secret, body + callback)
    assert not verify_base64_signature(None, secret, body + callback)
