"""Loading a rule pack: YAML in, validated against the registry's schema, a `Pack` out.

Besides the file itself, loading reads the FX table, the calendar and the resources of the
enabled rules (the watch list), and hashes them all into the pack's version."""

from __future__ import annotations

import functools
import hashlib
import logging
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import yaml
from pydantic import BaseModel, ValidationError, create_model

from monitor.core.calendar import WorkingDayCalendar, load_calendar
from monitor.core.defaults import default_file
from monitor.core.errors import ConfigurationError
from monitor.core.fx import FxTable, load_fx_table
from monitor.core.pack.due import report_due
from monitor.core.pack.models import PackConfig, RulesConfig
from monitor.core.rules.config import Category, Money
from monitor.core.rules.registry import REGISTRY, Registration, Registry

__all__ = [
    "DEFAULT_PACK",
    "Pack",
    "config_model",
    "load_pack",
    "pack_from_mapping",
    "pack_version",
]

logger = logging.getLogger(__name__)

DEFAULT_PACK = default_file("cn-pboc.yaml")


@dataclass(frozen=True, slots=True)
class Pack:
    """A loaded pack: its configuration plus the FX table, calendar, zone, the resources of
    enabled rules (`extras`, by rule id) and the registry it was validated against."""

    config: PackConfig
    fx: FxTable
    calendar: WorkingDayCalendar
    tz: ZoneInfo
    source: Path | None = None
    base_dir: Path | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    registry: Registry = REGISTRY
    #: the content hash of the pack file and its data files (`pack_version`)
    version: str = "sha256:unknown"

    @property
    def name(self) -> str:
        return self.config.pack

    def report_due(
        self, day: date, category: Category | None = None, rule_id: str | None = None
    ) -> date:
        """The report due date of an alert of `rule_id` and `category` raised on `day`:
        the pack's `report_due` period of the rule, else of the category, else
        `report_due_working_days` working days."""
        config = self.config
        return report_due(
            config.report_due,
            config.report_due_working_days,
            self.calendar,
            day,
            category,
            rule_id,
        )

    def route(self, category: str, severity: str, rule_id: str, branch: str | None) -> str:
        """The queue of an alert: the first matching route, else the category's queue."""
        for route in self.config.routing:
            m = route.match
            if (
                (m.category is None or category in m.category)
                and (m.severity is None or severity in m.severity)
                and (m.rule_id is None or rule_id in m.rule_id)
                and (m.branch is None or branch in m.branch)
            ):
                return route.queue
        return self.config.queues[category]  # type: ignore[index]

    def resolve(self, relative: str) -> Path:
        return (self.base_dir or DEFAULT_PACK.parent) / relative


def config_model(registry: Registry = REGISTRY) -> type[PackConfig]:
    """The model of a pack file for `registry`: `PackConfig` with one `rules.<rule_id>`
    field per registered rule and one top-level section per registered stage that has
    one, each defaulting to the class's `default`."""
    return _config_model(registry.registrations())


@functools.lru_cache(maxsize=32)
def _config_model(registrations: tuple[Registration, ...]) -> type[PackConfig]:
    def fields(entries: list[Registration], name: Any) -> dict[str, Any]:
        return {name(e): (type(e.default), e.default) for e in entries}

    rules = [e for e in registrations if e.section is None]
    sections = [e for e in registrations if e.section is not None]
    rules_model: type[RulesConfig] = create_model(
        "RulesConfig",
        __base__=RulesConfig,
        __module__=RulesConfig.__module__,
        **fields(rules, lambda e: e.rule_id),
    )
    model: type[PackConfig] = create_model(
        "PackConfig",
        __base__=PackConfig,
        __module__=PackConfig.__module__,
        rules=(rules_model, rules_model()),
        **fields(sections, lambda e: e.section),
    )
    return model


def load_pack(path: Path | str | None = None, registry: Registry = REGISTRY) -> Pack:
    """Read, validate and assemble a rule pack. Relative file names inside the pack are
    resolved against the pack's own directory."""
    path = Path(path) if path is not None else DEFAULT_PACK
    try:
        content = path.read_bytes()
        raw = yaml.safe_load(content.decode("utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"rule pack {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigurationError(f"rule pack {path}: not UTF-8: {exc.reason}") from None
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"rule pack {path}: not valid YAML: {exc}") from None
    return _assemble(raw, path.parent, path, registry, content)


def pack_from_mapping(
    raw: object, base_dir: Path, source: Path | None = None, registry: Registry = REGISTRY
) -> Pack:
    """Validate a pack given as a mapping (`raw`, as parsed from YAML) and assemble it;
    relative file names are resolved against `base_dir`. Its version hashes the mapping
    (canonical JSON) in place of the file's bytes."""
    return _assemble(raw, base_dir, source, registry, None)


def _assemble(
    raw: object, base_dir: Path, source: Path | None, registry: Registry, content: bytes | None
) -> Pack:
    try:
        config = config_model(registry).model_validate(raw)
    except ValidationError as exc:
        label = source or "rule pack"
        raise ConfigurationError(f"{label}: {_describe(exc)}") from None
    fx = load_fx_table(base_dir / config.fx_table)
    calendar = (
        load_calendar(base_dir / config.calendar) if config.calendar else WorkingDayCalendar()
    )
    _check_currencies(config, fx)
    rule_ids = set(registry.rule_ids())
    for n, route in enumerate(config.routing):
        unknown = [r for r in route.match.rule_id or [] if r not in rule_ids]
        if unknown:
            raise ConfigurationError(f"routing.{n}.match.rule_id: unknown rule id(s) {unknown}")
    unknown = [r for r in config.queue.suppression.rules or [] if r not in rule_ids]
    if unknown:
        raise ConfigurationError(f"queue.suppression.rules: unknown rule id(s) {unknown}")
    unknown = [r for r in config.report_due.by_rule if r not in rule_ids]
    if unknown:
        raise ConfigurationError(f"report_due.by_rule: unknown rule id(s) {unknown}")
    if content is None:
        content = orjson.dumps(raw, option=orjson.OPT_SORT_KEYS, default=str)
    return Pack(
        config=config,
        fx=fx,
        calendar=calendar,
        tz=ZoneInfo(config.timezone),
        source=source,
        base_dir=base_dir,
        extras=registry.resources(config, base_dir),
        registry=registry,
        version=pack_version(content, _data_files(config, base_dir, registry)),
    )


def pack_version(content: bytes, data_files: list[Path]) -> str:
    """`sha256:` and the first 16 hex digits of the SHA-256 over the pack's bytes and each
    data file's name and bytes (in the order given)."""
    digest = hashlib.sha256(content)
    for path in data_files:
        digest.update(b"\0" + path.name.encode("utf-8") + b"\0")
        try:
            digest.update(path.read_bytes())
        except OSError as exc:
            raise ConfigurationError(f"rule pack data file {path}: {exc.strerror}") from None
    return f"sha256:{digest.hexdigest()[:16]}"


def _data_files(config: PackConfig, base_dir: Path, registry: Registry) -> list[Path]:
    """The files the pack refers to: FX table, calendar, and every `file`, `*_file` or
    `files` field of an enabled stage's config, nested ones included (the watch lists:
    `file`, `lists[].file`), in a fixed order."""
    files = [base_dir / config.fx_table]
    if config.calendar:
        files.append(base_dir / config.calendar)
    for entry in registry.registrations():
        cfg = registry.config(entry, config)
        if cfg.enabled:
            files += [base_dir / name for name in _file_names(cfg)]
    return [p for p in files if p.is_file()]


def _file_names(model: BaseModel) -> list[str]:
    names: list[str] = []
    for name, value in model:
        items = value if isinstance(value, list) else [value]
        if name == "file" or name.endswith("_file") or name == "files":
            names += [v for v in items if isinstance(v, str) and v]
        for item in items:
            if isinstance(item, BaseModel):
                names += _file_names(item)
    return names


def _check_currencies(config: PackConfig, fx: FxTable) -> None:
    def walk(prefix: str, model: BaseModel) -> None:
        for name, value in model:
            where = f"{prefix}.{name}"
            if isinstance(value, Money):
                if not fx.knows(value.currency):
                    raise ConfigurationError(
                        f"{where}.currency: {value.currency} is not in the FX table"
                    )
            elif isinstance(value, BaseModel):
                walk(where, value)

    walk("rules", config.rules)


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        parts.append(f"{where}: {msg}")
    return "; ".join(parts)
