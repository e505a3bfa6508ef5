"""`monitor ...` with bad input: exit status 2, one line on stderr naming the culprit, no
traceback; and the cheap commands on good input exit 0."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MONITOR = [sys.executable, "-m", "monitor"]
SCREEN_EVAL = [sys.executable, "-m", "monitor.tools.screen_eval"]

LABEL = b'{"customer_id":"C0000001","typology":"large_cash","expected_rules":["LV_CASH"]}\n'
OPENING = b'{"event_id":"open-1","customer_id":"C0000001"}\n'


def run(argv: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command as a user would, without any MONITOR_* setting from outside."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    clean["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), clean.get("PYTHONPATH")]))
    return subprocess.run(
        argv,
        env={**clean, **(env or {})},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory of bad inputs (and a few good ones beside them)."""
    d = tmp_path_factory.mktemp("inputs")
    (d / "data").mkdir()
    (d / "data" / "kyc.account-openings.jsonl").write_bytes(OPENING)
    (d / "data" / "labels.jsonl").write_bytes(LABEL)
    (d / "empty-data").mkdir()
    (d / "broken-labels.jsonl").write_bytes(LABEL + b'{"customer_id": "C2", \n')
    (d / "fieldless-labels.jsonl").write_bytes(b'{"customer_id": "C1"}\n')
    (d / "broken-pack.yaml").write_text("name: [\n")
    (d / "unknown-key-pack.yaml").write_text("name: p\nrulez: {}\n")
    (d / "broken-scenario.jsonl").write_text(
        '{"topic": "txn.cash", "value": {}}\n{"topic": "txn.cash"}\n'
    )
    (d / "binary-scenario.jsonl").write_bytes(b"\xff\xfe\x00garbage\n")
    (d / "a-file").write_text("not a directory\n")
    (d / "broken-customers.jsonl").write_text(
        '{"event_id": "o-1", "customer_id": "C1", "account_id": "A1", '
        '"opened_at": "2020-01-02T09:00:00Z", "customer_type": "individual", '
        '"name": "Li Bo", "branch_code": "B1"}\n{"customer_id": "C2", "name": "Li Bo"}\n'
    )
    (d / "bad-pairs.csv").write_text(
        "query_name,query_birth_date,query_country,expected_entry_id\nWang Wei,1970-02-31,CN,\n"
    )
    return d


# (id, argv after the command prefix, extra environment, what the line must name)
CASES: list[tuple[str, list[str], dict[str, str], str]] = [
    ("no-command", [], {}, "command"),
    ("unknown-command", ["bogus"], {}, "bogus"),
    (
        "backtest-no-data",
        ["backtest", "--data", "/nonexistent", "--report", "{d}/r"],
        {},
        "/nonexistent",
    ),
    (
        "backtest-broken-label-line",
        [
            "backtest",
            "--data",
            "{d}/data",
            "--labels",
            "{d}/broken-labels.jsonl",
            "--report",
            "{d}/r",
        ],
        {},
        "broken-labels.jsonl:2",
    ),
    (
        "backtest-label-without-fields",
        [
            "backtest",
            "--data",
            "{d}/data",
            "--labels",
            "{d}/fieldless-labels.jsonl",
            "--report",
            "{d}/r",
        ],
        {},
        "fieldless-labels.jsonl:1",
    ),
    (
        "backtest-no-default-labels",
        ["backtest", "--data", "{d}", "--report", "{d}/r"],
        {},
        "labels.jsonl",
    ),
    (
        "backtest-no-openings",
        [
            "backtest",
            "--data",
            "{d}/empty-data",
            "--labels",
            "{d}/data/labels.jsonl",
            "--report",
            "{d}/r",
        ],
        {},
        "kyc.account-openings.jsonl",
    ),
    (
        "backtest-report-is-a-file",
        ["backtest", "--data", "{d}/data", "--report", "{d}/a-file"],
        {},
        "--report",
    ),
    (
        "backtest-broken-pack",
        ["backtest", "--data", "{d}/data", "--rules", "{d}/broken-pack.yaml", "--report", "{d}/r"],
        {},
        "broken-pack.yaml",
    ),
    (
        "backtest-missing-compare",
        ["backtest", "--data", "{d}/data", "--compare", "{d}/nope.yaml", "--report", "{d}/r"],
        {},
        "nope.yaml",
    ),
    (
        "simulate-negative-customers",
        ["simulate", "--customers", "-5", "--out", "{d}/s"],
        {},
        "--customers",
    ),
    ("simulate-zero-days", ["simulate", "--days", "0", "--out", "{d}/s"], {}, "--days"),
    ("simulate-bad-start", ["simulate", "--start", "2026-13-01", "--out", "{d}/s"], {}, "--start"),
    ("simulate-infinite-rate", ["simulate", "--rate", "inf", "--out", "{d}/s"], {}, "--rate"),
    ("simulate-bad-seed", ["simulate", "--seed", "x", "--out", "{d}/s"], {}, "--seed"),
    ("simulate-out-is-a-file", ["simulate", "--out", "{d}/a-file"], {}, "--out"),
    ("rules-check-missing", ["rules", "check", "{d}/nope.yaml"], {}, "nope.yaml"),
    ("rules-check-broken-yaml", ["rules", "check", "{d}/broken-pack.yaml"], {}, "broken-pack.yaml"),
    (
        "rules-check-bad-today",
        ["rules", "check", "config/cn-pboc.yaml", "--today", "2026-02-30"],
        {},
        "--today",
    ),
    (
        "rules-check-unknown-key",
        ["rules", "check", "{d}/unknown-key-pack.yaml"],
        {},
        "unknown-key-pack.yaml",
    ),
    (
        "replay-bad-from",
        ["replay", "--from", "yesterday", "--to", "2026-03-02", "--out", "{d}/o"],
        {},
        "--from",
    ),
    (
        "replay-from-without-offset",
        ["replay", "--from", "2026-03-01T00:00", "--to", "2026-03-02", "--out", "{d}/o"],
        {},
        "--from",
    ),
    (
        "replay-to-before-from",
        ["replay", "--from", "2026-03-02", "--to", "2026-03-01", "--out", "{d}/o"],
        {},
        "--to",
    ),
    ("replay-no-output", ["replay", "--from", "2026-03-01", "--to", "2026-03-02"], {}, "--out"),
    (
        "replay-zero-workers",
        [
            "replay",
            "--from",
            "2026-03-01",
            "--to",
            "2026-03-02",
            "--out",
            "{d}/o",
            "--workers",
            "0",
        ],
        {},
        "--workers",
    ),
    (
        "replay-missing-pack",
        [
            "replay",
            "--from",
            "2026-03-01",
            "--to",
            "2026-03-02",
            "--out",
            "{d}/o",
            "--rules",
            "{d}/nope.yaml",
        ],
        {},
        "nope.yaml",
    ),
    (
        "replay-bad-bootstrap",
        ["replay", "--from", "2026-03-01", "--to", "2026-03-02", "--out", "{d}/o"],
        {"MONITOR_KAFKA_BOOTSTRAP": "no-port"},
        "MONITOR_KAFKA_BOOTSTRAP",
    ),
    (
        "produce-broken-line",
        ["produce", "{d}/broken-scenario.jsonl"],
        {},
        "broken-scenario.jsonl:2",
    ),
    ("produce-not-utf8", ["produce", "{d}/binary-scenario.jsonl"], {}, "binary-scenario.jsonl"),
    ("demo-missing-scenario", ["demo", "--scenario", "{d}/nope.jsonl"], {}, "nope.jsonl"),
    (
        "demo-broken-scenario",
        ["demo", "--scenario", "{d}/broken-scenario.jsonl"],
        {},
        "broken-scenario.jsonl:2",
    ),
    ("demo-negative-timeout", ["demo", "--timeout", "-1"], {}, "--timeout"),
    ("screen-no-name", ["screen"], {}, "NAME"),
    (
        "screen-bad-birth-date",
        ["screen", "Li Bo", "--birth-date", "1990-02-30"],
        {},
        "--birth-date",
    ),
    ("screen-bad-country", ["screen", "Li Bo", "--country", "China"], {}, "--country"),
    ("screen-missing-list", ["screen", "Li Bo", "--list", "{d}/nope.xml"], {}, "nope.xml"),
    ("screen-bad-pairs", ["screen", "--evaluate", "{d}/nope.csv"], {}, "nope.csv"),
    (
        "screening-backfill-broken-line",
        ["screening", "backfill", "{d}/broken-customers.jsonl"],
        {},
        "broken-customers.jsonl:2",
    ),
    ("screening-backfill-no-input", ["screening", "backfill"], {}, "FILE"),
    (
        "screening-backfill-missing-file",
        ["screening", "backfill", "{d}/nope.jsonl"],
        {},
        "nope.jsonl",
    ),
    (
        "screening-backfill-bad-format",
        ["screening", "backfill", "{d}/broken-customers.jsonl", "--format", "xml"],
        {},
        "--format",
    ),
    ("queue-tail-zero", ["queue", "tail", "lvr", "-n", "0"], {}, "-n"),
    (
        "queue-claim-bad-count",
        ["queue", "claim", "lvr", "--consumer", "amy", "--count", "x"],
        {},
        "--count",
    ),
    ("queue-ack-bad-id", ["queue", "ack", "lvr", "not-an-id"], {}, "not-an-id"),
    ("queue-bad-today", ["queue", "ls", "--today", "2026-02-30"], {}, "--today"),
    ("queue-bad-timezone", ["queue", "ls", "--timezone", "Mars/Olympus"], {}, "--timezone"),
    (
        "queue-bad-redis-url",
        ["queue", "ls", "--redis-url", "http://u:s3cret@host/0"],
        {},
        "Redis URL",
    ),
    (
        "queue-bad-redis-url-env",
        ["queue", "ls"],
        {"MONITOR_REDIS_URL": "http://host/0"},
        "Redis URL",
    ),
    (
        "worker-bad-bootstrap",
        ["worker"],
        {"MONITOR_KAFKA_BOOTSTRAP": "no-port"},
        "MONITOR_KAFKA_BOOTSTRAP",
    ),
    (
        "worker-rules-nowhere",
        ["worker"],
        {"MONITOR_RULES": "/nonexistent/pack.yaml"},
        "MONITOR_RULES",
    ),
    (
        "worker-broken-rules",
        ["worker"],
        {"MONITOR_RULES": "{d}/broken-pack.yaml"},
        "broken-pack.yaml",
    ),
    ("worker-bad-partitions", ["worker"], {"MONITOR_PARTITIONS": "many"}, "MONITOR_PARTITIONS"),
    ("worker-extra-argument", ["worker", "--now"], {}, "--now"),
    ("inbox-no-users", ["inbox"], {}, "--users"),
    ("inbox-missing-users", ["inbox", "--users", "{d}/nope.yaml"], {}, "nope.yaml"),
    ("inbox-broken-users", ["inbox", "--users", "{d}/broken-pack.yaml"], {}, "broken-pack.yaml"),
    ("inbox-bad-port", ["inbox", "--port", "x", "--users", "{d}/nope.yaml"], {}, "--port"),
    (
        "audit-bad-bootstrap",
        ["audit", "verify"],
        {"MONITOR_KAFKA_BOOTSTRAP": "nohost"},
        "MONITOR_KAFKA_BOOTSTRAP",
    ),
    ("audit-no-subcommand", ["audit"], {}, "audit"),
    ("demo-bad-port", ["demo", "--serve", "--port", "0"], {}, "--port"),
]

SCREEN_CASES: list[tuple[str, list[str], str]] = [
    ("screen-eval-threshold", ["--threshold", "120"], "--threshold"),
    ("screen-eval-missing-watchlist", ["--watchlist", "{d}/nope.yaml"], "nope.yaml"),
    ("screen-eval-broken-watchlist", ["--watchlist", "{d}/broken-pack.yaml"], "broken-pack.yaml"),
    ("screen-eval-bad-date", ["--pairs", "{d}/bad-pairs.csv"], "bad-pairs.csv:2"),
]


def _fill(items: list[str], d: Path) -> list[str]:
    return [item.replace("{d}", str(d)) for item in items]


def _assert_one_line_error(result: subprocess.CompletedProcess[str], culprit: str) -> None:
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert culprit in lines[0], lines[0]


@pytest.mark.parametrize(
    ("argv", "env", "culprit"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input_is_one_line_and_status_2(
    files: Path, argv: list[str], env: dict[str, str], culprit: str
) -> None:
    env = {k: v.replace("{d}", str(files)) for k, v in env.items()}
    result = run([*MONITOR, *_fill(argv, files)], env)
    _assert_one_line_error(result, culprit.replace("{d}", str(files)))
    assert "s3cret" not in result.stderr


@pytest.mark.parametrize(
    ("argv", "culprit"), [c[1:] for c in SCREEN_CASES], ids=[c[0] for c in SCREEN_CASES]
)
def test_screen_eval_bad_input_is_one_line_and_status_2(
    files: Path, argv: list[str], culprit: str
) -> None:
    _assert_one_line_error(run([*SCREEN_EVAL, *_fill(argv, files)]), culprit)


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small simulation written by `monitor simulate` (itself the happy case of simulate)."""
    data = tmp_path_factory.mktemp("sim") / "data"
    result = run([*MONITOR, "simulate", "--customers", "40", "--days", "3", "--out", str(data)])
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert "simulated" in result.stdout
    return data


def test_simulate_writes_the_topics_and_labels(simulated: Path) -> None:
    assert (simulated / "labels.jsonl").is_file()
    assert (simulated / "kyc.account-openings.jsonl").read_bytes().count(b"\n") == 40


def test_backtest_on_a_simulation_succeeds(simulated: Path, tmp_path: Path) -> None:
    report = tmp_path / "report"
    result = run([*MONITOR, "backtest", "--data", str(simulated), "--report", str(report)])
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert (report / "report.json").is_file() and "report:" in result.stdout


def test_rules_check_of_the_default_pack_succeeds() -> None:
    result = run([*MONITOR, "rules", "check", "config/cn-pboc.yaml"])
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert "valid" in result.stdout
