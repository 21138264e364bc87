"""A believable past for the demo: weekly check-ins and task changes since the objective began.

The engine evaluates the worked example's tasks as they stood each week (done tasks were
started, then finished; in-progress ones started part-way) and the store's history repos
record each evaluation at its past moment, exactly as weekly syncs would have. Burn-ups,
forecasts and `okrbridge report` then have a quarter to show instead of one point.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta

from okrbridge.config.schema import Config
from okrbridge.domain import CheckIn, StatusCategory, Task
from okrbridge.engine import evaluate
from okrbridge.sandbox.tool import SeedTask
from okrbridge.store.db import Store
from okrbridge.store.repos.history import add_checkin, checkins, record_evaluation, value_history

__all__ = ["INSTALLS_NOW", "seed_history", "task_at"]

INSTALLS_NOW = 118_000.0
"""The installs check-in the demo records today; past weeks lead up to it."""


def task_at(seed: SeedTask, number: int, share: float) -> StatusCategory:
    """Where the `number`-th seeded task stood when `share` (0..1) of the past had gone by.

    Done tasks were started, then finished a few weeks later; in-progress ones started in the
    second half; to-do ones never moved.
    """
    step = (number % 4) * 0.12
    if seed.status is StatusCategory.DONE:
        finished, started = 0.35 + step, 0.1 + step
    elif seed.status is StatusCategory.IN_PROGRESS:
        finished, started = 2.0, 0.55 + step / 2
    else:
        return seed.status
    if share >= finished:
        return StatusCategory.DONE
    return StatusCategory.IN_PROGRESS if share >= started else StatusCategory.TODO


def _tasks(seeds: Mapping[str, list[SeedTask]], share: float) -> list[Task]:
    tasks = []
    for instance, items in seeds.items():
        for number, seed in enumerate(items):
            tasks.append(
                Task(
                    connector=instance,
                    external_id=f"history-{number}",
                    key=f"history-{number}",
                    title=seed.title,
                    container=seed.container,
                    labels=seed.labels,
                    estimate=seed.estimate,
                    status_category=task_at(seed, number, share),
                )
            )
    return tasks


def seed_history(
    store: Store, config: Config, seeds: Mapping[str, list[SeedTask]], start: date, now: datetime
) -> int:
    """Record one check-in and one evaluation per past week since `start`; returns the weeks.

    `seeds` maps each connector instance to the tasks seeded in its simulator.
    """
    first = datetime.combine(start, time(9), tzinfo=UTC)
    weeks = max(0, (now - first).days // 7)
    for week in range(weeks):
        at = first + timedelta(weeks=week)
        share = week / weeks
        with store.session() as session:
            add_checkin(
                session,
                CheckIn(
                    key_result_id="kr-installs",
                    value=round(INSTALLS_NOW * (0.05 + 0.9 * share**1.2), -3),
                    at=at,
                    note="weekly figure from the store dashboards",
                ),
            )
            evaluation = evaluate(
                config.objectives,
                config.initiatives,
                _tasks(seeds, share),
                checkins(session),
                value_history(session),
                now=at,
                tolerance=config.engine.tolerance,
                confidence_overrides=config.engine.confidence_overrides,
                label_prefix=config.push.label_prefix,
            )
            record_evaluation(
                session, evaluation.objectives, list(evaluation.initiatives.values()), None, at
            )
    return weeks
