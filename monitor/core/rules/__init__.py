"""The rule core: plain Python rules, registered by id in `monitor.core.rules.registry`.

This package module only re-exports what every rule shares, so that modules outside it (the
profile, the risk rating) import `rules.base` without an import cycle."""

from __future__ import annotations

from monitor.core.rules.base import Context, Findings, Rule
from monitor.core.rules.config import RuleConfig, StageConfig

__all__ = ["Context", "Findings", "Rule", "RuleConfig", "StageConfig"]
