"""The OKR engine: pure functions from definitions, tasks and check-ins to results.

No I/O, no database, no clock: the moment (`now`) is a parameter. `evaluate` is the entry
point; the pieces are exported for callers that need one step (e.g. mapping webhook tasks).

Choices worth knowing (each documented where it is made):
- Mapping (`matching`, `rules`): rules of an initiative are OR'ed, conditions of a rule AND'ed;
  identifiers (containers, labels, parents, assignees, field values) compare case-insensitively;
  deleted tasks never match; `<prefix><initiative-id>` maps explicitly, but never the bridge's
  own status labels (`okr:on-track` ...), so an initiative whose id is such a slug is only
  reachable by its rules. Mappings are keyed by `(connector, external_id)` tuples.
- Progress (`progress`): excluded tasks are left out; no counted task gives 0%.
- Values (`measures`): `tasks` key results take the aggregate itself as the value (count or sum
  of estimates of matching, non-excluded tasks); progress is (value - start)/(target - start).
- Pace (`pace`): dates are whole UTC days, the objective's end day included; plan checkpoints
  are due by the end of their day.
- Status (`status`, `rollup`): a check-in's confidence overrides the computed status until the
  next check-in, except once the target is reached.
- Forecast (`forecast`): least squares over the history plus the current value at `now`, only
  once it spans 3 days and 10% of the timeframe, clamped to what the metric allows.
- Explanations (`explain`): per task, each rule's verdict condition by condition; per task
  set, the initiatives and rules that match nothing.
"""

from .evaluation import Evaluation, History, evaluate, latest_checkins
from .explain import (
    ConditionCheck,
    RuleCheck,
    RuleHits,
    RuleRef,
    TaskExplanation,
    Unmatched,
    explain_task,
    unmatched,
)
from .forecast import linear_forecast
from .matching import RESERVED_LABEL_SLUGS, TaskMapping, TaskMatcher, map_tasks
from .measures import Measure, measure_initiatives, measure_manual, measure_tasks
from .pace import Pace, elapsed_share, expected_pace, progress_of, reached, status_from_lag
from .progress import DEFAULT_WEIGHTS, initiative_progress
from .reasons import percent_text, status_text, value_text
from .rollup import assess_objective
from .status import Assessment, assess_key_result
from .taskview import TaskKey, TaskView, category_of, task_key

__all__ = [
    "DEFAULT_WEIGHTS",
    "RESERVED_LABEL_SLUGS",
    "Assessment",
    "ConditionCheck",
    "Evaluation",
    "History",
    "Measure",
    "Pace",
    "RuleCheck",
    "RuleHits",
    "RuleRef",
    "TaskExplanation",
    "TaskKey",
    "TaskMapping",
    "TaskMatcher",
    "TaskView",
    "Unmatched",
    "assess_key_result",
    "assess_objective",
    "category_of",
    "elapsed_share",
    "evaluate",
    "expected_pace",
    "explain_task",
    "initiative_progress",
    "latest_checkins",
    "linear_forecast",
    "map_tasks",
    "measure_initiatives",
    "measure_manual",
    "measure_tasks",
    "percent_text",
    "progress_of",
    "reached",
    "status_from_lag",
    "status_text",
    "task_key",
    "unmatched",
    "value_text",
]
