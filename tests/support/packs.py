"""Rule packs for tests: the default pack with some values changed, written to a temp dir."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

CONFIG = Path(__file__).resolve().parents[2] / "config"


def write_pack(
    directory: Path, changes: dict[str, Any] | None = None, base: str = "cn-pboc.yaml"
) -> Path:
    """Copy `config/<base>` to `directory` with file paths made absolute and `changes`
    (dotted keys, e.g. {"deadline_grace_hours": 24, "rules.WATCHLIST_MATCH.enabled": False})."""
    raw = yaml.safe_load((CONFIG / base).read_text(encoding="utf-8"))
    raw["fx_table"] = str(CONFIG / raw.get("fx_table", "fx-rates.yaml"))
    if raw.get("calendar"):
        raw["calendar"] = str(CONFIG / raw["calendar"])
    watch = raw.setdefault("rules", {}).setdefault("WATCHLIST_MATCH", {}) or {}
    raw["rules"]["WATCHLIST_MATCH"] = watch
    watch["file"] = str(CONFIG / watch.get("file", "watchlists/sample.yaml"))
    for dotted, value in (changes or {}).items():
        node = raw
        *parents, last = dotted.split(".")
        for key in parents:
            node = node.setdefault(key, {}) or {}
        node[last] = value
    path = directory / f"pack-{abs(hash(str(sorted((changes or {}).items())))) % 10**8}.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path
