"""The YAML watch-list format: validated entries read into `WatchlistEntry` records."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from monitor.core.errors import ConfigurationError
from monitor.core.screening.models import WatchlistEntry

__all__ = ["load_watchlist"]

logger = logging.getLogger(__name__)


def _has_letters(name: str) -> str:
    if not any(c.isalpha() for c in name):
        raise ValueError("a name needs at least one letter")
    return name


class _EntryModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, pattern=r"^\S+$")
    names: list[Annotated[str, AfterValidator(_has_letters)]] = Field(min_length=1)
    birth_date: date | None = None
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    list_name: str = Field(alias="list", min_length=1)
    reason: str = Field(min_length=1)


class _WatchlistFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    entries: list[_EntryModel]


class _Loader(yaml.SafeLoader):
    """SafeLoader that leaves dates as text, so pydantic checks them and names the field."""


def _as_text(loader: _Loader, node: yaml.ScalarNode) -> str:
    return loader.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _as_text)


def load_watchlist(path: Path) -> list[WatchlistEntry]:
    """Read and validate a watch-list YAML file (`name`, `entries: [{id, names, birth_date?,
    country?, list, reason}]`); unknown keys and bad values raise ConfigurationError naming
    the field, e.g. `entries.3.country`."""
    path = Path(path)
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # a SafeLoader
    except OSError as exc:
        raise ConfigurationError(f"watch list {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:  # position and problem only: the snippet may hold names
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise ConfigurationError(f"watch list {path}: not valid YAML: {where}{problem}") from None
    try:
        parsed = _WatchlistFile.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        raise ConfigurationError(f"watch list {path}: {where}: {err['msg']}") from None
    seen: set[str] = set()
    for index, item in enumerate(parsed.entries):
        if item.id in seen:
            raise ConfigurationError(
                f"watch list {path}: entries.{index}.id: duplicate id {item.id!r}"
            )
        seen.add(item.id)
    logger.info("watch list %s loaded: %d entries", parsed.name, len(parsed.entries))
    return [
        WatchlistEntry(
            entry_id=item.id,
            names=tuple(item.names),
            birth_date=item.birth_date,
            country=item.country,
            list_name=item.list_name,
            reason=item.reason,
        )
        for item in parsed.entries
    ]
