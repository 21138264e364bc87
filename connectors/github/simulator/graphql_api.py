"""The simulator's GraphQL endpoint: documents are validated and EXECUTED with graphql-core
against a trimmed copy of GitHub's schema (`schema.graphql`), so an invalid document fails
as on GitHub, with `{"errors": [...]}` and HTTP 200.

Cost follows GitHub's published rule: every connection (a field with `first`/`last`) costs
one request per parent object that may hold it (the product of the enclosing `first`s), the
sum is divided by 100 and rounded, at least 1. `nodes(ids:)` multiplies like a connection of
`len(ids)` (a conservative assumption: GitHub does not document it).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    build_schema,
    execute_sync,
    parse,
    validate,
)
from graphql.utilities import value_from_ast_untyped

from connectors.github.simulator.state import Delivery, Draft, Issue, Item, Project, SimState, iso

__all__ = ["GraphQLOutcome", "query_cost", "run_graphql", "sim_schema"]


@cache
def sim_schema() -> GraphQLSchema:
    text = (resources.files(__package__) / "schema.graphql").read_text(encoding="utf-8")
    return build_schema(text)


@dataclass
class GraphQLOutcome:
    body: dict[str, Any]
    cost: int = 0
    deliveries: list[Delivery] = field(default_factory=list)
    mutation: bool = False


# -- cost -------------------------------------------------------------------------------------
def _arg(node: FieldNode, name: str, variables: dict[str, Any]) -> Any:
    for argument in node.arguments or ():
        if argument.name.value == name:
            return value_from_ast_untyped(argument.value, variables)
    return None


def _skipped(node: Any, variables: dict[str, Any]) -> bool:
    for directive in node.directives or ():
        condition = next(
            (value_from_ast_untyped(a.value, variables) for a in directive.arguments or ()),
            None,
        )
        if directive.name.value == "skip" and condition is True:
            return True
        if directive.name.value == "include" and condition is False:
            return True
    return False


def query_cost(document: DocumentNode, variables: dict[str, Any]) -> int:
    """GitHub's point cost of the (first) operation in `document`."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    total = 0

    def walk(selections: SelectionSetNode | None, multiplier: int) -> None:
        nonlocal total
        for node in selections.selections if selections else ():
            if _skipped(node, variables):
                continue
            if isinstance(node, FieldNode):
                size = _arg(node, "first", variables) or _arg(node, "last", variables)
                ids = _arg(node, "ids", variables)
                inner = multiplier
                if isinstance(size, int):
                    total += multiplier
                    inner = multiplier * size
                elif isinstance(ids, list):
                    inner = multiplier * len(ids)
                walk(node.selection_set, inner)
            elif isinstance(node, InlineFragmentNode):
                walk(node.selection_set, multiplier)
            elif isinstance(node, FragmentSpreadNode):
                walk(fragments[node.name.value].selection_set, multiplier)

    walk(operation.selection_set, 1)
    return max(1, int(total / 100 + 0.5))


# -- execution --------------------------------------------------------------------------------
def run_graphql(
    state: SimState, query: str, variables: dict[str, Any], rate: dict[str, Any]
) -> GraphQLOutcome:
    """Validate, price and execute one request. `rate` holds `remaining` and `reset_at`
    (a datetime) for the token and is charged here."""
    try:
        document = parse(query)
    except GraphQLError as error:
        return GraphQLOutcome({"errors": [error.formatted]})
    errors = validate(sim_schema(), document)
    if errors:
        return GraphQLOutcome({"errors": [e.formatted for e in errors]})
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    mutation = operation.operation.value == "mutation"
    cost = 1 if mutation else query_cost(document, variables)
    if cost > rate["remaining"]:
        limited = {"type": "RATE_LIMITED", "message": "API rate limit already exceeded for user."}
        return GraphQLOutcome({"errors": [limited]}, cost=0, mutation=mutation)
    rate["remaining"] -= cost
    context = _Context(state, rate, cost)
    with state.lock:
        result = execute_sync(
            sim_schema(),
            document,
            root_value=_Root(context),
            context_value=context,
            variable_values=variables,
        )
    body: dict[str, Any] = {"data": result.data}
    out_errors = [e.formatted for e in result.errors or ()] + context.not_found
    if out_errors:
        body["errors"] = out_errors
    return GraphQLOutcome(body, cost=cost, deliveries=context.deliveries, mutation=mutation)


@dataclass
class _Context:
    state: SimState
    rate: dict[str, Any]
    cost: int
    deliveries: list[Delivery] = field(default_factory=list)
    not_found: list[dict[str, Any]] = field(default_factory=list)


def _page(
    items: list[Any], first: int | None, after: str | None
) -> tuple[list[Any], dict[str, Any]]:
    if first is None or not 1 <= first <= 100:
        raise GraphQLError("You must provide a `first` value between 1 and 100 to paginate.")
    start = int(base64.b64decode(after).decode().split(":")[1]) if after else 0
    chunk = items[start : start + first]
    end = start + len(chunk)
    cursor = base64.b64encode(f"cursor:{end}".encode()).decode()
    first_cursor = base64.b64encode(f"cursor:{start}".encode()).decode()
    return chunk, {
        "hasNextPage": end < len(items),
        "endCursor": cursor if chunk else None,
        "hasPreviousPage": start > 0,
        "startCursor": first_cursor if chunk else None,
    }


def _page_back(
    items: list[Any], last: int | None, before: str | None
) -> tuple[list[Any], dict[str, Any]]:
    """`last`/`before` paging: the `last` items before the cursor (oldest first)."""
    if last is None or not 1 <= last <= 100:
        raise GraphQLError("You must provide a `last` value between 1 and 100 to paginate.")
    end = int(base64.b64decode(before).decode().split(":")[1]) if before else len(items)
    start = max(0, end - last)
    cursor = base64.b64encode(f"cursor:{start}".encode()).decode()
    info = {
        "hasPreviousPage": start > 0,
        "startCursor": cursor if end > start else None,
        "hasNextPage": end < len(items),
        "endCursor": None,
    }
    return items[start:end], info


class _Root:
    """Query and Mutation root fields."""

    def __init__(self, context: _Context) -> None:
        self.c = context

    # Query
    def organization(self, _info: Any, login: str) -> Any:
        st = self.c.state
        ok = st.owner_type == "organization" and login.lower() == st.owner.lower()
        return _Owner(st) if ok else self._missing("organization", login)

    def user(self, _info: Any, login: str) -> Any:
        st = self.c.state
        ok = st.owner_type == "user" and login.lower() == st.owner.lower()
        return _Owner(st) if ok else self._missing("user", login)

    def _missing(self, kind: str, login: str) -> None:
        message = f"Could not resolve to a {kind.title()} with the login of '{login}'."
        self.c.not_found.append({"type": "NOT_FOUND", "path": [kind], "message": message})

    def node(self, _info: Any, id: str) -> Any:
        view = _node(self.c.state, id)
        if view is None:
            message = f"Could not resolve to a node with the global id of '{id}'"
            self.c.not_found.append({"type": "NOT_FOUND", "path": ["node"], "message": message})
        return view

    def nodes(self, _info: Any, ids: list[str]) -> list[Any]:
        if len(ids) > 100:
            raise GraphQLError("You may not ask for more than 100 node ids at once.")
        out = []
        for index, node_id in enumerate(ids):
            view = _node(self.c.state, node_id)
            if view is None:
                message = f"Could not resolve to a node with the global id of '{node_id}'"
                self.c.not_found.append(
                    {"type": "NOT_FOUND", "path": ["nodes", index], "message": message}
                )
            out.append(view)
        return out

    def rateLimit(self, _info: Any, **_: Any) -> dict[str, Any]:  # noqa: N802 - GraphQL name
        return {
            "cost": self.c.cost,
            "remaining": self.c.rate["remaining"],
            "resetAt": iso(self.c.rate["reset_at"]),
        }

    # Mutation
    def addLabelsToLabelable(self, _info: Any, input: dict[str, Any]) -> Any:  # noqa: N802
        issue, names = self._labelable(input)
        self.c.deliveries += self.c.state.add_labels(issue, names, self.c.state.bot)
        return {"clientMutationId": input.get("clientMutationId")}

    def removeLabelsFromLabelable(self, _info: Any, input: dict[str, Any]) -> Any:  # noqa: N802
        issue, names = self._labelable(input)
        self.c.deliveries += self.c.state.remove_labels(issue, names, self.c.state.bot)
        return {"clientMutationId": input.get("clientMutationId")}

    def _labelable(self, data: dict[str, Any]) -> tuple[Issue, list[str]]:
        issue = self.c.state.issues.get(data["labelableId"])
        if issue is None:
            raise GraphQLError(
                f"Could not resolve to a node with the global id of '{data['labelableId']}'"
            )
        by_id = {lb.node_id: lb.name for lb in self.c.state.repo_labels(issue.repo).values()}
        missing = [i for i in data["labelIds"] if i not in by_id]
        if missing:
            raise GraphQLError(f"Could not resolve to a node with the global id of '{missing[0]}'")
        return issue, [by_id[i] for i in data["labelIds"]]

    def updateProjectV2ItemFieldValue(self, _info: Any, input: dict[str, Any]) -> Any:  # noqa: N802
        item, field_name = self._item_field(input)
        options = item.project.fields[field_name].options
        option = next(
            (n for n, i in options.items() if i == input["value"].get("singleSelectOptionId")), None
        )
        if option is None:
            raise GraphQLError("The single select option Id does not belong to the field")
        self.c.deliveries += self.c.state.set_value(item, field_name, option, self.c.state.bot)
        return {"projectV2Item": _item(self.c.state, item)}

    def clearProjectV2ItemFieldValue(self, _info: Any, input: dict[str, Any]) -> Any:  # noqa: N802
        item, field_name = self._item_field(input)
        self.c.deliveries += self.c.state.set_value(item, field_name, None, self.c.state.bot)
        return {"projectV2Item": _item(self.c.state, item)}

    def _item_field(self, data: dict[str, Any]) -> tuple[Item, str]:
        item = self.c.state.items.get(data["itemId"])
        if item is None or item.project.id != data["projectId"]:
            raise GraphQLError(
                f"Could not resolve to ProjectV2Item node with the global id of '{data['itemId']}'"
            )
        name = next((n for n, f in item.project.fields.items() if f.id == data["fieldId"]), None)
        if name is None:
            raise GraphQLError(
                f"Could not resolve to a node with the global id of '{data['fieldId']}'"
            )
        return item, name


class _Owner:
    def __init__(self, state: SimState) -> None:
        self.state = state
        self.id = f"O_{state.owner}"
        self.login = state.owner

    def projectV2(self, _info: Any, number: int) -> Any:  # noqa: N802 - GraphQL name
        project = self.state.projects.get(number)
        return None if project is None else _project(self.state, project)


def _project(state: SimState, project: Project) -> dict[str, Any]:
    def items(_info: Any, first: int | None = None, after: str | None = None, **_: Any) -> Any:
        chunk, info = _page(project.items, first, after)
        return {"nodes": [_item(state, i) for i in chunk], "pageInfo": info}

    def fields(_info: Any, first: int | None = None, **_: Any) -> Any:
        values = list(project.fields.values())[: first or 0]
        return {"nodes": [_field(f) for f in values]}

    return {
        "__typename": "ProjectV2",
        "id": project.id,
        "number": project.number,
        "title": project.title,
        "url": project.url,
        "items": items,
        "fields": fields,
    }


_FIELD_TYPES = {
    "SINGLE_SELECT": "ProjectV2SingleSelectField",
    "ITERATION": "ProjectV2IterationField",
}


def _field(pf: Any) -> dict[str, Any]:
    return {
        "__typename": _FIELD_TYPES.get(pf.data_type, "ProjectV2Field"),
        "id": pf.id,
        "name": pf.name,
        "dataType": pf.data_type,
        "options": lambda _info, **_: [{"id": i, "name": n} for n, i in pf.options.items()],
    }


def _value(pf: Any, value: str) -> dict[str, Any]:
    base = {"id": f"PVTFV_{pf.id}", "field": _field(pf)}
    if pf.data_type == "SINGLE_SELECT":
        option_id = pf.options.get(value)
        return {
            **base,
            "__typename": "ProjectV2ItemFieldSingleSelectValue",
            "name": value,
            "optionId": option_id,
        }
    if pf.data_type == "NUMBER":
        return {**base, "__typename": "ProjectV2ItemFieldNumberValue", "number": float(value)}
    if pf.data_type == "ITERATION":
        return {
            **base,
            "__typename": "ProjectV2ItemFieldIterationValue",
            "title": value,
            "startDate": "2026-01-05",
            "duration": 14,
        }
    return {**base, "__typename": "ProjectV2ItemFieldTextValue", "text": value}


def _item(state: SimState, item: Item) -> dict[str, Any]:
    content = state.content(item.content_id)
    kind = "DRAFT_ISSUE" if isinstance(content, Draft) else "ISSUE"
    if isinstance(content, Issue) and content.is_pr:
        kind = "PULL_REQUEST"

    def field_values(_info: Any, first: int | None = None, **_: Any) -> Any:
        values = [_value(item.project.fields[n], v) for n, v in item.values.items()]
        return {"nodes": values[: first or 0]}

    return {
        "__typename": "ProjectV2Item",
        "id": item.id,
        "databaseId": item.db_id,
        "type": kind if content is not None else "REDACTED",
        "isArchived": item.archived,
        "updatedAt": iso(item.updated),
        "project": lambda _info: _project(state, item.project),
        "content": lambda _info: None if content is None else _content(state, content),
        "fieldValues": field_values,
    }


def _users(logins: list[str]) -> Any:
    return lambda _info, first=None, **_: {
        "nodes": [{"id": f"U_{x}", "login": x} for x in logins][: first or 0]
    }


def _content(state: SimState, content: Issue | Draft) -> dict[str, Any]:
    if isinstance(content, Draft):
        return {
            "__typename": "DraftIssue",
            "id": content.node_id,
            "title": content.title,
            "updatedAt": iso(content.updated),
            "assignees": _users(content.assignees),
        }
    labels = state.repo_labels(content.repo)
    kind = "pull" if content.is_pr else "issues"

    def project_items(_info: Any, first: int | None = None, **_: Any) -> Any:
        chunk, info = _page(state.items_of(content.node_id), first, None)
        return {"nodes": [_item(state, i) for i in chunk], "pageInfo": info}

    def comments(
        _info: Any,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Any:
        if last is not None:
            chunk, info = _page_back(content.comments, last, before)
        else:
            chunk, info = _page(content.comments, first, after)
        nodes = [
            {
                "id": c.node_id,
                "fullDatabaseId": str(c.id),
                "viewerDidAuthor": c.author == state.bot,
                "body": c.body,
            }
            for c in chunk
        ]
        return {"nodes": nodes, "pageInfo": info}

    return {
        "__typename": "PullRequest" if content.is_pr else "Issue",
        "id": content.node_id,
        "number": content.number,
        "title": content.title,
        "url": f"{state.web}/{content.repo}/{kind}/{content.number}",
        "state": content.state,
        "stateReason": content.state_reason,
        "updatedAt": iso(content.updated),
        "repository": {"id": f"R_{content.repo}", "nameWithOwner": content.repo},
        "labels": lambda _info, first=None, **_: {
            "nodes": [{"id": labels[n].node_id, "name": n} for n in content.labels][: first or 0]
        },
        "assignees": _users(content.assignees),
        "projectItems": project_items,
        "comments": comments,
    }


def _node(state: SimState, node_id: str) -> dict[str, Any] | None:
    if node_id in state.items:
        return _item(state, state.items[node_id])
    content = state.content(node_id)
    return None if content is None else _content(state, content)
