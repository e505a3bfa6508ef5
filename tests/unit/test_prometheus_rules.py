"""ops/prometheus: the scrape config, the alert rules and their promtool unit tests.

promtool (Debian package `prometheus`) checks the config and the rules and runs the unit
tests in ops/prometheus/tests/; the checks here make sure every alert rule has a firing
and a not-firing test, a severity, a summary and a description.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PROM_DIR = ROOT / "ops" / "prometheus"
CONFIG = PROM_DIR / "prometheus.yml"
RULE_FILES = sorted((PROM_DIR / "rules").glob("*.yml"))
TEST_FILES = sorted((PROM_DIR / "tests").glob("*.yml"))
SEVERITIES = {"critical", "warning", "info"}
EXPECTED_ALERTS = {
    "MonitorWorkerDown",
    "MonitorConsumerLagGrowing",
    "MonitorDeadLetterRate",
    "MonitorRedisBacklog",
    "MonitorKafkaWritesFailing",
    "MonitorReportsOverdue",
    "MonitorReportsDueSoon",
    "MonitorCasesOverdue",
    "MonitorCasesDueSoon",
    "MonitorCalendarUncovered",
    "MonitorCalendarEndingSoon",
}

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None,
    reason="promtool is not installed (Debian: apt-get install prometheus; or "
    "./tools/ensure-system-deps.sh)",
)


def promtool(*args: str, cwd: Path | None = None) -> str:
    """Run promtool; fail the test with its output unless it exits 0."""
    assert PROMTOOL is not None
    proc = subprocess.run([PROMTOOL, *args], capture_output=True, text=True, cwd=cwd, timeout=120)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"promtool {' '.join(args)} failed:\n{output}"
    return output


def alert_rules() -> dict[str, dict]:
    rules: dict[str, dict] = {}
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    assert rule["alert"] not in rules, f"{rule['alert']} defined twice"
                    rules[rule["alert"]] = rule
    return rules


# --------------------------------------------------------------------------- promtool


@needs_promtool
def test_promtool_check_config(tmp_path: Path) -> None:
    # a copy: rule_files are relative to the config, as they are where the directory is
    # mounted (e.g. /etc/prometheus); the target `worker:9108` need not resolve to check
    copy = tmp_path / "prometheus"
    shutil.copytree(PROM_DIR, copy)
    output = promtool("check", "config", str(copy / "prometheus.yml"))
    assert f"SUCCESS: {len(RULE_FILES)} rule files found" in output
    for path in RULE_FILES:
        assert f"Checking {copy / 'rules' / path.name}" in output


@needs_promtool
def test_promtool_check_rules() -> None:
    assert RULE_FILES, "no rule files in ops/prometheus/rules"
    for path in RULE_FILES:
        groups = yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
        count = sum(len(group["rules"]) for group in groups)
        assert f"SUCCESS: {count} rules found" in promtool("check", "rules", str(path))


@needs_promtool
def test_promtool_test_rules() -> None:
    assert TEST_FILES, "no promtool unit tests in ops/prometheus/tests"
    output = promtool("test", "rules", *map(str, TEST_FILES), cwd=ROOT)
    assert "SUCCESS" in output and "FAILED" not in output


# --------------------------------------------------------------------------- structure


def test_config_scrapes_the_workers_and_loads_the_rules() -> None:
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    targets = [t for sc in jobs["aml-monitor"]["static_configs"] for t in sc["targets"]]
    assert targets == ["worker:9108"]
    loaded = {p for pattern in config["rule_files"] for p in CONFIG.parent.glob(pattern)}
    assert loaded == set(RULE_FILES)


def test_alert_rules_have_severity_summary_and_runbook_description() -> None:
    rules = alert_rules()
    assert set(rules) == EXPECTED_ALERTS
    for name, rule in rules.items():
        assert rule["labels"]["severity"] in SEVERITIES, name
        annotations = rule["annotations"]
        assert annotations["summary"].strip(), name
        description = annotations["description"]
        for part in ("Impact:", "Check:", "Fix:"):
            assert part in description, f"{name}: description has no {part!r}"
    assert rules["MonitorReportsDueSoon"]["labels"]["severity"] == "warning"
    assert rules["MonitorWorkerDown"]["for"] == "1m"
    assert rules["MonitorDeadLetterRate"]["for"] == "10m"
    assert rules["MonitorRedisBacklog"]["for"] == "2m"
    assert rules["MonitorKafkaWritesFailing"]["for"] == "5m"


def test_every_alert_rule_has_a_firing_and_a_not_firing_unit_test() -> None:
    firing: set[str] = set()
    silent: set[str] = set()
    for path in TEST_FILES:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        tested = {(path.parent / f).resolve() for f in spec["rule_files"]}
        assert tested == {p.resolve() for p in RULE_FILES}, f"{path.name} misses a rule file"
        for case in spec["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check.get("exp_alerts") else silent).add(check["alertname"])
    rules = set(alert_rules())
    assert rules - firing == set(), "alerts without a firing test"
    assert rules - silent == set(), "alerts without a not-firing test"
    assert (firing | silent) - rules == set(), "tests of alerts that do not exist"
