"""Body of `status`: objectives -> key results -> initiatives, and the last sync per connector.

The `--json` document is described in the README ("`okrbridge status --json`"); fields are
only ever added, never renamed or removed.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from okrbridge.cli.common import load, open_store, stdout

if TYPE_CHECKING:
    from okrbridge.config.schema import Config
    from okrbridge.domain import KeyResultResult, KRStatus
    from okrbridge.engine import Evaluation
    from okrbridge.store.models import SyncRunRow

STATUS_STYLE = {
    "achieved": "bold blue",
    "on_track": "bold green",
    "needs_attention": "bold yellow",
    "off_track": "bold red",
    "not_started": "dim",
}


def run_status(path: Path | None, *, as_json: bool) -> None:
    from okrbridge.cli.explain import print_unmatched
    from okrbridge.store.repos.runs import last_runs
    from okrbridge.sync.compute import compute, evaluate_current, unmatched_rules

    loaded = load(path, check_secrets=False)
    config, now = loaded.config, datetime.now(UTC)
    with open_store(loaded) as store:
        # After a sync the stored tallies give the results without loading a task; tasks
        # changed since (or other rules) make it evaluate every task in memory.
        evaluation = evaluate_current(store, config, now=now)
        if evaluation is None:
            computed = compute(store, config, now=now, record=False)
            evaluation, rules, synced = computed.evaluation, None, bool(computed.tasks)
        elif not as_json:
            rules, synced = unmatched_rules(store, config)
        with store.session() as session:
            runs = {name: run_json(run) for name, run in last_runs(session).items()}
            parked = parked_json(session)
    if as_json:
        document = status_json(config, evaluation, runs, now, parked)
        typer.echo(json.dumps(document, indent=2))
        return
    print_status(config, evaluation, runs, parked)
    if synced:  # before the first sync every rule "matches nothing": no news
        print_unmatched(stdout(), config, evaluation, rules)


def parked_json(session: Any) -> dict[str, list[dict[str, Any]]]:
    """Per connector instance: the writes the tool refused, parked until the task's desired
    state changes (they are not retried on every sync)."""
    from okrbridge.store.models import TaskRow
    from okrbridge.store.repos.writes import parked_writes

    parked: dict[str, list[dict[str, Any]]] = {}
    for row in parked_writes(session):
        task = session.get(TaskRow, row.task_id)
        parked.setdefault(row.connector, []).append(
            {
                "task": task.key if task is not None else str(row.task_id),
                "reason": row.last_error,
                "since": row.updated_at.isoformat(),
            }
        )
    return parked


def run_json(run: SyncRunRow) -> dict[str, Any]:
    return {
        "kind": run.kind,
        "status": run.status,
        "dry_run": run.dry_run,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "pulled": run.pulled,
        "changed": run.changed,
        "writes_made": run.writes_made,
        "writes_failed": run.writes_failed,
        "error": run.error,
    }


def _kr_json(kr: KeyResultResult) -> dict[str, Any]:
    return {
        "id": kr.id,
        "title": kr.title,
        "metric": kr.metric.value,
        "unit": kr.unit,
        "start": kr.start,
        "target": kr.target,
        "value": kr.value,
        "progress": round(kr.progress, 4),
        "expected_progress": round(kr.expected_progress, 4),
        "status": kr.status.value,
        "reason": kr.reason,
        "forecast": None
        if kr.forecast is None
        else {
            "projected_value": kr.forecast.projected_value,
            "target_date": kr.forecast.target_date.isoformat() if kr.forecast.target_date else None,
        },
        "forecast_note": kr.forecast_note,
        "initiatives": list(kr.initiative_ids),
    }


def status_json(
    config: Config,
    evaluation: Evaluation,
    runs: dict[str, dict[str, Any]],
    now: datetime,
    parked: dict[str, list[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """The `status --json` document."""
    return {
        "generated_at": now.isoformat(),
        "objectives": [
            {
                "id": o.id,
                "title": o.title,
                "owner": o.owner,
                "start": o.start.isoformat(),
                "end": o.end.isoformat(),
                "status": o.status.value,
                "progress": round(o.progress, 4),
                "reason": o.reason,
                "key_results": [_kr_json(kr) for kr in o.key_results],
            }
            for o in evaluation.objectives
        ],
        "initiatives": [
            {
                "id": i.id,
                "title": i.title,
                "progress": round(i.progress, 4),
                "counts": {
                    "todo": i.counts.todo,
                    "in_progress": i.counts.in_progress,
                    "done": i.counts.done,
                },
                "tasks": i.task_count,
                "reason": i.reason,
                "key_results": list(evaluation.initiative_key_results.get(i.id, ())),
            }
            for i in evaluation.initiatives.values()
        ],
        "connectors": [
            {
                "instance": name,
                "type": settings.type,
                "enabled": settings.enabled,
                "last_sync": runs.get(name),
                "parked_writes": (parked or {}).get(name, []),
            }
            for name, settings in config.connectors.items()
        ],
    }


def bar(progress: float, width: int = 20) -> str:
    filled = round(max(0.0, min(1.0, progress)) * width)
    return "█" * filled + "░" * (width - filled)


def styled(status: KRStatus) -> str:
    text = status.value.replace("_", " ")
    return f"[{STATUS_STYLE[status.value]}]{text}[/]"


def print_status(
    config: Config,
    evaluation: Evaluation,
    runs: dict[str, dict[str, Any]],
    parked: dict[str, list[dict[str, Any]]] | None = None,
) -> None:
    from rich.markup import escape
    from rich.tree import Tree

    from okrbridge.sync.comment import format_value

    console = stdout()
    if not evaluation.objectives:
        console.print("No objectives configured yet: add some to the config file.")
    for objective in evaluation.objectives:
        tree = Tree(
            f"[bold]{escape(objective.title)}[/] ({objective.id}, {objective.start} → "
            f"{objective.end})  {styled(objective.status)}  {bar(objective.progress)} "
            f"{objective.progress:.0%}"
        )
        for kr in objective.key_results:
            node = tree.add(
                f"{escape(kr.title)} [dim]({kr.id})[/]  {styled(kr.status)}  {bar(kr.progress)} "
                f"{kr.progress:.0%}  {escape(format_value(kr.value, kr))} / "
                f"{escape(format_value(kr.target, kr))}"
            )
            node.add(f"[dim]{escape(kr.reason)}[/]")
            if kr.forecast is not None:
                when = kr.forecast.target_date.isoformat() if kr.forecast.target_date else "n/a"
                projected = escape(format_value(kr.forecast.projected_value, kr))
                node.add(f"[dim]forecast: {projected} at the end; target reached: {when}[/]")
            elif kr.forecast_note:
                node.add(f"[dim]forecast: {escape(kr.forecast_note)}[/]")
            for initiative_id in kr.initiative_ids:
                i = evaluation.initiatives[initiative_id]
                node.add(
                    f"{escape(i.title)}  {bar(i.progress, 12)} {i.progress:.0%}  "
                    f"[dim]{i.counts.done} done, {i.counts.in_progress} in progress, "
                    f"{i.counts.todo} to do[/]"
                )
        console.print(tree)
    for name, settings in config.connectors.items():
        run = runs.get(name)
        if not settings.enabled:
            console.print(f"[dim]{name} ({settings.type}): disabled[/]")
        elif run is None:
            console.print(f"{name} ({settings.type}): never synced")
        else:
            state = "[green]ok[/]" if run["status"] == "ok" else f"[red]{run['status']}[/]"
            console.print(
                f"{name} ({settings.type}): last {run['kind']} sync {run['started_at']} {state}, "
                f"{run['pulled']} pulled, {run['writes_made']} writes"
                + (f" — {escape(run['error'])}" if run["error"] else "")
            )
        for write in (parked or {}).get(name, []):
            console.print(
                f"  [yellow]parked[/] {escape(write['task'])}: {escape(write['reason'] or '')} "
                "[dim](not retried until the task's status changes)[/]"
            )
