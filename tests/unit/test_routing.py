"""Queue routing: the first matching route wins; otherwise the category's queue."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from monitor.core.errors import ConfigurationError
from monitor.core.pack import pack_from_mapping

CONFIG = Path(__file__).resolve().parents[2] / "config"


def _pack(routing):
    raw = yaml.safe_load((CONFIG / "cn-pboc.yaml").read_text(encoding="utf-8"))
    raw["routing"] = routing
    return pack_from_mapping(raw, base_dir=CONFIG)


ROUTES = [
    {"match": {"rule_id": ["WATCHLIST_MATCH"]}, "queue": "sanctions"},
    {
        "match": {"category": ["large_value_report"], "branch": ["SH001", "SH002"]},
        "queue": "lvr-shanghai",
    },
    {"match": {"category": ["suspicious"], "severity": ["high"]}, "queue": "str-urgent"},
]


@pytest.mark.parametrize(
    ("category", "severity", "rule_id", "branch", "queue"),
    [
        ("suspicious", "high", "WATCHLIST_MATCH", "SH001", "sanctions"),  # first route wins
        ("large_value_report", "medium", "LV_CASH", "SH002", "lvr-shanghai"),
        ("large_value_report", "medium", "LV_CASH", "BJ001", "large_value_report"),  # fallback
        ("large_value_report", "medium", "LV_CASH", None, "large_value_report"),
        ("suspicious", "high", "STRUCTURING", None, "str-urgent"),
        ("suspicious", "medium", "STRUCTURING", None, "suspicious"),
        ("due_diligence", "medium", "KYC_PEP", "SH001", "due_diligence"),
    ],
)
def test_first_matching_route_or_category_queue(category, severity, rule_id, branch, queue):
    assert _pack(ROUTES).route(category, severity, rule_id, branch) == queue


def test_default_pack_sends_watch_list_hits_to_sanctions():
    raw = yaml.safe_load((CONFIG / "cn-pboc.yaml").read_text(encoding="utf-8"))
    pack = pack_from_mapping(raw, base_dir=CONFIG)
    assert pack.route("suspicious", "high", "WATCHLIST_MATCH", None) == "sanctions"
    assert pack.route("suspicious", "high", "STRUCTURING", None) == "suspicious"


@pytest.mark.parametrize(
    ("routing", "message"),
    [
        ([{"match": {"rule_id": ["NO_SUCH_RULE"]}, "queue": "x"}], "routing.0.match.rule_id"),
        ([{"match": {"colour": ["red"]}, "queue": "x"}], "routing.0.match.colour"),
        ([{"match": {"category": ["other"]}, "queue": "x"}], "routing.0.match.category"),
        ([{"match": {}, "queue": "has space"}], "routing.0.queue"),
    ],
)
def test_bad_routes_are_refused_naming_the_field(routing, message):
    with pytest.raises(ConfigurationError, match=message.replace(".", r"\.")):
        _pack(routing)
