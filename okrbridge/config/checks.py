"""Checks that span sections of a validated configuration.

Each check returns `(location, message)` pairs; the loader turns locations into lines. The
checks tolerate a partial configuration (parts that failed validation left out): the caller can
name ids that exist in those parts so that they are not reported as unknown.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterator

from okrbridge.config.problems import KeyPath, format_path
from okrbridge.config.schema import Config
from okrbridge.domain import KeyResultSource, KRStatus, MatchRule

__all__ = ["CrossProblem", "LabelLimit", "cross_problems"]

CrossProblem = tuple[KeyPath, str]
LabelLimit = tuple[str, int]
"""(connector instance, the longest label its tool accepts), as its connector declares."""
_STATUS_SLUGS = [status.label_slug for status in KRStatus]


def cross_problems(
    config: Config,
    *,
    known_key_results: Collection[str] = (),
    linked_key_results: Collection[str] = (),
    known_connectors: Collection[str] = (),
    label_limits: Collection[LabelLimit] = (),
) -> list[CrossProblem]:
    """Every cross-section problem of `config`.

    The keyword arguments name key results, key-result links and connector instances that are
    written in the file but were left out of `config` because they failed validation.
    """
    return [
        *_duplicate_ids(config),
        *_initiative_links(config, known_key_results),
        *_unlinked_key_results(config, linked_key_results),
        *_rule_connectors(config, known_connectors),
        *_rule_regexes(config),
        *_label_names(config, min(label_limits, key=lambda limit: limit[1], default=None)),
        *_plan_dates(config),
    ]


def _first_use(seen: dict[str, KeyPath], key: str, path: KeyPath, what: str) -> Iterator[str]:
    first = seen.setdefault(key, path)
    if first != path:
        yield f"duplicate {what} id '{key}' (already used at {format_path(first)})"


def _duplicate_ids(config: Config) -> Iterator[CrossProblem]:
    objectives: dict[str, KeyPath] = {}
    key_results: dict[str, KeyPath] = {}
    initiatives: dict[str, KeyPath] = {}
    for i, objective in enumerate(config.objectives):
        at: KeyPath = ("objectives", i)
        for message in _first_use(objectives, objective.id, at, "objective"):
            yield (*at, "id"), message
        for k, kr in enumerate(objective.key_results):
            kr_at: KeyPath = (*at, "key_results", k)
            for message in _first_use(key_results, kr.id, kr_at, "key result"):
                yield (*kr_at, "id"), message
    for i, initiative in enumerate(config.initiatives):
        at = ("initiatives", i)
        for message in _first_use(initiatives, initiative.id, at, "initiative"):
            yield (*at, "id"), message


def _initiative_links(config: Config, extra: Collection[str]) -> Iterator[CrossProblem]:
    known = list(config.key_results())
    for i, initiative in enumerate(config.initiatives):
        seen: set[str] = set()
        for j, link in enumerate(initiative.key_results):
            at: KeyPath = ("initiatives", i, "key_results", j, "id")
            if link.id in seen:
                yield at, f"key result '{link.id}' is linked twice"
            seen.add(link.id)
            if link.id not in known and link.id not in extra:
                yield at, f"unknown key result '{link.id}'{_choices(link.id, known)}"


def _unlinked_key_results(config: Config, extra: Collection[str]) -> Iterator[CrossProblem]:
    linked = {link.id for initiative in config.initiatives for link in initiative.key_results}
    for i, objective in enumerate(config.objectives):
        for k, kr in enumerate(objective.key_results):
            if kr.source is KeyResultSource.INITIATIVES and kr.id not in linked | set(extra):
                yield (
                    ("objectives", i, "key_results", k, "source"),
                    f"source = \"initiatives\" but no initiative links to key result '{kr.id}' "
                    f'(add it to an initiative\'s key_results, or use source = "manual")',
                )


def _rules(config: Config) -> Iterator[tuple[KeyPath, MatchRule]]:
    for i, objective in enumerate(config.objectives):
        for k, kr in enumerate(objective.key_results):
            if kr.tasks is not None:
                yield ("objectives", i, "key_results", k, "tasks"), kr.tasks
    for i, initiative in enumerate(config.initiatives):
        for j, rule in enumerate(initiative.match):
            yield ("initiatives", i, "match", j), rule


def _rule_connectors(config: Config, extra: Collection[str]) -> Iterator[CrossProblem]:
    known = list(config.connectors)
    for at, rule in _rules(config):
        name = rule.connector
        if name is not None and name not in known and name not in extra:
            yield (*at, "connector"), f"unknown connector instance '{name}'{_choices(name, known)}"


def _rule_regexes(config: Config) -> Iterator[CrossProblem]:
    for at, rule in _rules(config):
        if rule.title_regex is None:
            continue
        try:
            re.compile(rule.title_regex)
        except re.error as exc:
            where = f" at position {exc.pos}" if exc.pos is not None else ""
            yield (*at, "title_regex"), f"invalid regular expression: {exc.msg}{where}"


def _too_long(label: str, limit: LabelLimit, fix: str) -> str:
    instance, length = limit
    return (
        f"label '{label}' is longer than {length} characters "
        f"(the label limit of connector '{instance}'); {fix}"
    )


def _label_names(config: Config, limit: LabelLimit | None) -> Iterator[CrossProblem]:
    prefix = config.push.label_prefix
    longest = max(_STATUS_SLUGS, key=len)
    if limit is not None and len(prefix + longest) > limit[1]:
        yield ("push", "label_prefix"), _too_long(prefix + longest, limit, "use a shorter prefix")
    for i, initiative in enumerate(config.initiatives):
        at: KeyPath = ("initiatives", i, "id")
        slug = initiative.id.lower()
        if slug in _STATUS_SLUGS:
            message = f"initiative id '{initiative.id}' is also a status label ('{prefix}{slug}')"
            yield at, f"{message}; choose another id"
        if limit is not None and len(prefix + initiative.id) > limit[1]:
            yield at, _too_long(prefix + initiative.id, limit, "use a shorter id")


def _plan_dates(config: Config) -> Iterator[CrossProblem]:
    for i, objective in enumerate(config.objectives):
        for k, kr in enumerate(objective.key_results):
            for p, point in enumerate(kr.plan):
                if not objective.start <= point.date <= objective.end:
                    yield (
                        ("objectives", i, "key_results", k, "plan", p, "date"),
                        f"checkpoint date {point.date} is outside the objective's timeframe "
                        f"{objective.start}..{objective.end}",
                    )


def _choices(word: str, known: list[str]) -> str:
    close = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    if close:
        return f" (did you mean '{close[0]}'?)"
    return f" (known: {', '.join(sorted(known))})" if known else " (none are defined)"
