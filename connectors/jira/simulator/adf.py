"""Atlassian Document Format as the simulated site reads it, written from Atlassian's ADF
reference (doc -> block nodes -> inline nodes with marks), not from the connector's renderer.

`check_document` refuses what Jira refuses (its answer is 400 "INVALID_INPUT"): a body that is
not a version-1 `doc`, unknown node or mark types, empty text nodes, a link without `href`.
`plain_text` renders a document the way a reader sees it, without the markup characters: text,
line breaks, one line per block, list items as `- item`. `person_comment` builds the document a
person's plain comment becomes.
"""

from __future__ import annotations

from typing import Any

__all__ = ["check_document", "person_comment", "plain_text"]

_BLOCKS = frozenset(
    {
        "paragraph",
        "heading",
        "bulletList",
        "orderedList",
        "listItem",
        "blockquote",
        "codeBlock",
        "rule",
        "panel",
    }
)
_INLINE = frozenset({"text", "hardBreak", "mention", "emoji", "inlineCard", "date", "status"})
_MARKS = frozenset({"em", "strong", "code", "link", "strike", "underline", "subsup", "textColor"})


def check_document(doc: Any) -> str | None:
    """None when `doc` is a document Jira accepts, else the reason it is refused."""
    if not isinstance(doc, dict) or doc.get("type") != "doc" or doc.get("version") != 1:
        return "the body is not an ADF document (type doc, version 1)"
    content = doc.get("content")
    if not isinstance(content, list):
        return "doc.content must be a list"
    for node in content:
        problem = _check_node(node, block=True)
        if problem:
            return problem
    return None


def _check_node(node: Any, *, block: bool) -> str | None:
    if not isinstance(node, dict):
        return "every node must be an object"
    kind = node.get("type")
    allowed = _BLOCKS if block else _INLINE
    if kind not in allowed:
        return f"node type {kind!r} is not allowed here"
    if kind == "text":
        return _check_text(node)
    children = node.get("content", [])
    if not isinstance(children, list):
        return f"{kind}.content must be a list"
    inline_children = kind in ("paragraph", "heading", "codeBlock")
    for child in children:
        problem = _check_node(child, block=not inline_children)
        if problem:
            return problem
    return None


def _check_text(node: dict[str, Any]) -> str | None:
    text = node.get("text")
    if not isinstance(text, str) or not text:
        return "a text node must have non-empty text"
    for mark in node.get("marks") or ():
        if not isinstance(mark, dict) or mark.get("type") not in _MARKS:
            return f"mark {mark!r} is not allowed"
        if mark["type"] == "link" and not (mark.get("attrs") or {}).get("href"):
            return "a link mark needs attrs.href"
    return None


def plain_text(node: Any) -> str:
    """What a reader sees, one block per line."""
    if not isinstance(node, dict):
        return ""
    kind = node.get("type")
    if kind == "text":
        return str(node.get("text", ""))
    if kind == "hardBreak":
        return "\n"
    children = [c for c in node.get("content") or () if isinstance(c, dict)]
    if kind == "listItem":
        inner = "\n".join(plain_text(c) for c in children)
        return "- " + inner.replace("\n", "\n  ")
    if kind in ("paragraph", "heading", "codeBlock"):
        return "".join(plain_text(c) for c in children)
    return "\n".join(plain_text(c) for c in children)


def person_comment(text: str) -> dict[str, Any]:
    """A plain comment as the editor stores it: one paragraph per line."""
    lines = [line for line in text.splitlines() if line.strip()] or ["(empty)"]
    return {
        "type": "doc",
        "version": 1,
        "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": line}]} for line in lines
        ],
    }
