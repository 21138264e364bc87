"""Body of `okrbridge explain <instance>:<task>` and the "matches nothing" notes of `sync`,
`status` and `config check`. Everything comes from the config and the store: no tool call."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from okrbridge.cli.common import EXIT_FAILURE, EXIT_USAGE, fail, load, open_store, stdout

if TYPE_CHECKING:
    from rich.console import Console

    from okrbridge.config.schema import Config
    from okrbridge.domain import Initiative, Task
    from okrbridge.engine import Evaluation
    from okrbridge.engine.explain import RuleCheck, RuleRef, TaskExplanation
    from okrbridge.store.db import Store

__all__ = ["find_task", "print_unmatched", "run_explain", "unmatched_lines"]


def _url_parts(url: str) -> set[str]:
    return {part.casefold() for part in url.split("?")[0].split("/") if part}


def find_task(tasks: Sequence[Task], wanted: str) -> Task | None:
    """The task a person names: its key (MKT-12, owner/repo#12), its id (a Trello card id) or
    a part of its URL (a Trello short link)."""
    folded = wanted.strip().casefold()
    for task in tasks:
        if folded in (task.key.casefold(), task.external_id.casefold()):
            return task
    for task in tasks:
        if folded in _url_parts(task.url):
            return task
    return None


def _split(reference: str, config: Config) -> tuple[str, str]:
    instance, sep, rest = reference.partition(":")
    if not sep or not rest:
        fail(
            f"name the task as <instance>:<task>, e.g. jira-mkt:MKT-12 (instances: "
            f"{', '.join(config.connectors) or 'none configured'})",
            EXIT_USAGE,
        )
    if instance not in config.connectors:
        fail(
            f"unknown connector instance {instance!r}; configured: "
            f"{', '.join(config.connectors) or 'none'}",
            EXIT_USAGE,
        )
    return instance, rest


def run_explain(path: Path | None, reference: str) -> None:
    from okrbridge.store.repos.tasks import load_tasks
    from okrbridge.sync.compute import compute

    loaded = load(path, check_secrets=False)
    config = loaded.config
    instance, wanted = _split(reference, config)
    with open_store(loaded) as store:
        with store.session() as session:
            tasks = load_tasks(session, instance, include_raw=False)
        task = find_task(tasks, wanted)
        if task is None:
            fail(
                f"no task {wanted!r} of {instance} in the store ({len(tasks)} stored); explain "
                "reads what the last `okrbridge sync` pulled, so sync first, or check the key",
                EXIT_FAILURE,
            )
        evaluation = compute(store, config, now=datetime.now(UTC), record=False).evaluation
        pushed = _pushed(store, instance, task)
    _print_explanation(stdout(), config, evaluation, task, pushed)


def _pushed(store: Store, instance: str, task: Task) -> tuple[str | None, str | None]:
    """(label, comment id) the bridge last wrote on the task, from the store."""
    from sqlalchemy import select

    from okrbridge.store.models import PushStateRow, TaskRow

    with store.session() as session:
        row = session.execute(
            select(PushStateRow.label, PushStateRow.comment_id)
            .join(TaskRow, TaskRow.id == PushStateRow.task_id)
            .where(TaskRow.connector == instance, TaskRow.external_id == task.external_id)
        ).first()
    return (row[0], row[1]) if row is not None else (None, None)


def _print_explanation(
    console: Console,
    config: Config,
    evaluation: Evaluation,
    task: Task,
    pushed: tuple[str | None, str | None],
) -> None:
    from rich.text import Text

    from okrbridge.engine.explain import explain_task

    head = Text(f"{task.connector}:{task.key}", style="bold cyan")
    head.append(f"  {task.title}", style="bold")
    console.print(head)
    facts = (
        f"  container {task.container!r}, status {task.status_category.value}"
        + (f" ({task.status_name})" if task.status_name else "")
        + f", labels: {', '.join(task.labels) or '(none)'}"
        + (f", parent {task.parent}" if task.parent else "")
    )
    console.print(Text(facts, style="dim"))
    if task.url:
        console.print(Text(f"  {task.url}", style="dim"))
    key_results = [kr for objective in config.objectives for kr in objective.key_results]
    explanation = explain_task(
        task, config.initiatives, key_results, label_prefix=config.push.label_prefix
    )
    console.print(Text("\nInitiatives", style="bold underline"))
    if not config.initiatives:
        console.print(Text("  none configured"))
    for initiative in config.initiatives:
        _print_verdict(console, initiative, explanation, config.push.label_prefix)
    counting = [c for c in explanation.rules if c.rule.kind == "key_result"]
    if counting:
        console.print(Text("\nKey results that count tasks themselves", style="bold underline"))
        for check in counting:
            _print_rule(console, f"{check.rule.owner_id}: tasks rule", check)
    _print_key_results(console, evaluation, task)
    _print_marks(console, config, evaluation, task, pushed)


def _print_verdict(
    console: Console, initiative: Initiative, explanation: TaskExplanation, prefix: str
) -> None:
    from rich.text import Text

    matched = initiative.id in explanation.initiatives
    line = Text("  ")
    line.append("✓ matched " if matched else "✗ no match ", style=_style(matched))
    line.append(initiative.id, style="bold")
    line.append(f"  {initiative.title}")
    console.print(line)
    if initiative.id in explanation.by_label:
        console.print(Text(f"      by its label {prefix}{initiative.id} (set in the tool)"))
    checks = [
        c
        for c in explanation.rules
        if c.rule.kind == "initiative" and c.rule.owner_id == initiative.id
    ]
    if not checks and initiative.id not in explanation.by_label:
        console.print(Text("      no match rules (only the explicit label maps tasks to it)"))
    for check in checks:
        _print_rule(console, f"rule {check.rule.index + 1}", check)


def _print_rule(console: Console, name: str, check: RuleCheck) -> None:
    from rich.text import Text

    state = "matched" if check.matched else "failed"
    console.print(Text(f"      {name} {state}", style=_style(check.matched)))
    if not check.conditions:
        console.print(Text("        (no condition: matches every task)"))
    for condition in check.conditions:
        text = Text("        ")
        text.append("✓" if condition.passed else "✗", style=_style(condition.passed))
        text.append(f" {condition.condition}: {condition.wanted}")
        text.append(f"   task: {condition.found}", style="dim")
        console.print(text)


def _style(ok: bool) -> str:
    return "green" if ok else "red"


def _print_key_results(console: Console, evaluation: Evaluation, task: Task) -> None:
    from rich.text import Text

    from okrbridge.sync.comment import format_value, status_title

    key = (task.connector, task.external_id)
    served = list(evaluation.key_results_for(key))
    counted = [
        evaluation.key_results[kr_id]
        for kr_id, keys in evaluation.key_result_tasks.items()
        if key in keys and kr_id in evaluation.key_results
    ]
    console.print(Text("\nKey results it serves", style="bold underline"))
    if not served and not counted:
        console.print(Text("  none: the task serves no initiative and no key result counts it"))
    for kr, how in [(kr, "through its initiatives") for kr in served] + [
        (kr, "counted directly by the key result's `tasks` rule") for kr in counted
    ]:
        console.print(
            Text(
                f"  {kr.id}  {kr.title}: {format_value(kr.value, kr)} of "
                f"{format_value(kr.target, kr)}, {status_title(kr.status)} ({how})"
            )
        )


def _print_marks(
    console: Console,
    config: Config,
    evaluation: Evaluation,
    task: Task,
    pushed: tuple[str | None, str | None],
) -> None:
    from rich.markdown import Markdown
    from rich.padding import Padding
    from rich.panel import Panel
    from rich.text import Text

    from okrbridge.sync.comment import CommentMemo
    from okrbridge.sync.connector_plan import comment_context
    from okrbridge.sync.task_changes import in_scope

    titles = {o.id: o.title for o in config.objectives}
    ctx = comment_context(task, evaluation, titles, config.push.dashboard_url)
    scope = config.connectors[task.connector].scope or config.push.scope
    active = ctx is not None and in_scope(task, scope)
    label = config.push.label_prefix + ctx.status.label_slug if active and ctx is not None else None
    console.print(Text("\nIn the tool", style="bold underline"))
    stored_label, comment_id = pushed
    console.print(
        Text(
            f"  label now (as last written, from the store): {stored_label or '(none)'}; "
            f"it would carry: {label or '(none)'}"
        )
    )
    if ctx is None:
        why = "it serves no initiative" + (", so its comment says so" if comment_id else "")
        console.print(Text(f"  comment: none to keep up to date ({why})"))
        return
    if not active:
        console.print(Text(f"  out of the push scope ({scope}): a final comment, then left be"))
    state = "active" if active else "final"
    body = CommentMemo(config.push.comment_template).body(ctx, state)
    where = f"comment {comment_id}" if comment_id else "comment (not written yet)"
    console.print(
        Padding(
            Panel(Markdown(body), title=Text(f"{where}, as the tool shows it"), title_align="left"),
            (0, 2),
        )
    )


def unmatched_lines(
    config: Config, evaluation: Evaluation, rules: Sequence[RuleRef] | None = None
) -> list[str]:
    """Initiatives that no task serves, and rules matching no task.

    A sync's evaluation maps no task (`partial`: tasks are planned a page at a time); its
    initiative counts are whole (kept as tallies), so initiatives serving no task are named,
    and rules are named from `rules`, the rules a recount (a first sync, `sync --full`) found
    matching no task; an incremental sync judges none. `status` and `config check` evaluate
    every task and judge them all.
    """
    from okrbridge.engine.explain import unmatched

    lines: list[str] = []
    empty = {i for i, result in evaluation.initiatives.items() if result.task_count == 0}
    prefix = config.push.label_prefix
    for initiative in config.initiatives:
        if initiative.id in empty:
            texts = "; ".join(_rule_text(r) for r in initiative.match) or "no rules"
            lines.append(
                f"initiative {initiative.id!r} matches no task (rules: {texts}; nor does any "
                f"task carry the label {prefix}{initiative.id})"
            )
    if evaluation.partial:
        for ref in rules or ():
            if ref.kind == "initiative" and ref.owner_id not in empty:
                lines.append(_rule_line(config, ref.owner_id, ref.index))
        return lines
    counting = {kr.id: kr.tasks for o in config.objectives for kr in o.key_results if kr.tasks}
    for kr_id, counted in evaluation.mapping.by_key_result.items():
        rule = counting.get(kr_id)
        if not counted and rule is not None:
            lines.append(f"key result {kr_id!r} counts no task: tasks = {_rule_text(rule)}")
    # A task a rule matches is mapped to the rule's initiative: testing each initiative's rules
    # against its own mapped tasks finds the same unmatched rules as a pass over every task.
    tasks_of = evaluation.mapping.by_initiative
    for initiative in config.initiatives:
        if initiative.id in empty:
            continue
        found = unmatched([initiative], tasks_of.get(initiative.id, ()), label_prefix=prefix)
        lines += [_rule_line(config, initiative.id, ref.index) for ref in found.rules]
    return lines


def _rule_line(config: Config, initiative_id: str, index: int) -> str:
    initiative = next(i for i in config.initiatives if i.id == initiative_id)
    return (
        f"rule {index + 1} of initiative {initiative_id!r} matches no task: "
        f"{_rule_text(initiative.match[index])}"
    )


def _rule_text(rule: object) -> str:
    from okrbridge.domain import MatchRule

    assert isinstance(rule, MatchRule)
    parts = [
        f"{name} = {value!r}" if isinstance(value, str) else f"{name} = {value}"
        for name, value in rule.model_dump(exclude_defaults=True, mode="json").items()
    ]
    return ", ".join(parts) or "(no condition)"


def print_unmatched(
    console: Console,
    config: Config,
    evaluation: Evaluation,
    rules: Sequence[RuleRef] | None = None,
) -> None:
    """The notes, with what to run next; nothing when everything matches something."""
    from rich.text import Text

    lines = unmatched_lines(config, evaluation, rules)
    if not lines:
        return
    console.print(Text("Mapping:", style="bold yellow"))
    for line in lines:
        console.print(Text(f"  {line}"), soft_wrap=True)
    console.print(
        Text(
            "  Check with `okrbridge explain <instance>:<task>` on a task you expect there; "
            "docs/mapping.md shows how rules are written.",
            style="dim",
        ),
        soft_wrap=True,
    )
