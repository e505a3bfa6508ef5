"""ops/grafana: the provisioned datasource and dashboards, checked without a Grafana.

Every panel queries the provisioned Prometheus datasource, every expression parses (with
promtool, which parses PromQL when it checks a rule file) and names only metrics the
monitor exports. `dashboard_queries()` and `render_expr()` are for tests that run the
same queries against a real Prometheus.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry

from monitor.casework.metrics import CaseMetrics
from monitor.io.metrics import Metrics

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "ops" / "grafana"
DASHBOARD_DIR = GRAFANA / "dashboards"
DATASOURCES = GRAFANA / "provisioning" / "datasources" / "prometheus.yml"
PROVIDERS = GRAFANA / "provisioning" / "dashboards" / "dashboards.yml"
DASHBOARDS = sorted(DASHBOARD_DIR.glob("*.json"))
EXPECTED = {"monitor-operations", "monitor-compliance"}
SCHEMA_VERSION = 39
GRID_WIDTH = 24
PROMTOOL = shutil.which("promtool")

# PromQL functions and aggregations (Prometheus 2.x/3.x, without experimental ones)
FUNCTIONS = frozenset(
    """
abs absent absent_over_time acos acosh asin asinh atan atanh avg_over_time ceil changes clamp
clamp_max clamp_min cos cosh count_over_time day_of_month day_of_week day_of_year
days_in_month deg delta deriv exp floor histogram_avg histogram_count histogram_fraction
histogram_quantile histogram_stddev histogram_stdvar histogram_sum holt_winters hour idelta
increase info irate label_join label_replace last_over_time ln log10 log2 mad_over_time
max_over_time min_over_time minute month predict_linear present_over_time
quantile_over_time rad rate resets round scalar sgn sin sinh sort sort_by_label
sort_by_label_desc sort_desc sqrt stddev_over_time stdvar_over_time sum_over_time tan tanh
time timestamp vector year
""".split()
)
AGGREGATIONS = frozenset(
    "avg bottomk count count_values group limit_ratio limitk max min quantile stddev stdvar "
    "sum topk".split()
)
KEYWORDS = frozenset(
    "and or unless bool by without on ignoring group_left group_right offset atan2 inf nan".split()
)
# Grafana's built-in variables, replaced before PromQL sees the expression
GRAFANA_VARIABLES = ("$__rate_interval", "$__interval", "$__range")


# --------------------------------------------------------------------------- helpers


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def panels(dashboard: dict) -> Iterator[dict]:
    """Every panel, including those inside (collapsed) rows."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def dashboard_queries() -> list[tuple[str, str, str]]:
    """(dashboard file name without .json, panel title, expr) of every query of every
    provisioned dashboard; `render_expr` makes an expr plain PromQL."""
    return [
        (path.stem, panel["title"], target["expr"])
        for path in DASHBOARDS
        for panel in panels(load(path))
        for target in panel.get("targets", [])
        if "expr" in target
    ]


def render_expr(
    expr: str, interval: str = "1m", rate_interval: str = "1m", time_range: str = "1h"
) -> str:
    """`expr` with Grafana's built-in variables replaced, as Grafana sends it."""
    values = {"$__rate_interval": rate_interval, "$__interval": interval, "$__range": time_range}
    for name in GRAFANA_VARIABLES:  # longest first: $__rate_interval before $__range
        expr = expr.replace("${" + name[1:] + "}", values[name]).replace(name, values[name])
    return expr


def exported_metrics() -> set[str]:
    """Sample names the monitor's registry exposes (counters as `_total`, histograms as
    `_bucket/_sum/_count`), plus Prometheus' own `up`."""
    registry = CollectorRegistry()
    Metrics.create(registry)
    CaseMetrics.create(registry)  # the analyst inbox's /metrics
    names = {"up"}
    for family in registry.collect():
        if family.type == "counter":
            names.add(f"{family.name}_total")
        elif family.type == "histogram":
            names.update(f"{family.name}{suffix}" for suffix in ("_bucket", "_sum", "_count"))
        else:
            names.add(family.name)
    return names


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGES = re.compile(r"\[[^\]]*\]")
_LABEL_LISTS = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENT = re.compile(r"\b([A-Za-z_:][A-Za-z0-9_:]*)\s*(\()?")


def _skeleton(expr: str) -> str:
    """`expr` without strings, label matchers, ranges and label lists."""
    expr = _STRING.sub('""', expr)
    expr = _MATCHERS.sub("", expr)
    expr = _RANGES.sub("", expr)
    return _LABEL_LISTS.sub(" ", expr)


def metric_names(expr: str) -> set[str]:
    return {
        name
        for name, call in _IDENT.findall(_skeleton(expr))
        if not call and name.lower() not in KEYWORDS
    }


def called_functions(expr: str) -> set[str]:
    return {
        name
        for name, call in _IDENT.findall(_skeleton(expr))
        if call and name.lower() not in KEYWORDS
    }


def balanced(expr: str) -> bool:
    pairs = {")": "(", "]": "[", "}": "{"}
    stack: list[str] = []
    for char in _STRING.sub('""', expr):
        if char in "([{":
            stack.append(char)
        elif char in pairs:
            if not stack or stack.pop() != pairs[char]:
                return False
    return not stack


def _query_ids() -> list[str]:
    return [f"{d}:{title}:{i}" for i, (d, title, _) in enumerate(dashboard_queries())]


# --------------------------------------------------------------------------- the helpers


@pytest.mark.parametrize(
    ("expr", "metrics", "functions"),
    [
        (
            'sum by (topic) (rate(monitor_events_consumed_total{topic=~"txn.+"}[$__rate_interval]))',  # noqa: E501
            {"monitor_events_consumed_total"},
            {"sum", "rate"},
        ),
        (
            "histogram_quantile(0.99, sum by (le) (rate(a_bucket[5m]))) / on(job) group_left b",
            {"a_bucket", "b"},
            {"histogram_quantile", "sum", "rate"},
        ),
        ("sum(a) without (x) and (b or max(c))", {"a", "b", "c"}, {"sum", "max"}),
        (
            'label_replace(x, "dst", "$1", "src", "(.*)") > bool 1e3 offset 5m',
            {"x"},
            {"label_replace"},
        ),
    ],
)
def test_metric_and_function_extraction(expr: str, metrics: set[str], functions: set[str]) -> None:
    assert metric_names(expr) == metrics
    assert called_functions(expr) == functions


def test_render_expr_replaces_grafana_variables() -> None:
    expr = "increase(a[$__range]) + rate(b[$__rate_interval]) + rate(c[${__interval}])"
    assert render_expr(expr) == "increase(a[1h]) + rate(b[1m]) + rate(c[1m])"


# --------------------------------------------------------------------------- provisioning


def test_provisioning_files() -> None:
    datasources = yaml.safe_load(DATASOURCES.read_text(encoding="utf-8"))["datasources"]
    assert [(d["type"], d["uid"]) for d in datasources] == [("prometheus", "prometheus")]
    providers = yaml.safe_load(PROVIDERS.read_text(encoding="utf-8"))["providers"]
    assert [(p["type"], p["options"]["path"]) for p in providers] == [
        ("file", "/var/lib/grafana/dashboards")
    ]


# --------------------------------------------------------------------------- dashboards


def test_the_two_dashboards_exist_with_distinct_uids() -> None:
    assert {path.stem for path in DASHBOARDS} == EXPECTED
    uids = [load(path)["uid"] for path in DASHBOARDS]
    assert len(set(uids)) == len(uids)


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_dashboard_structure(path: Path) -> None:
    dashboard = load(path)  # valid JSON
    assert dashboard["schemaVersion"] == SCHEMA_VERSION
    assert dashboard["title"] and dashboard["uid"]
    ids = [panel["id"] for panel in panels(dashboard)]
    assert ids and len(ids) == len(set(ids)), f"duplicate panel ids in {path.name}: {ids}"
    cells: dict[tuple[int, int], str] = {}
    for panel in panels(dashboard):
        title = panel.get("title") or f"panel {panel['id']}"
        grid = panel["gridPos"]
        assert all(isinstance(grid[k], int) for k in ("x", "y", "w", "h")), title
        assert grid["w"] > 0 and grid["h"] > 0 and grid["x"] + grid["w"] <= GRID_WIDTH, title
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"{title!r} overlaps {cells[(x, y)]!r}"
                cells[(x, y)] = title
        targets = panel.get("targets") or []
        assert targets, f"{title!r} has no targets"
        ref_ids = [t["refId"] for t in targets]
        assert len(ref_ids) == len(set(ref_ids)), title
        for target in targets:
            assert target.get("expr", "").strip(), f"{title!r} has a target without expr"
            for label in re.findall(r"\{\{\s*(\w+)\s*\}\}", target.get("legendFormat", "")):
                assert label in target["expr"], f"{title!r}: legend label {label} not in expr"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_panels_use_the_provisioned_datasource(path: Path) -> None:
    provisioned = {
        (d["type"], d["uid"])
        for d in yaml.safe_load(DATASOURCES.read_text(encoding="utf-8"))["datasources"]
    }
    for panel in panels(load(path)):
        targets = [t["datasource"] for t in panel["targets"] if "datasource" in t]
        for source in [panel["datasource"], *targets]:
            assert (source["type"], source["uid"]) in provisioned, panel["title"]


def test_dashboard_queries_cover_every_panel() -> None:
    queries = dashboard_queries()
    titles = {(d, t) for d, t, _ in queries}
    for path in DASHBOARDS:
        for panel in panels(load(path)):
            assert (path.stem, panel["title"]) in titles


@pytest.mark.parametrize(("dashboard", "title", "expr"), dashboard_queries(), ids=_query_ids())
def test_expr_names_exported_metrics_and_known_functions(
    dashboard: str, title: str, expr: str
) -> None:
    exported = exported_metrics()
    rendered = render_expr(expr)
    assert "$" not in rendered, f"unknown variable in {expr!r}"
    assert balanced(rendered), f"unbalanced brackets in {expr!r}"
    names = metric_names(rendered)
    assert names, f"no metric in {expr!r}"
    assert names <= exported, f"not exported by monitor.io.metrics: {sorted(names - exported)}"
    unknown = called_functions(rendered) - FUNCTIONS - AGGREGATIONS
    assert not unknown, f"unknown functions {sorted(unknown)} in {expr!r}"
    for func, metric in re.findall(r"\b(rate|irate|increase)\s*\(\s*([A-Za-z_:][\w:]*)", rendered):
        assert metric.endswith(("_total", "_bucket", "_sum", "_count")), f"{func}() of a gauge"
    if "histogram_quantile" in rendered:
        assert re.search(r"_bucket\b", rendered) and re.search(r"by\s*\([^)]*\ble\b", rendered)


@pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed (Debian: prometheus)")
def test_every_expr_parses_with_promtool(tmp_path: Path) -> None:
    # promtool has no offline query check; `check rules` parses each recording rule's expr
    queries = dashboard_queries()
    names = [
        f"dashboard:{re.sub(r'[^a-z0-9]+', '_', f'{d} {t}'.lower())}:q{i}"
        for i, (d, t, _) in enumerate(queries)
    ]
    rules = [{"record": n, "expr": render_expr(q[2])} for n, q in zip(names, queries, strict=True)]
    path = tmp_path / "dashboard-queries.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    proc = subprocess.run(
        [PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"SUCCESS: {len(rules)} rules found" in proc.stdout
