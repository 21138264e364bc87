"""A small Markdown -> Atlassian Document Format renderer, enough for the bridge's comment.

REST v3 takes rich text only as ADF JSON (a plain string is refused), so the core's Markdown is
rendered here: headings, paragraphs (line breaks kept as `hardBreak`), bullet lists (nested by
indentation, indented continuation lines), **bold**, *italic* or _italic_, `code` and [links](url).
`adf_text` goes the other way, to plain text, for tests and the simulator.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["adf_text", "markdown_to_adf"]

Node = dict[str, Any]

_BULLET = re.compile(r"^(\s*)[-*+]\s+(.*)$")
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_INLINE = re.compile(
    r"\*\*(?P<bold>.+?)\*\*"
    r"|\[(?P<ltext>[^\]]+)\]\((?P<href>[^)\s]+)\)"
    r"|`(?P<code>[^`]+)`"
    r"|(?<![*\w])\*(?P<em>[^*\s][^*]*?)\*(?![*\w])"
    r"|(?<![_\w])_(?P<uem>[^_\s][^_]*?)_(?![_\w])"
)
_SAFE_HREF = re.compile(r"^(https?://|mailto:)", re.IGNORECASE)


def markdown_to_adf(markdown: str) -> Node:
    """An ADF `doc` for `markdown`."""
    content: list[Node] = []
    for block in re.split(r"\n\s*\n", markdown.strip("\n")):
        if block.strip():
            content.extend(_block(block.splitlines()))
    return {"type": "doc", "version": 1, "content": content}


def _block(lines: list[str]) -> list[Node]:
    nodes: list[Node] = []
    paragraph: list[str] = []
    items: list[tuple[int, list[str]]] = []  # (indent, lines) of consecutive list items

    def flush() -> None:
        if paragraph:
            nodes.append(_paragraph(paragraph))
            paragraph.clear()
        if items:
            nodes.append(_bullet_list(items))
            items.clear()

    for line in lines:
        bullet, heading = _BULLET.match(line), _HEADING.match(line.strip())
        if bullet:
            if paragraph:
                flush()
            items.append((len(bullet.group(1).expandtabs(4)), [bullet.group(2)]))
        elif items and line[:1].isspace():
            items[-1][1].append(line.strip())  # continuation of the current item
        elif heading:
            flush()
            level = len(heading.group(1))
            nodes.append(
                {"type": "heading", "attrs": {"level": level}, "content": _inline(heading.group(2))}
            )
        else:
            if items:
                flush()
            paragraph.append(line.strip())
    flush()
    return nodes


def _paragraph(lines: list[str]) -> Node:
    content: list[Node] = []
    for index, line in enumerate(lines):
        if index:
            content.append({"type": "hardBreak"})
        content.extend(_inline(line))
    return {"type": "paragraph", "content": content}


def _bullet_list(items: list[tuple[int, list[str]]]) -> Node:
    """Nest items by indentation: an item more indented than the previous one is its child."""
    root: Node = {"type": "bulletList", "content": []}
    stack: list[tuple[int, Node]] = [(-1, root)]
    for indent, lines in items:
        while len(stack) > 1 and indent <= stack[-1][0]:
            stack.pop()
        parent_list = stack[-1][1]
        if parent_list["type"] == "listItem":  # first child of an item: open a nested list
            nested: Node = {"type": "bulletList", "content": []}
            parent_list["content"].append(nested)
            parent_list = nested
        item: Node = {"type": "listItem", "content": [_paragraph(lines)]}
        parent_list["content"].append(item)
        stack.append((indent, item))
    return root


def _inline(text: str) -> list[Node]:
    nodes: list[Node] = []
    position = 0
    for match in _INLINE.finditer(text):
        if match.start() > position:
            nodes.append(_text(text[position : match.start()]))
        nodes.extend(_inline_match(match))
        position = match.end()
    if position < len(text):
        nodes.append(_text(text[position:]))
    return [n for n in nodes if n.get("text")]


def _inline_match(match: re.Match[str]) -> list[Node]:
    if match.group("bold") is not None:
        return [_with_mark(n, {"type": "strong"}) for n in _inline(match.group("bold"))]
    if match.group("href") is not None:
        href, label = match.group("href"), match.group("ltext")
        if not _SAFE_HREF.match(href):  # never emit javascript: or other schemes
            return [_text(label)]
        return [_with_mark(_text(label), {"type": "link", "attrs": {"href": href}})]
    if match.group("code") is not None:
        return [_with_mark(_text(match.group("code")), {"type": "code"})]
    emphasis = match.group("em") if match.group("em") is not None else match.group("uem")
    return [_with_mark(n, {"type": "em"}) for n in _inline(emphasis)]


def _text(value: str) -> Node:
    return {"type": "text", "text": value}


def _with_mark(node: Node, mark: Node) -> Node:
    return {**node, "marks": [*node.get("marks", []), mark]}


def adf_text(node: Any) -> str:
    """Plain text of an ADF node (blocks on their own lines, list items prefixed `- `)."""
    if isinstance(node, str):
        return node
    if not isinstance(node, dict):
        return ""
    kind = node.get("type")
    if kind == "text":
        return str(node.get("text", ""))
    if kind == "hardBreak":
        return "\n"
    children = node.get("content") or []
    if kind in ("doc", "bulletList", "orderedList"):
        return "\n".join(adf_text(child) for child in children)
    if kind == "listItem":
        inner = "\n".join(adf_text(child) for child in children)
        return "- " + inner.replace("\n", "\n  ")
    return "".join(adf_text(child) for child in children)
