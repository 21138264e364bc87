"""How configuration problems are reported: one line each, `file:line: key.path: message`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["ConfigError", "ConfigProblem", "KeyPath", "format_path"]

KeyPath = tuple[str | int, ...]
"""A location in the document: table keys and array indices, e.g. `("objectives", 0, "id")`."""


def _format_segment(segment: str) -> str:
    bare = segment and all(ch.isalnum() or ch in "_-" for ch in segment)
    return segment if bare else '"' + segment.replace('"', '\\"') + '"'


def format_path(path: KeyPath) -> str:
    """`("objectives", 0, "key_results", 1, "target")` -> `objectives[0].key_results[1].target`."""
    text = ""
    for segment in path:
        if isinstance(segment, int):
            text += f"[{segment}]"
        else:
            text += ("." if text else "") + _format_segment(segment)
    return text


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with the configuration, located as precisely as possible."""

    file: str
    line: int | None
    key: str
    """Dotted key path such as `objectives[0].key_results[1].target`; "" for the whole file."""
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class ConfigError(Exception):
    """The configuration cannot be used; `problems` lists every problem found."""

    def __init__(self, problems: Iterable[ConfigProblem]) -> None:
        self.problems: list[ConfigProblem] = list(problems)
        super().__init__(self._text(self.problems))

    @staticmethod
    def _text(problems: Sequence[ConfigProblem]) -> str:
        return "\n".join(str(problem) for problem in problems)

    def __str__(self) -> str:
        return self._text(self.problems)
