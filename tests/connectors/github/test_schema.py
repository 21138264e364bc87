"""Every GraphQL document the connector sends is valid against GitHub's official schema, and the
simulator's trimmed schema is a faithful subset of it."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import (
    DirectiveNode,
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    Visitor,
    build_schema,
    parse,
    validate,
    visit,
)

from connectors.github.queries import OPERATIONS, load

TRIMMED = Path(__file__).resolve().parents[3] / "connectors/github/simulator/schema.graphql"


@pytest.mark.parametrize("operation", OPERATIONS)
def test_document_is_valid_against_official_schema(
    official_schema: GraphQLSchema, operation: str
) -> None:
    errors = validate(official_schema, parse(load(operation)))
    assert [e.message for e in errors] == []


def test_every_query_file_is_listed() -> None:
    folder = TRIMMED.parents[1] / "queries"
    stems = {p.stem for p in folder.glob("*.graphql")} - {"fragments"}
    assert stems == set(OPERATIONS)


def test_validation_is_strict_about_unaliased_state(official_schema: GraphQLSchema) -> None:
    # GitHub itself accepts this, but the spec forbids merging two enum types under one name:
    # the check above would catch a query that forgot the aliases.
    document = parse(
        """query($id: ID!) { node(id: $id) { ... on ProjectV2Item { content {
             ... on Issue { state } ... on PullRequest { state } } } } }"""
    )
    assert validate(official_schema, document)


def _subset_problems(trimmed: GraphQLSchema, official: GraphQLSchema) -> list[str]:
    problems: list[str] = []
    for name, ttype in trimmed.type_map.items():
        if name.startswith("__"):
            continue
        otype = official.type_map.get(name)
        if otype is None or type(otype) is not type(ttype):
            problems.append(f"type {name} missing or of another kind")
            continue
        if isinstance(ttype, GraphQLObjectType | GraphQLInterfaceType):
            assert isinstance(otype, GraphQLObjectType | GraphQLInterfaceType)
            problems += _field_problems(name, ttype, otype)
            extra = {i.name for i in ttype.interfaces} - {i.name for i in otype.interfaces}
            problems += [f"{name} does not implement {i}" for i in extra]
        elif isinstance(ttype, GraphQLUnionType):
            assert isinstance(otype, GraphQLUnionType)
            extra = {t.name for t in ttype.types} - {t.name for t in otype.types}
            problems += [f"union {name} has no member {m}" for m in extra]
        elif isinstance(ttype, GraphQLEnumType):
            assert isinstance(otype, GraphQLEnumType)
            problems += [f"enum {name} has no {v}" for v in set(ttype.values) - set(otype.values)]
        elif isinstance(ttype, GraphQLInputObjectType):
            assert isinstance(otype, GraphQLInputObjectType)
            for fname, field in ttype.fields.items():
                ofield = otype.fields.get(fname)
                if ofield is None or str(ofield.type) != str(field.type):
                    problems.append(f"input {name}.{fname}: {field.type}")
            required = {n for n, f in otype.fields.items() if str(f.type).endswith("!")}
            problems += [f"input {name} lacks required {n}" for n in required - set(ttype.fields)]
    return problems


def _field_problems(
    name: str,
    ttype: GraphQLObjectType | GraphQLInterfaceType,
    otype: GraphQLObjectType | GraphQLInterfaceType,
) -> list[str]:
    problems = []
    for fname, field in ttype.fields.items():
        ofield = otype.fields.get(fname)
        if ofield is None or str(ofield.type) != str(field.type):
            problems.append(f"{name}.{fname}: {field.type} (official: {ofield and ofield.type})")
            continue
        for aname, arg in field.args.items():
            oarg = ofield.args.get(aname)
            if oarg is None or str(oarg.type) != str(arg.type):
                problems.append(f"{name}.{fname}({aname}: {arg.type})")
    return problems


def test_trimmed_schema_is_a_subset_of_official(official_schema: GraphQLSchema) -> None:
    trimmed = build_schema(TRIMMED.read_text(encoding="utf-8"))
    assert _subset_problems(trimmed, official_schema) == []


def test_subset_check_catches_a_wrong_type(official_schema: GraphQLSchema) -> None:
    wrong = build_schema(
        "type Query { rateLimit(dryRun: Int): RateLimit } type RateLimit { cost: String }"
    )
    problems = _subset_problems(wrong, official_schema)
    assert any("rateLimit(dryRun" in p for p in problems)
    assert any("RateLimit.cost" in p for p in problems)


@pytest.mark.parametrize("operation", OPERATIONS)
def test_document_is_valid_against_trimmed_schema(operation: str) -> None:
    trimmed = build_schema(TRIMMED.read_text(encoding="utf-8"))
    assert [e.message for e in validate(trimmed, parse(load(operation)))] == []


@pytest.mark.parametrize("operation", OPERATIONS)
def test_no_document_carries_a_skipped_branch(operation: str) -> None:
    # GitHub may charge an @include/@skip branch that does not run: one document per owner
    # type instead, so what is priced is what runs.
    directives: list[str] = []

    class Directives(Visitor):
        def enter_directive(self, node: DirectiveNode, *_: object) -> None:
            directives.append(node.name.value)

    visit(parse(load(operation)), Directives())
    assert directives == []


@pytest.mark.parametrize("operation", ["items_full_org", "items_full_user"])
def test_the_full_read_with_comments_costs_what_a_hand_written_one_does(operation: str) -> None:
    from connectors.github.simulator.graphql_api import query_cost

    # 6 connections per item (field values, labels, assignees, draft assignees, issue and
    # pull request comments): (1 + 6 x 100) / 100 -> 6 points per page, 600 for 10,000 items.
    assert query_cost(parse(load(operation)), {"first": 100}) == 6
