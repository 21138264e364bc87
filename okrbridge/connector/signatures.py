"""Webhook signature helpers: HMAC in hex (Jira, GitHub) or base64 (Trello), constant-time.

- Jira: `X-Hub-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>`.
- GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, raw body)>`.
- Trello: `X-Trello-Webhook: base64(HMAC-SHA1(secret, body + callbackURL))`; the caller builds
  the message (body bytes + the callback URL exactly as registered).

Always sign the raw bytes as received: re-serialised JSON does not match.
"""

from __future__ import annotations

import base64
import binascii
import hmac

__all__ = ["hmac_base64", "hmac_hex", "verify_base64_signature", "verify_hex_signature"]


def hmac_hex(secret: bytes, body: bytes, algo: str = "sha256") -> str:
    """Lower-case hex HMAC of `body` with `secret`."""
    return hmac.new(secret, body, algo).hexdigest()


def hmac_base64(secret: bytes, body: bytes, algo: str = "sha1") -> str:
    """Base64 HMAC of `body` with `secret` (Trello uses SHA-1)."""
    return base64.b64encode(hmac.new(secret, body, algo).digest()).decode("ascii")


def verify_hex_signature(
    header_value: str | None,
    secret: bytes,
    body: bytes,
    *,
    prefix: str = "sha256=",
    algo: str = "sha256",
) -> bool:
    """True when `header_value` is `prefix` + the hex HMAC of `body`.

    Tolerates upper-case hex, a differently-cased prefix and surrounding whitespace; a
    missing or malformed header, or an empty secret, is simply False.
    """
    if not header_value or not secret:
        return False
    value = header_value.strip()
    if prefix:
        if value[: len(prefix)].lower() != prefix.lower():
            return False
        value = value[len(prefix) :]
    try:
        given = bytes.fromhex(value)
    except ValueError:
        return False
    return hmac.compare_digest(given, hmac.new(secret, body, algo).digest())


def verify_base64_signature(
    header_value: str | None, secret: bytes, body: bytes, *, algo: str = "sha1"
) -> bool:
    """True when `header_value` is the base64 HMAC of `body`; missing/malformed is False."""
    if not header_value or not secret:
        return False
    try:
        given = base64.b64decode(header_value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    return hmac.compare_digest(given, hmac.new(secret, body, algo).digest())
