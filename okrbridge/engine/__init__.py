"""The OKR engine: pure functions from definitions, tasks and check-ins to results.

No I/O, no database, no clock: the moment (`now`) is a parameter. `evaluate` is the entry
point; the pieces are exported for callers that need one step (e.g. mapping webhook tasks).
"""

from .evaluation import Evaluation, History, evaluate, latest_checkins
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
    "Evaluation",
    "History",
    "Measure",
    "Pace",
    "TaskKey",
    "TaskMapping",
    "TaskMatcher",
    "TaskView",
    "assess_key_result",
    "assess_objective",
    "category_of",
    "elapsed_share",
    "evaluate",
    "expected_pace",
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
    "value_text",
]
