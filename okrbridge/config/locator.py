"""Line numbers for key paths in a TOML document.

`tomllib` returns plain data without positions, so this module scans the (already valid) TOML
text once and records the line where each table, key and array element starts. Array-of-tables
headers are counted per parent, so `[[objectives.key_results]]` under the second
`[[objectives]]` becomes `objectives[1].key_results[n]`. Strings (including multi-line ones),
arrays and inline tables are walked structurally, so a `#` or `[` inside a string never
confuses it. A path that has no line of its own (a missing key) falls back to the nearest
enclosing table or key that has one.
"""

from __future__ import annotations

import bisect
import contextlib
import re
import tomllib

from okrbridge.config.problems import KeyPath

__all__ = ["KeyLines", "line_for", "locate_keys"]

KeyLines = dict[KeyPath, int]
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_SCALAR_END = re.compile(r"[,\]}#\n]")


def locate_keys(text: str) -> KeyLines:
    """Map every key path defined in `text` to the 1-based line where it first appears.

    Meant for documents `tomllib` accepted; on anything it cannot follow it returns what it
    found so far (locations are a help for messages, never a reason to fail).
    """
    scanner = _Scanner(text)
    with contextlib.suppress(IndexError, ValueError, tomllib.TOMLDecodeError):
        scanner.document()
    return scanner.lines


def line_for(lines: KeyLines, path: KeyPath) -> int | None:
    """Line of `path`, else of its nearest enclosing path that has one, else None."""
    for end in range(len(path), 0, -1):
        line = lines.get(path[:end])
        if line is not None:
            return line
    return None


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.lines: KeyLines = {}
        self._newlines = [i for i, ch in enumerate(text) if ch == "\n"]
        self._aot_counts: dict[KeyPath, int] = {}
        self._table: KeyPath = ()

    # -- helpers ------------------------------------------------------------------------------
    def _line(self) -> int:
        return bisect.bisect_left(self._newlines, self.pos) + 1

    def _mark(self, path: KeyPath) -> None:
        self.lines.setdefault(path, self._line())

    def _peek(self, count: int = 1) -> str:
        return self.text[self.pos : self.pos + count]

    def _skip_blank(self, *, newlines: bool) -> None:
        """Skip spaces, tabs and comments (and line breaks when `newlines`)."""
        chars = " \t\r\n" if newlines else " \t"
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch in chars:
                self.pos += 1
            elif ch == "#":
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end < 0 else end
            else:
                return

    # -- document structure -------------------------------------------------------------------
    def document(self) -> None:
        while True:
            self._skip_blank(newlines=True)
            if self.pos >= len(self.text):
                return
            start = self.pos
            if self._peek() == "[":
                self._header()
            else:
                self._keyval(self._table)
            if self.pos == start:  # never loop on something unexpected
                self.pos += 1

    def _header(self) -> None:
        array = self._peek(2) == "[["
        self.pos += 2 if array else 1
        self._skip_blank(newlines=False)
        keys = self._key()
        self._skip_blank(newlines=False)
        self.pos += 2 if array else 1
        self._table = self._resolve(keys, array=array)

    def _resolve(self, keys: list[str], *, array: bool) -> KeyPath:
        """Turn header keys into a path; arrays of tables get the index of their element."""
        path: KeyPath = ()
        for i, key in enumerate(keys):
            path += (key,)
            if array and i == len(keys) - 1:
                index = self._aot_counts.get(path, 0)
                self._aot_counts[path] = index + 1
                self._mark(path)
                path += (index,)
            elif path in self._aot_counts:
                self._mark(path)
                path += (self._aot_counts[path] - 1,)
            self._mark(path)
        return path

    def _keyval(self, table: KeyPath) -> None:
        path = table
        for key in self._key():
            path += (key,)
            self._mark(path)
        self._skip_blank(newlines=False)
        if self._peek() != "=":
            raise ValueError("expected '='")
        self.pos += 1
        self._skip_blank(newlines=False)
        self._value(path)

    def _key(self) -> list[str]:
        keys: list[str] = []
        while True:
            self._skip_blank(newlines=False)
            keys.append(self._simple_key())
            self._skip_blank(newlines=False)
            if self._peek() != ".":
                return keys
            self.pos += 1

    def _simple_key(self) -> str:
        ch = self._peek()
        if ch in "\"'":
            start = self.pos
            self._string()
            raw = self.text[start : self.pos]
            value = tomllib.loads(f"k = {raw}")["k"]
            return str(value)
        match = _BARE_KEY.match(self.text, self.pos)
        if match is None:
            raise ValueError("expected a key")
        self.pos = match.end()
        return match.group()

    # -- values -------------------------------------------------------------------------------
    def _value(self, path: KeyPath) -> None:
        ch = self._peek()
        if ch in "\"'":
            self._string()
        elif ch == "[":
            self._array(path)
        elif ch == "{":
            self._inline_table(path)
        else:
            match = _SCALAR_END.search(self.text, self.pos)
            self.pos = len(self.text) if match is None else match.start()

    def _array(self, path: KeyPath) -> None:
        self.pos += 1
        index = 0
        while True:
            self._skip_blank(newlines=True)
            if self._peek() in ("]", ""):
                self.pos += 1
                return
            element = (*path, index)
            self._mark(element)
            self._value(element)
            index += 1
            self._skip_blank(newlines=True)
            if self._peek() == ",":
                self.pos += 1

    def _inline_table(self, path: KeyPath) -> None:
        self.pos += 1
        while True:
            self._skip_blank(newlines=True)
            if self._peek() in ("}", ""):
                self.pos += 1
                return
            self._keyval(path)
            self._skip_blank(newlines=True)
            if self._peek() == ",":
                self.pos += 1

    def _string(self) -> None:
        quote = self._peek()
        if self._peek(3) == quote * 3:
            self._multiline_string(quote)
            return
        self.pos += 1
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch == "\\" and quote == '"':
                self.pos += 2
                continue
            self.pos += 1
            if ch == quote or ch == "\n":
                return

    def _multiline_string(self, quote: str) -> None:
        self.pos += 3
        delimiter = quote * 3
        while self.pos < len(self.text):
            if self.text[self.pos] == "\\" and quote == '"':
                self.pos += 2
            elif self.text.startswith(delimiter, self.pos):
                self.pos += 3
                # Up to two more quotes right before the end belong to the content.
                extra = 0
                while extra < 2 and self._peek() == quote:
                    self.pos += 1
                    extra += 1
                return
            else:
                self.pos += 1
