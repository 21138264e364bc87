"""The bridge's own marks in a tool, defined once from the configured label prefix.

Every connector asks this module whether a label is the bridge's and how to stamp and read
its comment, so the three tools cannot drift apart. The bridge owns exactly the status
labels `<prefix><slug>` (`okr:on-track`, ...) and the one comment carrying its stamp; a
person's `okr:<initiative-id>` mapping label and everything else are never the bridge's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from okrbridge.domain import KRStatus

__all__ = ["DEFAULT_PREFIX", "STAMP_NAME", "StatusLabels", "comment_stamp", "read_stamp"]

DEFAULT_PREFIX = "okr:"
STAMP_NAME = "okrbridge"
"""The word that identifies the bridge's comment (each tool hides it its own way)."""
_STAMP = re.compile(r"okrbridge(?::([0-9a-f]{8,64}))?")


@dataclass(frozen=True)
class StatusLabels:
    """The status labels of one configured prefix, e.g. `okr:on-track`."""

    prefix: str = DEFAULT_PREFIX
    _by_name: dict[str, KRStatus] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = {self.prefix + status.label_slug: status for status in KRStatus}
        object.__setattr__(self, "_by_name", names)

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self._by_name)

    def label(self, status: KRStatus) -> str:
        """The label name for a status."""
        return self.prefix + status.label_slug

    def owns(self, label: str) -> bool:
        """Whether `label` is one of the bridge's status labels (exact name, nothing looser)."""
        return label in self._by_name

    def status_of(self, label: str) -> KRStatus | None:
        return self._by_name.get(label)

    def owned_in(self, labels: tuple[str, ...] | list[str]) -> list[str]:
        """The bridge's status labels among `labels`, in their order."""
        return [label for label in labels if label in self._by_name]


def comment_stamp(digest: str = "") -> str:
    """The text a connector hides in the bridge's comment: `okrbridge` plus the digest of what
    the comment says, so a later read can tell whether the comment is current."""
    return f"{STAMP_NAME}:{digest}" if digest else STAMP_NAME


def read_stamp(text: str) -> tuple[bool, str | None]:
    """(stamped, digest) read back from a comment's hidden stamp text."""
    match = _STAMP.search(text)
    if match is None:
        return False, None
    return True, match.group(1)
