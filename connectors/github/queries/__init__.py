"""The GraphQL documents the connector sends, one operation per `.graphql` file.

`load(name)` returns an operation with exactly the fragments it uses (transitively) from
`fragments.graphql` appended, so each sent document is complete and spec-valid (unused
fragments would be a validation error).
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from graphql import FragmentDefinitionNode, FragmentSpreadNode, Node, parse, visit
from graphql.language import Visitor

__all__ = ["OPERATIONS", "for_owner", "load"]

OPERATIONS = (
    "items_lean_org",
    "items_lean_user",
    "items_full_org",
    "items_full_user",
    "item_repos_org",
    "item_repos_user",
    "project_meta_org",
    "project_meta_user",
    "items_by_id",
    "tasks_by_id",
    "issue_comments",
    "swap_labels",
    "add_labels",
    "remove_labels",
    "set_item_field",
    "clear_item_field",
)


def for_owner(stem: str, owner_type: str) -> str:
    """The document of `stem` for an owner type: `items_full_org` or `items_full_user`.

    One document per owner type, so no query carries an `@include`/`@skip` branch that GitHub
    might charge for although it does not run."""
    return f"{stem}_{'org' if owner_type == 'organization' else 'user'}"


def _text(name: str) -> str:
    return (resources.files(__package__) / f"{name}.graphql").read_text(encoding="utf-8")


@cache
def _fragments() -> dict[str, str]:
    source = _text("fragments")
    document = parse(source)
    out: dict[str, str] = {}
    for definition in document.definitions:
        if isinstance(definition, FragmentDefinitionNode) and definition.loc is not None:
            out[definition.name.value] = source[definition.loc.start : definition.loc.end]
    return out


class _Spreads(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def enter_fragment_spread(self, node: FragmentSpreadNode, *_: object) -> None:
        self.names.append(node.name.value)


def _spreads(node: Node) -> list[str]:
    visitor = _Spreads()
    visit(node, visitor)
    return visitor.names


@cache
def load(name: str) -> str:
    """The complete document for operation `name` (a file stem in this folder)."""
    source = _text(name)
    fragments = _fragments()
    needed: list[str] = []
    pending = _spreads(parse(source))
    while pending:
        fragment = pending.pop(0)
        if fragment in needed:
            continue
        needed.append(fragment)
        pending.extend(_spreads(parse(fragments[fragment])))
    return "\n".join([source, *(fragments[f] for f in needed)])
