"""The rule pack: a typed, validated YAML file (thresholds, windows, lists, calendars).

A pack is data. `load_pack` refuses an unknown key or a bad value with a message that
names the field, so a typo never silently falls back to a default. Each rule has its own
config model, next to the rule (`monitor.core.rules.<family>`); the registry puts them
under `rules.<RULE_ID>`, and `rules.<RULE_ID>.enabled: false` switches a rule off.
"""

from __future__ import annotations

from monitor.core.pack.loader import DEFAULT_PACK, Pack, config_model, load_pack, pack_from_mapping
from monitor.core.pack.models import (
    DEFAULT_TASKS,
    TRIGGERS,
    PackConfig,
    RulesConfig,
    StateConfig,
    TaskConfig,
)
from monitor.core.pack.routing import QueueConfig, Route, RouteMatch, SuppressionConfig
from monitor.core.rules.config import Money, Threshold

__all__ = [
    "DEFAULT_PACK",
    "DEFAULT_TASKS",
    "TRIGGERS",
    "Money",
    "Pack",
    "PackConfig",
    "QueueConfig",
    "Route",
    "RouteMatch",
    "RulesConfig",
    "StateConfig",
    "SuppressionConfig",
    "TaskConfig",
    "Threshold",
    "config_model",
    "load_pack",
    "pack_from_mapping",
]
