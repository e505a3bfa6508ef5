"""The pack's own sections: tasks, state retention and the whole-file model `PackConfig`.

`PackConfig` has no rule fields: the loader subclasses it with the `rules` and stage
sections of the rule registry (`monitor.core.pack.loader.config_model`)."""

from __future__ import annotations

import logging
from typing import Any, TypeVar, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from monitor.core.pack.due import ReportDueConfig
from monitor.core.pack.routing import QueueConfig, Route
from monitor.core.rules.config import Category, StageConfig, Strict
from schemas import Trigger

__all__ = [
    "DEFAULT_TASKS",
    "TRIGGERS",
    "PackConfig",
    "RulesConfig",
    "StateConfig",
    "TaskConfig",
]

logger = logging.getLogger(__name__)

#: every re-identification trigger, in the order of the task schema's `Trigger`
TRIGGERS: tuple[str, ...] = get_args(Trigger)


class TaskConfig(Strict):
    """A re-identification task: what the branch must do and in how many working days."""

    measures: list[str] = Field(min_length=1)
    due_working_days: int = Field(ge=0, le=365)


def _task(due: int, *measures: str) -> TaskConfig:
    return TaskConfig(measures=list(measures), due_working_days=due)


#: trigger -> task, for every trigger a pack's `tasks` section leaves out
DEFAULT_TASKS: dict[str, TaskConfig] = {
    "INCOMPLETE_KYC": _task(
        10,
        "obtain the missing identity information from the customer",
        "verify the identity document against the original or an official source",
        "restrict new business until identification is complete",
    ),
    "ID_EXPIRED": _task(
        10,
        "obtain a valid identity document",
        "verify it with the issuing authority",
        "suspend non-essential services if not renewed in time",
    ),
    "ENHANCED_DUE_DILIGENCE": _task(
        10,
        "obtain senior management approval for the relationship",
        "establish the source of funds and of wealth",
        "apply enhanced ongoing monitoring",
    ),
    "WATCHLIST_MATCH": _task(
        1,
        "review the match against the list entry",
        "freeze or reject the transaction if the match is confirmed",
        "report to the authorities as required",
    ),
    "SUSPECTED_ML_TF": _task(
        5,
        "review the transactions and the customer profile",
        "decide on a suspicious transaction report",
        "re-identify the customer",
    ),
    "ABNORMAL_ACTIVITY": _task(
        10,
        "obtain the source of funds for the transfers",
        "check the activity against the declared income and occupation",
        "re-identify the customer",
    ),
    "PROFILE_CHANGE": _task(
        10, "verify the changed identity information", "update the customer's risk rating"
    ),
    "INCONSISTENT_INFO": _task(
        5,
        "resolve the contradiction with the customer",
        "verify the identity document with the issuing authority",
    ),
    "DOUBTFUL_RECORDS": _task(
        5,
        "verify the identity document with the issuing authority",
        "re-identify the customer in person",
    ),
    "PERIODIC_REVIEW": _task(
        20,
        "review the customer's identity information and activity",
        "confirm or change the risk rating",
    ),
}

C = TypeVar("C", bound=StageConfig)

_CATEGORIES: tuple[Category, ...] = ("large_value_report", "suspicious", "due_diligence")


def _default_queues() -> dict[Category, str]:
    """One queue per category, named after it."""
    return {c: str(c) for c in _CATEGORIES}


class StateConfig(Strict):
    """How much history a customer's state record keeps (event time)."""

    retention_days: int = Field(default=8, ge=1, le=400)
    max_seen_events: int = Field(default=2000, ge=10, le=1_000_000)
    max_window_items: int = Field(default=500, ge=10, le=100_000)
    #: how long (event time) an early arrival waits for its predecessor (monitor.core.early)
    early_ttl_hours: int = Field(default=72, ge=0, le=24 * 30)
    max_early_items: int = Field(default=20, ge=0, le=1000)


class RulesConfig(Strict):
    """The `rules` section: one field per registered rule id, named by it. The fields come
    from the registry (`monitor.core.pack.loader.config_model`); this base has none."""

    def of(self, rule_id: str, model: type[C]) -> C:
        """The config of rule `rule_id`, an instance of `model` (its config model)."""
        cfg = getattr(self, rule_id)
        if not isinstance(cfg, model):
            raise TypeError(f"rules.{rule_id} is not a {model.__name__}")
        return cfg


class PackConfig(Strict):
    """The whole rule pack file. The loader validates with a subclass that adds the `rules`
    fields and the stage sections (`risk`, `profile_checks`) of the registry."""

    pack: str
    timezone: str = "Asia/Shanghai"
    fx_table: str = "fx-rates.yaml"
    calendar: str | None = None
    report_due_working_days: int = Field(default=5, ge=0, le=60)
    report_due: ReportDueConfig = ReportDueConfig()
    deadline_grace_hours: int = Field(default=0, ge=0, le=24 * 30)
    queues: dict[Category, str] = Field(default_factory=lambda: _default_queues())
    routing: list[Route] = Field(default_factory=list)
    queue: QueueConfig = QueueConfig()
    state: StateConfig = StateConfig()
    rules: RulesConfig = RulesConfig()
    tasks: dict[str, TaskConfig] = Field(default_factory=lambda: dict(DEFAULT_TASKS))

    @model_validator(mode="after")
    def _retention_covers_windows(self) -> PackConfig:
        windows = [getattr(cfg, "window_days", 0) for _, cfg in self.rules]
        longest = max(windows, default=0)
        if self.state.retention_days < longest:
            raise ValueError(
                f"state.retention_days ({self.state.retention_days}) must be at least the longest "
                f"window_days ({longest})"
            )
        return self

    @field_validator("timezone")
    @classmethod
    def _zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {name!r}") from None
        return name

    @field_validator("queues")
    @classmethod
    def _all_categories(cls, queues: dict[str, str]) -> dict[str, str]:
        missing = set(_CATEGORIES) - set(queues)
        if missing:
            raise ValueError(f"no queue for categories {sorted(missing)}")
        for name in queues.values():
            if not name or any(c.isspace() for c in name):
                raise ValueError(f"queue name {name!r} must be non-empty without spaces")
        return queues

    @field_validator("tasks", mode="before")
    @classmethod
    def _tasks(cls, tasks: Any) -> Any:
        if not isinstance(tasks, dict):
            return tasks
        unknown = [t for t in tasks if t not in TRIGGERS]
        if unknown:
            raise ValueError(f"unknown trigger(s) {unknown}; known: {list(TRIGGERS)}")
        merged: dict[str, Any] = dict(DEFAULT_TASKS)
        merged.update(tasks)
        return merged
