"""A JQL subset for the simulator: enough to serve what connectors and users send.

Supported: `field = v`, `!=`, `>=`, `<=`, `>`, `<`, `in (...)`, `not in (...)`, `is [not] empty`,
`AND`, `OR`, `NOT`, parentheses and `ORDER BY f [ASC|DESC], ...`. Fields: project, key
(issuekey), id, labels, status, statusCategory, assignee, parent, issuetype, updated, created.
Dates: epoch milliseconds, `"yyyy/MM/dd HH:mm"`, `"yyyy-MM-dd HH:mm"`, date-only, and relative
`-5m`/`-2h`/`-1d`/`-1w`. Quoted dates are read in the searching account's time zone, as Jira does.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

__all__ = ["JqlError", "Query", "parse_jql"]

Issue = Mapping[str, Any]
"""The view of an issue the predicate reads: field name -> value (lists for labels)."""
Predicate = Callable[[Issue], bool]

_TOKEN = re.compile(
    r"\s*(?:(?P<str>\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*')|(?P<op>!=|>=|<=|=|>|<|~)"
    r"|(?P<punct>[(),])|(?P<word>[^\s()=!<>,~\"']+))"
)
_DATE_FIELDS = frozenset({"updated", "created"})
_FIELDS = frozenset(
    {
        "project",
        "key",
        "id",
        "labels",
        "status",
        "statuscategory",
        "assignee",
        "parent",
        "issuetype",
        "updated",
        "created",
    }
)
_ALIASES = {
    "issuekey": "key",
    "issue": "key",
    "type": "issuetype",
    "updateddate": "updated",
    "createddate": "created",
}
_RELATIVE = re.compile(r"^([-+]?\d+)([mhdw])$")
_UNITS = {"m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_DATE_FORMATS = ("%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%Y-%m-%d")
UNBOUNDED = (
    "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
)


class JqlError(ValueError):
    """The query is invalid or unbounded (the API answers 400 with this message)."""


@dataclass(frozen=True)
class Query:
    predicate: Predicate
    order: tuple[tuple[str, bool], ...]
    """(field, descending) pairs; empty means Jira's default order (key descending-ish)."""


def parse_jql(text: str, *, time_zone: str = "UTC", now_ms: int | None = None) -> Query:
    """Parse `text`; raises `JqlError` for bad or unbounded queries."""
    tokens = _tokenize(text)
    parser = _Parser(tokens, ZoneInfo(time_zone), now_ms if now_ms is not None else _now_ms())
    return parser.query()


def _now_ms() -> int:
    return int(time.time() * 1000)


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise JqlError(f"Error in the JQL Query: unexpected character at position {position}.")
        position = match.end()
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind == "str":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        tokens.append((kind, value))
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], zone: ZoneInfo, now_ms: int) -> None:
        self.tokens = tokens
        self.index = 0
        self.zone = zone
        self.now_ms = now_ms

    # -- token helpers -------------------------------------------------------------------------
    def peek(self, offset: int = 0) -> tuple[str, str] | None:
        i = self.index + offset
        return self.tokens[i] if i < len(self.tokens) else None

    def word_is(self, *words: str, offset: int = 0) -> bool:
        token = self.peek(offset)
        return token is not None and token[0] == "word" and token[1].lower() in words

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise JqlError("Error in the JQL Query: the query ended unexpectedly.")
        self.index += 1
        return token

    def expect(self, value: str) -> None:
        _kind, got = self.take()
        if got.lower() != value:
            raise JqlError(f"Error in the JQL Query: expected '{value}' but got '{got}'.")

    # -- grammar -------------------------------------------------------------------------------
    def query(self) -> Query:
        predicate: Predicate | None = None
        if self.peek() is not None and not (self.word_is("order") and self.word_is("by", offset=1)):
            predicate = self.expression()
        order: tuple[tuple[str, bool], ...] = ()
        if self.word_is("order"):
            self.take()
            self.expect("by")
            order = self.order_by()
        if self.peek() is not None:
            raise JqlError(f"Error in the JQL Query: unexpected '{self.peek()[1]}'.")  # type: ignore[index]
        if predicate is None:
            raise JqlError(UNBOUNDED)
        return Query(predicate, order)

    def order_by(self) -> tuple[tuple[str, bool], ...]:
        order = []
        while True:
            field = _field(self.take()[1])
            descending = False
            if self.word_is("asc", "desc"):
                descending = self.take()[1].lower() == "desc"
            order.append((field, descending))
            if self.peek() != ("punct", ","):
                return tuple(order)
            self.take()

    def expression(self) -> Predicate:
        parts = [self.term()]
        while self.word_is("or"):
            self.take()
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else (lambda issue: any(p(issue) for p in parts))

    def term(self) -> Predicate:
        parts = [self.factor()]
        while self.word_is("and"):
            self.take()
            parts.append(self.factor())
        return parts[0] if len(parts) == 1 else (lambda issue: all(p(issue) for p in parts))

    def factor(self) -> Predicate:
        if self.word_is("not"):
            self.take()
            inner = self.factor()
            return lambda issue: not inner(issue)
        if self.peek() == ("punct", "("):
            self.take()
            inner = self.expression()
            self.expect(")")
            return inner
        return self.clause()

    def clause(self) -> Predicate:
        field = _field(self.take()[1])
        if self.word_is("is"):
            self.take()
            negate = self.word_is("not")
            if negate:
                self.take()
            if not self.word_is("empty", "null"):
                raise JqlError("Error in the JQL Query: expected EMPTY after IS.")
            self.take()
            return lambda issue: _is_empty(issue.get(field)) != negate
        negate_in = self.word_is("not") and self.word_is("in", offset=1)
        if negate_in or self.word_is("in"):
            self.index += 2 if negate_in else 1
            values = self.value_list(field)
            return lambda issue: _matches_any(issue.get(field), values) != negate_in
        kind, op = self.take()
        if kind != "op":
            raise JqlError(f"Error in the JQL Query: expected an operator after '{field}'.")
        value = self.value(field)
        return _compare(field, op, value)

    def value_list(self, field: str) -> list[Any]:
        self.expect("(")
        values = [self.value(field)]
        while self.peek() == ("punct", ","):
            self.take()
            values.append(self.value(field))
        self.expect(")")
        return values

    def value(self, field: str) -> Any:
        kind, raw = self.take()
        if kind not in ("word", "str"):
            raise JqlError(f"Error in the JQL Query: expected a value for '{field}'.")
        if field in _DATE_FIELDS:
            return self.date_millis(raw)
        return raw

    def date_millis(self, raw: str) -> int:
        if raw.isdigit():
            return int(raw)  # epoch milliseconds: exact, no time-zone reading
        relative = _RELATIVE.match(raw)
        if relative:
            return self.now_ms + int(relative.group(1)) * _UNITS[relative.group(2)]
        for fmt in _DATE_FORMATS:
            try:
                local = datetime.strptime(raw, fmt).replace(tzinfo=self.zone)
            except ValueError:
                continue
            # A bare date literal means a minute in the *searching account's* time zone.
            return int(local.timestamp() * 1000)
        raise JqlError(
            f"Date value '{raw}' for field 'updated' is invalid. Valid formats include: "
            "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period "
            "format e.g. '-5d', '4w 2d'."
        )


def _field(name: str) -> str:
    key = name.lower()
    key = _ALIASES.get(key, key)
    if key not in _FIELDS:
        raise JqlError(f"Field '{name}' does not exist or you do not have permission to view it.")
    return key


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _values(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.casefold() == b.casefold()
    return bool(str(a) == str(b))


def _matches_any(value: Any, wanted: list[Any]) -> bool:
    return any(_same(v, w) for v in _values(value) for w in wanted)


def _compare(field: str, op: str, value: Any) -> Predicate:
    if op == "=":
        return lambda issue: _matches_any(issue.get(field), [value])
    if op == "!=":
        return lambda issue: (
            not _is_empty(issue.get(field)) and not _matches_any(issue.get(field), [value])
        )
    if op == "~":
        needle = str(value).casefold()
        return lambda issue: needle in str(issue.get(field) or "").casefold()
    if field not in _DATE_FIELDS:
        raise JqlError(f"The operator '{op}' is not supported by the '{field}' field.")
    checks: dict[str, Callable[[int], bool]] = {
        ">=": lambda v: v >= value,
        "<=": lambda v: v <= value,
        ">": lambda v: v > value,
        "<": lambda v: v < value,
    }
    check = checks[op]
    return lambda issue: issue.get(field) is not None and check(int(issue[field]))
