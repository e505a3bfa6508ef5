"""The analyst inbox's service in docker-compose.yml, checked without a Docker engine: it is
built like the workers, reads the same broker and Redis, mounts a users file that loads, is
reachable on the port it serves, waits for its dependencies and is scraped by Prometheus."""

from __future__ import annotations

import os

import pytest

from monitor.casework.settings import CaseworkSettings
from monitor.casework.web.auth import load_users
from monitor.io.settings import Settings
from monitor.tools.cli import _parser

from .test_compose import (
    PREFIX,
    _bind_target,
    _build_context,
    _environment,
    _mounts,
    _prometheus_config,
    _published,
    _workers,
    compose,
)

__all__ = ["compose"]  # the module-scoped fixture, shared with test_compose


def _inbox(compose: dict) -> dict:
    assert "inbox" in compose["services"], "docker-compose.yml has no inbox service"
    return compose["services"]["inbox"]


def _options(service: dict) -> dict[str, str]:
    command = [str(c) for c in service["command"]]
    assert command[0] == "inbox", f"the inbox service runs `monitor {command[0]}`"
    return dict(zip(command[1::2], command[2::2], strict=True))


def _env(service: dict, monkeypatch: pytest.MonkeyPatch) -> tuple[Settings, CaseworkSettings]:
    for name in list(os.environ):
        if name.upper().startswith(PREFIX):
            monkeypatch.delenv(name)
    for name, value in _environment(service).items():
        if name.startswith(PREFIX) and value is not None:
            monkeypatch.setenv(name, "" if value.startswith("${") else value)
    return Settings(), CaseworkSettings()


def test_the_inbox_is_built_like_the_workers_and_runs_monitor_inbox(compose: dict) -> None:
    inbox = _inbox(compose)
    contexts = {_build_context(w) for w in _workers(compose).values()}
    assert {_build_context(inbox)} == contexts
    assert "inbox" not in _workers(compose), "the inbox must not count as a worker"
    options = _options(inbox)
    assert options["--host"] == "0.0.0.0", "bound to 127.0.0.1 it is unreachable outside"
    args = _parser().parse_args(
        ["inbox", "--users", str(_bind_target(inbox, options["--users"])), "--port", "8080"]
    )
    assert args.inbox_command is None and args.port == 8080


def test_the_users_file_is_mounted_read_only_and_loads(compose: dict) -> None:
    inbox = _inbox(compose)
    target = _options(inbox)["--users"]
    mounts = {t: (s, ro) for s, t, ro in _mounts(inbox)}
    assert target in mounts and mounts[target][1], f"{target} is not mounted read-only"
    users = load_users(_bind_target(inbox, target))
    assert {u.role for u in users.by_name.values()} >= {"analyst", "reviewer"}
    assert users.proxy_header is None
    for user in users.by_name.values():  # the shipped hashes are of passwords nobody knows
        assert users.authenticate(user.name, user.name) is None


def test_the_inbox_reads_the_workers_broker_and_redis(
    compose: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = _environment(_inbox(compose))
    worker = _environment(next(iter(_workers(compose).values())))
    for name in (
        "MONITOR_KAFKA_BOOTSTRAP",
        "MONITOR_REDIS_URL",
        "MONITOR_APP_ID",
        "MONITOR_PARTITIONS",
        "MONITOR_REPLICATION_FACTOR",
    ):
        assert env.get(name) == worker.get(name), f"the inbox and the workers disagree on {name}"
    settings, own = _env(_inbox(compose), monkeypatch)
    assert settings.kafka_bootstrap == "kafka:9092"
    assert own.inbox_group is None  # <app_id>-inbox: not the workers' group
    assert own.topic_case_events == "aml.case-events" and own.topic_reports == "aml.reports"
    assert "${" in (env.get("MONITOR_INBOX_SECRET") or ""), "the session secret is not in git"


def test_the_inbox_port_is_published_and_health_checked(compose: dict) -> None:
    inbox = _inbox(compose)
    port = _options(inbox)["--port"]
    published = _published(inbox)
    assert (port, port) in published, f"port {port} is not published as {port}: {published}"
    taken = {
        h for name, s in compose["services"].items() if name != "inbox" for h, _ in _published(s)
    }
    assert port not in taken, f"host port {port} is published twice"
    test = " ".join(inbox["healthcheck"]["test"])
    assert f"127.0.0.1:{port}/healthz" in test


def test_the_inbox_waits_for_kafka_redis_and_topic_init(compose: dict) -> None:
    depends = _inbox(compose)["depends_on"]
    assert depends == {
        "kafka": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
        "topic-init": {"condition": "service_completed_successfully"},
    }


def test_prometheus_scrapes_the_inbox_in_a_job_of_its_own(compose: dict) -> None:
    port = _options(_inbox(compose))["--port"]
    _, config = _prometheus_config(compose)
    jobs = {
        job["job_name"]: {t for s in job.get("static_configs", []) for t in s["targets"]}
        for job in config["scrape_configs"]
    }
    owners = [name for name, targets in jobs.items() if f"inbox:{port}" in targets]
    assert owners == ["aml-inbox"], f"inbox:{port} is scraped by {owners}"
