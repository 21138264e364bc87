"""Trello card JSON -> `okrbridge.domain.Task`.

A card has no status field: its list decides (mapped by list name), a checked due date counts
as done (configurable), and an archived card or a card in an archived list is `excluded`
(kept in the store, never counted). Labels without a name are reported by their colour.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from okrbridge.domain import FoundMarks, StatusCategory, Task

from .settings import TrelloSettings

__all__ = ["BoardContext", "label_name", "normalize_card", "parse_time", "status_category"]


@dataclass
class BoardContext:
    """What normalizing a board's cards needs: its lists, labels and custom fields by id."""

    configured: str
    """The board as written in the config (id or short link): the task's container."""
    id: str
    name: str = ""
    short_link: str = ""
    lists: dict[str, dict[str, Any]] = field(default_factory=dict)
    labels: dict[str, dict[str, Any]] = field(default_factory=dict)
    custom_fields: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def aliases(self) -> tuple[str, ...]:
        """Every other way a person writes this board in a rule: its 24-hex id, its short
        link (from the board URL) and its name."""
        names = (self.id, self.short_link, self.name)
        return tuple(dict.fromkeys(n for n in names if n and n != self.configured))


def parse_time(value: Any) -> datetime | None:
    """Trello's `2024-05-01T10:00:00.000Z` as an aware UTC datetime (None if absent/bad)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _due(value: Any) -> date | None:
    when = parse_time(value)
    return when.date() if when else None


def label_name(label: dict[str, Any]) -> str:
    """A label's name; a nameless label (Trello allows colour-only labels) is its colour."""
    name = str(label.get("name") or "").strip()
    return name or str(label.get("color") or "").strip()


def _matches(name: str, patterns: list[str]) -> bool:
    folded = name.strip().casefold()
    return any(fnmatch.fnmatchcase(folded, pattern) for pattern in patterns)


def status_category(list_name: str, due_complete: bool, settings: TrelloSettings) -> StatusCategory:
    """Done when the list says so (or the due date is checked), in progress by list name."""
    if _matches(list_name, settings.done_lists) or (due_complete and settings.due_complete_done):
        return StatusCategory.DONE
    if _matches(list_name, settings.in_progress_lists):
        return StatusCategory.IN_PROGRESS
    return StatusCategory.TODO


def _labels(card: dict[str, Any], ctx: BoardContext) -> tuple[str, ...]:
    labels = card.get("labels")
    if not isinstance(labels, list):  # only ids were returned: resolve them on the board
        labels = [ctx.labels[i] for i in card.get("idLabels") or [] if i in ctx.labels]
    names = (label_name(label) for label in labels if isinstance(label, dict))
    return tuple(dict.fromkeys(name for name in names if name))


def _custom_values(card: dict[str, Any], ctx: BoardContext) -> dict[str, str]:
    """Custom field items by field name, as text (numbers, text, dates, checkboxes, options)."""
    values: dict[str, str] = {}
    for item in card.get("customFieldItems") or []:
        definition = ctx.custom_fields.get(str(item.get("idCustomField")))
        if not definition:
            continue
        value = item.get("value") or {}
        if item.get("idValue"):
            options = {
                o.get("id"): o.get("value", {}).get("text", "")
                for o in definition.get("options") or []
            }
            text = str(options.get(item["idValue"], ""))
        else:
            text = next((str(v) for v in value.values()), "") if isinstance(value, dict) else ""
        if text:
            values[str(definition.get("name", ""))] = text
    return values


def _estimate(values: dict[str, str], settings: TrelloSettings) -> float | None:
    if not settings.estimate_field or settings.estimate_field not in values:
        return None
    try:
        return float(values[settings.estimate_field])
    except ValueError:
        return None


def normalize_card(
    card: dict[str, Any],
    ctx: BoardContext,
    settings: TrelloSettings,
    instance: str,
    marks: FoundMarks | None = None,
) -> Task:
    """One card as a Task; `container` is the board as configured, its id, short link and
    name are `container_aliases`; `marks` is the bridge's comment as found on the card."""
    trello_list = ctx.lists.get(str(card.get("idList")), {})
    list_name = str(trello_list.get("name", ""))
    custom = _custom_values(card, ctx)
    short_link = str(card.get("shortLink") or "")
    return Task(
        connector=instance,
        external_id=str(card["id"]),
        key=short_link or f"#{card.get('idShort', '')}",
        url=str(card.get("url") or card.get("shortUrl") or ""),
        title=str(card.get("name") or ""),
        container=ctx.configured,
        container_aliases=ctx.aliases,
        status_name=list_name,
        status_category=status_category(list_name, bool(card.get("dueComplete")), settings),
        excluded=bool(card.get("closed")) or bool(trello_list.get("closed")),
        labels=_labels(card, ctx),
        assignees=tuple(str(member) for member in card.get("idMembers") or []),
        estimate=_estimate(custom, settings),
        due=_due(card.get("due")),
        fields={**custom, "board": ctx.name, "list": list_name},
        updated_at=parse_time(card.get("dateLastActivity")),
        raw={k: v for k, v in card.items() if k != "actions"},
        marks=marks,
    )
