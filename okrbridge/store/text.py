"""Text every store can keep: one normalisation for each string that enters the store.

Tools and webhook senders may hand over strings that PostgreSQL refuses (NUL: "text fields
cannot contain NUL") or that no UTF-8 encoder accepts (a lone UTF-16 surrogate such as the
JSON escape `"\\ud800"`), while SQLite would keep them as they are. Normalised at the store's
boundary, SQLite and PostgreSQL hold the same value: a lone surrogate becomes U+FFFD, a
surrogate pair becomes the character it encodes, NUL is dropped. Also inside JSON values
(keys included), which is where a tool's raw payload goes.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["clean", "clean_text", "may_need_cleaning"]

REPLACEMENT = "\ufffd"

_SUSPECT_ESCAPE = re.compile(r"\\u(?:0000|d[89a-f])")
"""In JSON text written with `ensure_ascii=True`: a NUL, or a surrogate (lone, or half of a
pair that encodes a character beyond the BMP; those are fine but rare enough to re-check)."""


def clean_text(text: str) -> str:
    """`text` without NUL and with every lone surrogate replaced by U+FFFD."""
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # surrogates: pairs become their character, lone ones U+FFFD
            text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text.replace("\x00", "") if "\x00" in text else text


def clean(value: Any) -> Any:
    """`value` with `clean_text` applied to every string in it (dict keys too), recursively
    through dicts, lists and tuples; other values are returned as they are."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(clean(v) for v in value)
    return value


def may_need_cleaning(json_text: str) -> bool:
    """False when JSON text (written with `ensure_ascii=True`) holds no NUL and no surrogate,
    so the value it was written from is clean: a check at C speed for the common case."""
    return _SUSPECT_ESCAPE.search(json_text) is not None
