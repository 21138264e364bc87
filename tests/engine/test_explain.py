"""`explain_task` and `unmatched`: what `okrbridge explain` and the "matches nothing" warnings
are built on. Container aliases and GitHub `project` rules map as the engine maps."""

from __future__ import annotations

from okrbridge.domain import KeyResultSource, MatchRule, StatusCategory
from okrbridge.engine import RuleRef, evaluate, explain_task, map_tasks, unmatched
from tests.engine.builders import Q1_START, at, initiative, key_result, objective, task

NOW = at(Q1_START)
BOARD_ID = "5f2b7c9e1a2b3c4d5e6f7a8b"
TRELLO_CARD = task(
    "c1",
    connector="trello",
    container="Xy12AbCd",  # the board's short link ...
    container_aliases=(BOARD_ID,),  # ... and its 24-hex id
    labels=("Launch",),
    status_category=StatusCategory.IN_PROGRESS,
    status_name="In Review",
)
GITHUB_ITEM = task(
    "i7",
    connector="github",
    container="acme/starfall-game",
    fields={"project": "acme/7", "Team": "Growth"},
    title="Fix review prompt",
)


def test_a_rule_written_with_the_board_id_maps_a_card_known_by_its_short_link() -> None:
    launch = initiative("launch", MatchRule(container=BOARD_ID))
    mapping = map_tasks([launch], [TRELLO_CARD])
    assert mapping.by_task[("trello", "c1")] == frozenset({"launch"})


def test_a_project_rule_maps_github_items_of_that_project_and_no_other() -> None:
    other = task("i8", connector="github", container="acme/starfall-game", fields={})
    rule = MatchRule(connector="github", project="ACME/7")
    mapping = map_tasks([initiative("game", rule)], [GITHUB_ITEM, other])
    assert [t.external_id for t in mapping.by_initiative["game"]] == ["i7"]


def test_explain_names_each_condition_with_what_was_asked_and_found() -> None:
    reviews = initiative(
        "reviews",
        MatchRule(connector="trello", labels_any=["reviews"]),
        MatchRule(container=["OTHER", BOARD_ID], status_category=StatusCategory.IN_PROGRESS),
    )
    explained = explain_task(TRELLO_CARD, [reviews])
    first, second = explained.rules
    assert first.rule == RuleRef("initiative", "reviews", 0)
    assert not first.matched
    assert [(c.condition, c.passed) for c in first.conditions] == [
        ("connector", True),
        ("labels_any", False),
    ]
    [failed] = first.failed
    assert (failed.wanted, failed.found) == ("reviews", "labels: Launch")
    assert second.matched
    container = second.conditions[0]
    assert container.wanted == f"one of OTHER, {BOARD_ID}"
    assert container.found == f"Xy12AbCd (also written {BOARD_ID})"
    assert second.conditions[1].found == "in_progress (status In Review)"
    assert explained.initiatives == ("reviews",)


def test_explain_reports_explicit_labels_and_task_counting_key_results() -> None:
    counted = key_result(
        id="kr-bugs", source=KeyResultSource.TASKS, tasks=MatchRule(field={"Team": "growth"})
    )
    misspelt = key_result(
        id="kr-misspelt", source=KeyResultSource.TASKS, tasks=MatchRule(field={"team": "growth"})
    )
    manual = initiative("manual", MatchRule(container="NOPE"))
    labelled = GITHUB_ITEM.model_copy(update={"labels": ("okr:manual",)})
    explained = explain_task(labelled, [manual], [counted, misspelt])
    assert explained.by_label == ("manual",)
    assert explained.initiatives == ("manual",)
    assert explained.key_results == ("kr-bugs",)  # field values ignore case ...
    assert explained.rules[0].failed[0].found == "acme/starfall-game"
    assert explained.rules[2].rule == RuleRef("key_result", "kr-misspelt", 0)
    assert explained.rules[2].failed[0].found == "no field team"  # ... field names do not


def test_a_deleted_task_matches_no_rule_and_says_so() -> None:
    gone = GITHUB_ITEM.model_copy(update={"deleted": True, "labels": ("okr:game",)})
    explained = explain_task(gone, [initiative("game", MatchRule())])
    assert [c.condition for c in explained.rules[0].conditions] == ["deleted"]
    assert explained.initiatives == ()
    assert explained.by_label == ()


def test_unmatched_names_initiatives_and_rules_that_no_task_meets() -> None:
    launch = initiative(
        "launch", MatchRule(container=BOARD_ID), MatchRule(labels_any=["never-used"])
    )
    empty = initiative("empty", MatchRule(container="GHOST"))
    by_label = initiative("by-label", MatchRule(container="GHOST2"))
    counted = key_result(id="kr-count", source=KeyResultSource.TASKS, tasks=MatchRule(parent="X"))
    card = TRELLO_CARD.model_copy(update={"labels": ("okr:by-label",)})
    report = unmatched([launch, empty, by_label], [card], [counted])
    assert report.initiatives == ("empty",)
    assert report.rules == (
        RuleRef("initiative", "launch", 1),
        RuleRef("initiative", "empty", 0),
        RuleRef("initiative", "by-label", 0),
        RuleRef("key_result", "kr-count", 0),
    )
    # The engine agrees: the empty initiative has no task.
    result = evaluate([objective(key_result())], [launch, empty, by_label], [card], now=NOW)
    assert result.initiative_tasks["empty"] == ()
