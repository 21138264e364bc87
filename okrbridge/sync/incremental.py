"""Incremental evaluation: keep the stored mapping and tallies in step with changed tasks.

Every write of a task's content notes the task in `task_changes`. `refresh_tallies` maps
only those tasks again, writes their links by difference and moves the tallies of their
old and new targets by their old and new contributions: work proportional to the change.
A full recount (`--full`, or when the mapping inputs of the config changed) streams every
task in pages and rebuilds the same state; `tests/sync/test_incremental.py` shows both agree.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from okrbridge.config.schema import Config
from okrbridge.domain import KeyResultSource, KRStatus
from okrbridge.engine import Evaluation, RuleHits, RuleRef, TaskMatcher
from okrbridge.engine.progress import TaskTally
from okrbridge.engine.tallies import Contribution, add_contribution
from okrbridge.store.repos._sql import STATISTICS_FROM, refresh_statistics
from okrbridge.store.repos.mapping import (
    KR_LINKS,
    LINKS,
    Links,
    apply_link_changes,
    load_links,
    tasks_of_initiatives,
)
from okrbridge.store.repos.tallies import (
    CONTRIBUTIONS,
    TALLY_STATE,
    TallyKey,
    TallyState,
    changed_task_ids,
    clear_changes,
    in_flight_tasks,
    latest_change,
    load_contributions,
    load_state,
    load_tallies,
    pending_changes,
    plan_state_name,
    refresh_due_tasks,
    replace_tallies,
    save_contributions,
    save_state,
    save_tallies,
)
from okrbridge.store.repos.tasks import StoredTask, iter_stored_tasks

__all__ = [
    "TallyUpdate",
    "acknowledge_plans",
    "changed_initiatives",
    "mapping_fingerprint",
    "plan_inputs_changed",
    "refresh_tallies",
]

INITIATIVE = "initiative"
KEY_RESULT = "key_result"


@dataclass(frozen=True)
class TallyUpdate:
    """The stored mapping and tallies after a refresh."""

    fingerprint: str
    """Digest of the mapping inputs they were built with (`mapping_fingerprint`)."""
    seq: int
    """The newest task change they count."""
    tallies: dict[TallyKey, TaskTally]
    """Every target's tally."""
    recounted: bool
    """True when everything was recounted (`--full`, or the mapping inputs changed)."""
    unmatched_rules: tuple[RuleRef, ...] | None = None
    """After a recount, the initiative rules that matched no live task (None otherwise)."""


def mapping_fingerprint(config: Config) -> str:
    """Digest of what decides the stored mapping: rules, explicit-label prefix, links to KRs.

    When it differs from the one the tallies were built with, they are rebuilt from scratch.
    """
    data = {
        "prefix": config.push.label_prefix,
        "initiatives": [
            initiative.model_dump(mode="json", include={"id", "match", "key_results"})
            for initiative in config.initiatives
        ],
        "counted": [
            kr.model_dump(mode="json", include={"id", "source", "tasks"})
            for objective in config.objectives
            for kr in objective.key_results
            if kr.source is KeyResultSource.TASKS
        ],
    }
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def refresh_tallies(
    session: Session, config: Config, *, now: datetime, full: bool = False
) -> TallyUpdate:
    """Bring the stored links, contributions and tallies up to date with the stored tasks.

    Incremental unless `full` or the config's mapping inputs changed. Runs in the caller's
    transaction; the state row is locked first, so concurrent computes apply changes once.
    """
    matcher = _Matcher(config)
    fingerprint = mapping_fingerprint(config)
    state = load_state(session, TALLY_STATE, lock=True)
    if full or state is None or state.fingerprint != fingerprint:
        upto = latest_change(session)
        tallies: dict[TallyKey, TaskTally] = {}
        hits = RuleHits(config.initiatives)
        counted = 0
        for page in iter_stored_tasks(session):
            _apply(session, matcher, page, tallies, recount=True)
            hits.add(page)
            counted += len(page)
        if counted >= STATISTICS_FROM:  # the links and contributions may have just been loaded
            refresh_statistics(session, [LINKS, KR_LINKS, CONTRIBUTIONS])
        replace_tallies(session, tallies)
        save_state(session, TALLY_STATE, TallyState(fingerprint, upto), now)
        return TallyUpdate(
            fingerprint, upto, tallies, recounted=True, unmatched_rules=hits.unmatched
        )
    tallies = load_tallies(session)
    upto, refs = pending_changes(session, state.seq)
    if refs:
        touched: set[TallyKey] = set()
        for page in iter_stored_tasks(session, refs=refs):
            touched |= _apply(session, matcher, page, tallies, recount=False)
        save_tallies(session, tallies, touched)
        save_state(session, TALLY_STATE, TallyState(fingerprint, upto), now)
    return TallyUpdate(fingerprint, upto, tallies, recounted=False)


class _Matcher:
    """The config's compiled rules, answering with initiative and key-result ids."""

    def __init__(self, config: Config) -> None:
        key_results = [kr for o in config.objectives for kr in o.key_results]
        self.matcher = TaskMatcher(
            config.initiatives, key_results, label_prefix=config.push.label_prefix
        )
        self.count = len(self.matcher.initiative_ids)
        self._shared: dict[frozenset[int], Links] = {}

    def links(self, task: StoredTask) -> Links:
        numbers = frozenset(self.matcher.targets(task))
        found = self._shared.get(numbers)
        if found is None:
            ids, count = self.matcher.initiative_ids, self.count
            krs = self.matcher.key_result_ids
            found = self._shared[numbers] = Links(
                frozenset(ids[n] for n in numbers if n < count),
                frozenset(krs[n - count] for n in numbers if n >= count),
            )
        return found


def _targets(links: Links) -> list[TallyKey]:
    return [(INITIATIVE, i) for i in links.initiatives] + [
        (KEY_RESULT, k) for k in links.key_results
    ]


def _apply(
    session: Session,
    matcher: _Matcher,
    page: Sequence[StoredTask],
    tallies: dict[TallyKey, TaskTally],
    *,
    recount: bool,
) -> set[TallyKey]:
    """Map one page of tasks; write links and contributions that differ; move the tallies.

    `recount`: `tallies` started empty, so only new contributions are added.
    Returns the tally keys that moved.
    """
    ids = [task.id for task in page]
    old_links = load_links(session, ids)
    old = load_contributions(session, ids)
    empty = Links()
    new_links: dict[int, Links] = {}
    contributions: dict[int, Contribution | None] = {}
    touched: set[TallyKey] = set()
    for task in page:
        links = matcher.links(task)
        contribution = Contribution.of(task) if links != empty else None
        before_links = old_links.get(task.id, empty)
        before = old.get(task.id)
        if recount:
            if contribution is not None:
                for key in _targets(links):
                    add_contribution(tallies.setdefault(key, TaskTally()), contribution)
        elif (before_links, before) != (links, contribution):
            if before is not None:
                for key in _targets(before_links):
                    add_contribution(tallies.setdefault(key, TaskTally()), before, -1)
                    touched.add(key)
            if contribution is not None:
                for key in _targets(links):
                    add_contribution(tallies.setdefault(key, TaskTally()), contribution)
                    touched.add(key)
        if before_links != links:
            new_links[task.id] = links
        if before != contribution:
            contributions[task.id] = contribution
    apply_link_changes(session, old_links, new_links)
    save_contributions(session, contributions)
    return touched


def changed_initiatives(evaluation: Evaluation, previous: Mapping[str, KRStatus]) -> set[str]:
    """Initiatives serving a key result whose status differs from `previous` (or is new)."""
    moved = {
        kr_id
        for kr_id, result in evaluation.key_results.items()
        if previous.get(kr_id) is not result.status
    }
    return {
        initiative_id
        for initiative_id, kr_ids in evaluation.initiative_key_results.items()
        if moved.intersection(kr_ids)
    }


def plan_inputs_changed(
    session: Session,
    instance: str,
    update: TallyUpdate,
    evaluation: Evaluation,
    *,
    now: datetime,
    refresh: timedelta | None = None,
    advance: bool = True,
) -> set[int] | None:
    """Store ids of the tasks of `instance` whose plan inputs may have changed since its
    plans were last written (`acknowledge_plans`); None means every task of `instance`.

    A task's desired marks depend on its own content (status category, excluded, labels,
    deleted: whatever a pull or a webhook wrote), on the initiatives and key results it
    serves, and on the statuses of those key results. So the answer is the union of:

    - the tasks written since the instance's last plans (a content change that moved no
      tally is still included: labels and status drive the plan);
    - the tasks mapped to an initiative serving a key result whose status differs from the
      one at the instance's last plans (or that is new);
    - the tasks whose push state the tool's marks changed (`reconcile_marks` notes them
      like a content change);
    - the tasks with an in-flight write (a drain stopped mid-write): planned again, flagged
      uncertain, so the connector looks for what that attempt may have made.

    Queued writes of other tasks stay as they are: `QueueReplacement` replaces only the
    rows of the tasks it plans, so a long rollout's queue is not planned again each sync.

    None (every task): the instance has never been planned, or was last planned under other
    mapping inputs (rules, label prefix, initiative-to-key-result links), or a recount
    (`--full`) happened since.

    - with `refresh` (`push.comment_refresh`), a bounded sweep of the tasks whose comment
      figures are older than that (`_refresh_sweep`; `advance=False`, a dry run, leaves its
      cursor where it was): the planner decides whether they moved. Figures that moved
      while no status did wait for this; titles and reasons alone do not change what a
      task should carry.

    The set stays valid until `acknowledge_plans` records that the plans were written, so a
    sync that stops in between (crash, connector failure) plans these tasks again next time.
    """
    planned = load_state(session, plan_state_name(instance))
    if planned is None or update.recounted or planned.fingerprint != update.fingerprint:
        return None
    ids = changed_task_ids(session, instance, planned.seq, update.seq)
    previous = {kr: KRStatus(status) for kr, status in planned.statuses.items()}
    initiatives = changed_initiatives(evaluation, previous)
    if initiatives:
        ids |= tasks_of_initiatives(session, initiatives, connector=instance)
    ids |= in_flight_tasks(session, instance)
    if refresh is not None:
        ids |= _refresh_sweep(session, instance, now - refresh, now, advance=advance)
    return ids


REFRESH_SWEEP = 2_000
"""Tasks with a due figure refresh considered per sync and instance (see `_refresh_sweep`)."""


def _refresh_sweep(
    session: Session, instance: str, before: datetime, now: datetime, *, advance: bool = True
) -> set[int]:
    """Up to `REFRESH_SWEEP` tasks whose comment figures were written before `before`, in id
    order from where the previous sweep stopped (wrapping around).

    A due refresh whose figures did not move writes nothing and stays due; sweeping bounds
    what such tasks cost each sync, and every due task is still reached in turn.
    """
    name = f"sweep:{instance}"
    cursor = load_state(session, name)
    after = 0 if cursor is None else cursor.seq
    found = refresh_due_tasks(session, instance, before, after, REFRESH_SWEEP)
    if len(found) < REFRESH_SWEEP and after > 0:  # wrap around
        found += refresh_due_tasks(session, instance, before, 0, REFRESH_SWEEP - len(found))
    last = found[-1] if len(found) == REFRESH_SWEEP else 0
    if advance:
        save_state(session, name, TallyState("", last), now)
    return set(found)


def acknowledge_plans(
    session: Session, instance: str, update: TallyUpdate, evaluation: Evaluation, now: datetime
) -> None:
    """Record that `instance`'s plans now follow `update` and `evaluation` (after they are
    written to its queue): the next `plan_inputs_changed` starts from here."""
    statuses = {kr_id: KRStatus(r.status).value for kr_id, r in evaluation.key_results.items()}
    state = TallyState(update.fingerprint, update.seq, statuses)
    save_state(session, plan_state_name(instance), state, now)
    clear_changes(session, instance, update.seq)
