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

    from okrbridge.cli.mapping import InitiativeVerdict
    from okrbridge.config.schema import Config
    from okrbridge.domain import Task
    from okrbridge.engine import Evaluation
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

    from okrbridge.cli.mapping import explain_task

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
    verdicts = explain_task(task, config.initiatives, config.push.label_prefix)
    console.print(Text("\nInitiatives", style="bold underline"))
    if not verdicts:
        console.print(Text("  none configured"))
    for verdict in verdicts:
        _print_verdict(console, verdict)
    _print_key_results(console, evaluation, task)
    _print_marks(console, config, evaluation, task, pushed)


def _print_verdict(console: Console, verdict: InitiativeVerdict) -> None:
    from rich.text import Text

    line = Text("  ")
    line.append("✓ matched " if verdict.matched else "✗ no match ", style=_style(verdict.matched))
    line.append(f"{verdict.initiative_id}", style="bold")
    line.append(f"  {verdict.title}")
    console.print(line)
    if verdict.explicit_label:
        console.print(Text(f"      by its label {verdict.explicit_label} (set in the tool)"))
    if not verdict.rules and not verdict.explicit_label:
        console.print(Text("      no match rules (only the explicit label maps tasks to it)"))
    for rule in verdict.rules:
        state = "matched" if rule.matched else "failed"
        console.print(Text(f"      rule {rule.number} {state}", style=_style(rule.matched)))
        if not rule.conditions:
            console.print(Text("        (no condition: matches every task)"))
        for condition in rule.conditions:
            mark = "✓" if condition.holds else "✗"
            text = Text(f"        {mark} {condition.name} = {condition.wanted}")
            text.stylize(_style(condition.holds), 8, 9)
            text.append(f"   task has: {condition.actual}", style="dim")
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
    from okrbridge.sync.plan import in_scope
    from okrbridge.sync.planning import comment_context

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


def unmatched_lines(config: Config, evaluation: Evaluation) -> list[str]:
    """Initiatives that no task serves, and rules matching no task."""
    from okrbridge.cli.mapping import rules_matching_nothing

    lines: list[str] = []
    empty = {i for i, result in evaluation.initiatives.items() if result.task_count == 0}
    prefix = config.push.label_prefix
    for initiative in config.initiatives:
        if initiative.id in empty:
            rules = "; ".join(_rule_text(r) for r in initiative.match) or "no rules"
            lines.append(
                f"initiative {initiative.id!r} matches no task (rules: {rules}; nor does any "
                f"task carry the label {prefix}{initiative.id})"
            )
    counting = {kr.id: kr.tasks for o in config.objectives for kr in o.key_results if kr.tasks}
    for kr_id, counted in evaluation.mapping.by_key_result.items():
        rule = counting.get(kr_id)
        if not counted and rule is not None:
            lines.append(f"key result {kr_id!r} counts no task: tasks = {_rule_text(rule)}")
    tasks_of = evaluation.mapping.by_initiative
    for unmatched in rules_matching_nothing(config.initiatives, tasks_of):
        if unmatched.initiative_id not in empty:
            lines.append(
                f"rule {unmatched.number} of initiative {unmatched.initiative_id!r} matches "
                f"no task: {_rule_text(unmatched.rule)}"
            )
    return lines


def _rule_text(rule: object) -> str:
    from okrbridge.domain import MatchRule

    assert isinstance(rule, MatchRule)
    parts = [
        f"{name} = {value!r}" if isinstance(value, str) else f"{name} = {value}"
        for name, value in rule.model_dump(exclude_defaults=True, mode="json").items()
    ]
    return ", ".join(parts) or "(no condition)"


def print_unmatched(console: Console, config: Config, evaluation: Evaluation) -> None:
    """The notes, with what to run next; nothing when everything matches something."""
    from rich.text import Text

    lines = unmatched_lines(config, evaluation)
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
