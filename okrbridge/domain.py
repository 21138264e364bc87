"""Domain vocabulary shared by every layer: OKR definitions, tasks and computed results.

OKR definitions (objectives, key results, initiatives, match rules) are what the user writes in
the config file; the engine turns them, together with normalized tasks and check-ins, into
results (values, progress, statuses, reasons, forecasts). Everything here is plain data.
"""

from __future__ import annotations

import enum
import types
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

__all__ = [
    "CheckIn",
    "Checkpoint",
    "Direction",
    "Forecast",
    "FoundMarks",
    "Initiative",
    "InitiativeProgressMode",
    "InitiativeResult",
    "KRStatus",
    "KeyResult",
    "KeyResultLink",
    "KeyResultResult",
    "KeyResultSource",
    "MatchRule",
    "Metric",
    "Objective",
    "ObjectiveResult",
    "ObjectiveRollup",
    "StatusCategory",
    "StrictScalars",
    "Task",
    "TaskAggregate",
    "TaskRef",
]


def annotation_members(annotation: Any) -> list[Any]:
    """`annotation` flattened through `Annotated` and unions into its member types."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return annotation_members(get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        return [member for arg in get_args(annotation) for member in annotation_members(arg)]
    return [annotation]


_NUMBERS = (int, float, timedelta)


def _check_scalar(annotation: Any, value: Any) -> None:
    """Raise ValueError when `value` is a boolean where a number belongs, or the reverse;
    items of lists and values of tables are checked against their own types."""
    members = annotation_members(annotation)
    if isinstance(value, bool):
        if bool not in members and any(m in _NUMBERS for m in members):
            raise ValueError("expected a number, got a boolean (true/false)")
    elif isinstance(value, int | float):
        if bool in members and not any(m in _NUMBERS for m in members):
            raise ValueError("expected true or false, got a number")
    elif isinstance(value, list | dict):
        for member in members:
            origin, args = get_origin(member), get_args(member)
            if origin is list and args and isinstance(value, list):
                for item in value:
                    _check_scalar(args[0], item)
            elif origin is dict and len(args) == 2 and isinstance(value, dict):
                for item in value.values():
                    _check_scalar(args[1], item)


class StrictScalars(BaseModel):
    """Base for user-written settings: booleans are not numbers, numbers are not booleans
    (`port = true` and `enabled = 1` are errors, where pydantic would coerce them), and
    numbers are finite (nan and inf are errors). Strings still coerce (`"8080"`, `"true"`:
    values from environment variables)."""

    model_config = ConfigDict(allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _strict_scalars(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        if field is not None:
            _check_scalar(field.annotation, value)
        return value


class _Strict(StrictScalars):
    """Base for user-written definitions: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class StatusCategory(str, enum.Enum):
    """Tool-independent workflow stage of a task."""

    TODO = "todo"
    IN_PROGRESS = "in_progress"
    DONE = "done"


class KRStatus(str, enum.Enum):
    """Status of a key result (and of an objective), ordered from best to worst by `severity`."""

    ACHIEVED = "achieved"
    ON_TRACK = "on_track"
    NEEDS_ATTENTION = "needs_attention"
    OFF_TRACK = "off_track"
    NOT_STARTED = "not_started"

    @property
    def severity(self) -> int:
        """0 for the best status, higher for worse; `not_started` ranks as neutral (1)."""
        return _SEVERITY[self]

    @property
    def label_slug(self) -> str:
        """The suffix used in tool labels: `on-track`, `needs-attention`, ..."""
        return self.value.replace("_", "-")


_SEVERITY = {
    KRStatus.ACHIEVED: 0,
    KRStatus.ON_TRACK: 1,
    KRStatus.NOT_STARTED: 1,
    KRStatus.NEEDS_ATTENTION: 2,
    KRStatus.OFF_TRACK: 3,
}


class Metric(str, enum.Enum):
    NUMBER = "number"
    PERCENT = "percent"
    CURRENCY = "currency"
    BOOLEAN = "boolean"


class Direction(str, enum.Enum):
    INCREASE = "increase"
    DECREASE = "decrease"


class KeyResultSource(str, enum.Enum):
    """Where a key result's current value comes from."""

    MANUAL = "manual"
    INITIATIVES = "initiatives"
    TASKS = "tasks"


class InitiativeProgressMode(str, enum.Enum):
    """How an initiative's progress is computed from its tasks."""

    COUNT = "count"
    ESTIMATE = "estimate"
    WEIGHTED = "weighted"
    TARGET = "target"


class ObjectiveRollup(str, enum.Enum):
    WORST = "worst"
    WEIGHTED = "weighted"


# ---------------------------------------------------------------------------------------------
# Tasks (normalized by connectors)


class TaskRef(BaseModel):
    """Identity of a task: the connector instance and the tool's stable id."""

    model_config = ConfigDict(frozen=True)

    connector: str
    external_id: str


class FoundMarks(BaseModel):
    """The bridge's own marks as a connector saw them on a task in the tool.

    A task whose `marks` is None was read without looking at its comments; with `marks` set,
    `comment_id` None means the tool holds no bridge comment on it (deleted, or never made).
    """

    model_config = ConfigDict(frozen=True)

    comment_id: str | None = None
    comment_digest: str | None = None
    """The digest stamped in that comment when the bridge last wrote it (None: unstamped)."""
    field_value: str | None = None
    """The current value of the status project field, where the bridge writes one ("" unset)."""


class Task(BaseModel):
    """A work item from a tool, normalized. `raw` keeps the tool's payload as received."""

    model_config = ConfigDict(frozen=True)

    connector: str
    external_id: str
    key: str
    url: str = ""
    title: str = ""
    container: str = ""
    container_aliases: tuple[str, ...] = ()
    """Other ways a person writes the same container (a Trello board's id beside its short
    link): a match rule's `container` matches any of them."""
    status_name: str = ""
    status_category: StatusCategory = StatusCategory.TODO
    excluded: bool = False
    """True when the tool says the work will not be done (e.g. closed as not planned)."""
    labels: tuple[str, ...] = ()
    assignees: tuple[str, ...] = ()
    estimate: float | None = None
    parent: str | None = None
    due: date | None = None
    fields: dict[str, str] = Field(default_factory=dict)
    """Extra named values (custom fields, iteration, ...) that match rules can test."""
    updated_at: datetime | None = None
    deleted: bool = False
    raw: dict[str, Any] = Field(default_factory=dict)
    marks: FoundMarks | None = None
    """The bridge's comment (and field value) found in the tool, when the read looked."""

    @property
    def ref(self) -> TaskRef:
        return TaskRef(connector=self.connector, external_id=self.external_id)


# ---------------------------------------------------------------------------------------------
# OKR definitions (written by the user in the config file)


class MatchRule(_Strict):
    """A task matches when every condition that is set holds (unset conditions are ignored)."""

    connector: str | None = None
    container: str | list[str] | None = None
    """The task's container (Jira project key, GitHub repository `owner/repo`, Trello board
    id or short link); any of the task's `container_aliases` matches too."""
    project: str | list[str] | None = None
    """A GitHub project the item belongs to, as `owner/number` (e.g. `acme/7`): tested against
    `task.fields["project"]`."""
    labels_any: list[str] = Field(default_factory=list)
    labels_all: list[str] = Field(default_factory=list)
    labels_none: list[str] = Field(default_factory=list)
    parent: str | list[str] | None = None
    status_category: StatusCategory | list[StatusCategory] | None = None
    assignee: str | list[str] | None = None
    title_regex: str | None = None
    field: dict[str, str] = Field(default_factory=dict)
    """Named fields that must equal the given values, e.g. `{ "Team" = "Growth" }`."""


class Checkpoint(_Strict):
    """A planned value on a date; several make a planned curve for the pace."""

    date: date
    value: float


class KeyResult(_Strict):
    id: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")]
    title: str
    metric: Metric = Metric.NUMBER
    start: float = 0.0
    target: float
    direction: Direction | None = None
    """Defaults from start and target: a target below the start means `decrease`."""
    source: KeyResultSource = KeyResultSource.MANUAL
    unit: str = ""
    tolerance: float | None = Field(default=None, ge=0, le=1)
    """Allowed lag behind the pace before `needs_attention`; None uses the global default."""
    plan: list[Checkpoint] = Field(default_factory=list)
    tasks: MatchRule | None = None
    """For `source = "tasks"`: which tasks count."""
    aggregate: Literal["count", "sum_estimate"] = "count"
    weight: float = Field(default=1.0, gt=0)
    """Weight in the objective's weighted roll-up."""

    @model_validator(mode="after")
    def _check(self) -> KeyResult:
        if self.start == self.target:
            raise ValueError("start and target are equal, so progress cannot be measured")
        expected = Direction.INCREASE if self.target > self.start else Direction.DECREASE
        if self.direction is not None and self.direction is not expected:
            raise ValueError(
                f"direction is {self.direction.value!r} but target {self.target:g} "
                f"is {'above' if self.target > self.start else 'below'} start {self.start:g}"
            )
        if self.source is KeyResultSource.TASKS and self.tasks is None:
            raise ValueError('source = "tasks" needs a `tasks` match rule')
        if self.source is not KeyResultSource.TASKS and self.tasks is not None:
            raise ValueError('a `tasks` match rule is only used with source = "tasks"')
        return self

    @property
    def resolved_direction(self) -> Direction:
        return Direction.INCREASE if self.target > self.start else Direction.DECREASE


class Objective(_Strict):
    id: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")]
    title: str
    owner: str = ""
    start: date
    end: date
    rollup: ObjectiveRollup = ObjectiveRollup.WORST
    key_results: list[KeyResult] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> Objective:
        if self.end <= self.start:
            raise ValueError(f"end {self.end} is not after start {self.start}")
        return self


class KeyResultLink(_Strict):
    id: str
    weight: float = Field(default=1.0, gt=0)


class Initiative(_Strict):
    id: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")]
    title: str
    key_results: list[KeyResultLink] = Field(min_length=1)
    match: list[MatchRule] = Field(default_factory=list)
    """A task belongs to the initiative when any rule matches (or it carries `okr:<id>`)."""
    progress: InitiativeProgressMode = InitiativeProgressMode.COUNT
    default_estimate: float = Field(default=1.0, ge=0)
    """Estimate assumed for tasks without one, in `estimate` mode."""
    weights: dict[StatusCategory, float] = Field(
        default_factory=lambda: {
            StatusCategory.TODO: 0.0,
            StatusCategory.IN_PROGRESS: 0.5,
            StatusCategory.DONE: 1.0,
        }
    )
    """Credit per status category, in `weighted` mode."""
    target: int | None = Field(default=None, gt=0)
    """Done tasks needed for 100%, in `target` mode."""

    @model_validator(mode="after")
    def _check(self) -> Initiative:
        if self.progress is InitiativeProgressMode.TARGET and self.target is None:
            raise ValueError('progress = "target" needs `target` (the done count for 100%)')
        return self


# ---------------------------------------------------------------------------------------------
# Check-ins and computed results


class CheckIn(BaseModel):
    """A value reported by a person for a key result, optionally with a confidence."""

    model_config = ConfigDict(frozen=True)

    key_result_id: str
    value: float
    at: datetime
    confidence: KRStatus | None = None
    note: str = ""


class TaskAggregate(BaseModel):
    """Counts of an initiative's tasks by status category."""

    model_config = ConfigDict(frozen=True)

    todo: int = 0
    in_progress: int = 0
    done: int = 0

    @property
    def total(self) -> int:
        return self.todo + self.in_progress + self.done


class Forecast(BaseModel):
    model_config = ConfigDict(frozen=True)

    projected_value: float
    """Value expected at the end of the timeframe at the current trend."""
    target_date: date | None
    """Date the target would be reached at the current trend (None: not at this pace)."""


class InitiativeResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    progress: float
    """0..1"""
    counts: TaskAggregate
    task_count: int
    reason: str


class KeyResultResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    objective_id: str
    title: str
    value: float | None
    start: float
    target: float
    unit: str = ""
    metric: Metric = Metric.NUMBER
    progress: float
    """0..1 share of the way from start to target."""
    expected_progress: float
    """0..1 share the pace asks for today."""
    status: KRStatus
    reason: str
    forecast: Forecast | None = None
    forecast_note: str | None = None
    """Why there is no forecast while there is a value, e.g. `not enough history yet (2 of 3
    days)`; None when a forecast is given or there is no value to forecast from."""
    initiative_ids: tuple[str, ...] = ()


class ObjectiveResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    owner: str
    start: date
    end: date
    status: KRStatus
    progress: float
    reason: str
    key_results: tuple[KeyResultResult, ...]
