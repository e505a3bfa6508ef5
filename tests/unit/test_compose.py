"""docker-compose.yml, Dockerfile and .dockerignore, checked without a Docker engine.

The files are for users; nothing here builds or starts a container. The checks catch what
would only show up at `docker compose up`: an unpinned image, a misspelt MONITOR_* variable
(pydantic-settings would silently ignore it), a COPY or a mount of a file that is not in the
repo, a rule pack path that does not exist in the image, a topic-init step whose partition
count or topic names disagree with the workers', two workers in different consumer groups,
a Prometheus that does not scrape every worker or whose config promtool rejects, a Grafana
that would not find its provisioning.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import pytest
import yaml

from monitor.core.pack import load_pack
from monitor.io.settings import Settings
from monitor.io.topics import worker_topics

from .conftest import WATCHLIST_FILE

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
PREFIX = "MONITOR_"
RULES_DIR = (ROOT / "ops" / "prometheus" / "rules").resolve()
GRAFANA_DIR = (ROOT / "ops" / "grafana").resolve()
PROMTOOL = shutil.which("promtool")


# --- helpers -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict:
    with COMPOSE_FILE.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    assert isinstance(data, dict), "docker-compose.yml is not a mapping"
    assert isinstance(data.get("services"), dict), "docker-compose.yml has no services"
    return data


def _environment(service: dict) -> dict[str, str | None]:
    """A service's `environment:` as a dict, whether written as a mapping or a list."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        out: dict[str, str | None] = {}
        for item in env:
            name, sep, value = str(item).partition("=")
            out[name] = value if sep else None
        return out
    return {str(k): None if v is None else str(v) for k, v in env.items()}


def _split_image(ref: str) -> tuple[str, str | None, str | None]:
    """`repo[:tag][@digest]` -> (repo, tag, digest)."""
    name, _, digest = ref.partition("@")
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        repo, tag = name.rsplit(":", 1)
    else:
        repo, tag = name, None
    return repo, tag, digest or None


def _build_context(service: dict) -> tuple[Path, str]:
    build = service["build"]
    if isinstance(build, str):
        return (ROOT / build).resolve(), "Dockerfile"
    return (ROOT / build.get("context", ".")).resolve(), build.get("dockerfile", "Dockerfile")


def _instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, comments dropped and continuation lines joined."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in dockerfile.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):  # a comment inside a continued instruction
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        pending += line
        word, _, rest = pending.strip().partition(" ")
        out.append((word.upper(), rest.strip()))
        pending = ""
    assert not pending, f"{dockerfile} ends inside a continued line"
    return out


def _copy_args(args: str) -> tuple[list[str], list[str], str]:
    """COPY/ADD arguments -> (flags, sources, destination); shell and JSON forms."""
    flags: list[str] = []
    words = shlex.split(args)
    while words and words[0].startswith("--"):
        flags.append(words.pop(0))
    rest = " ".join(words)
    if rest.startswith("["):
        words = json.loads(rest)
    assert len(words) >= 2, f"COPY needs a source and a destination: {args!r}"
    return flags, words[:-1], words[-1]


def _dockerfile_env(instructions: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for word, args in instructions:
        if word != "ENV":
            continue
        words = shlex.split(args)
        if words and "=" not in words[0]:  # legacy `ENV NAME value`
            env[words[0]] = " ".join(words[1:])
            continue
        for item in words:
            name, _, value = item.partition("=")
            env[name] = value
    return env


def _mounts(service: dict) -> list[tuple[str, str, bool]]:
    """A service's `volumes:` as (source, target, read_only), short or long form. A source
    starting with `.` or `/` is a host path (bind mount); anything else is a named volume."""
    out: list[tuple[str, str, bool]] = []
    for item in service.get("volumes") or []:
        if isinstance(item, dict):
            out.append(
                (
                    str(item.get("source", "")),
                    str(item["target"]),
                    bool(item.get("read_only", False)),
                )
            )
            continue
        parts = str(item).split(":")
        if len(parts) == 1:  # an anonymous volume
            out.append(("", parts[0], False))
            continue
        mode = parts[2] if len(parts) > 2 else ""
        out.append((parts[0], parts[1], "ro" in mode.split(",")))
    return out


def _is_bind(source: str) -> bool:
    return source.startswith((".", "/", "~"))


def _host_path(source: str) -> Path:
    return (ROOT / source).resolve()


def _bind_target(service: dict, target: str) -> Path:
    """The repo path mounted at `target` (exactly) in `service`; fails if none is."""
    for source, mounted_at, _ in _mounts(service):
        if mounted_at.rstrip("/") == target.rstrip("/") and _is_bind(source):
            return _host_path(source)
    raise AssertionError(f"nothing from the repo is mounted at {target}: {_mounts(service)}")


def _workers(compose: dict) -> dict[str, dict]:
    """The worker replicas: every service that runs `monitor worker`."""
    return {
        name: service
        for name, service in compose["services"].items()
        if service.get("command") == ["worker"] or name.startswith("worker")
    }


def _worker(compose: dict) -> dict:
    """The first replica: what the Dockerfile checks look at (all replicas share it)."""
    return compose["services"]["worker-1"]


def _dockerfile(compose: dict) -> Path:
    context, name = _build_context(_worker(compose))
    return context / name


def _settings(service: dict, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """monitor.io.settings.Settings as the worker in `service` would build it (the rule pack
    path is the image's, so the repo's default stands in for it)."""
    for name in list(os.environ):
        if name.upper().startswith(PREFIX):
            monkeypatch.delenv(name)
    for name, value in _environment(service).items():
        if name.startswith(PREFIX) and value is not None and name != "MONITOR_RULES":
            monkeypatch.setenv(name, value)
    return Settings()


def _command_text(service: dict) -> str:
    command = service.get("command") or []
    return command if isinstance(command, str) else "\n".join(str(c) for c in command)


def _created_topics(service: dict) -> dict[str, dict]:
    """topic -> {partitions, replication_factor, configs, if_not_exists, bootstrap} of every
    `kafka-topics.sh --create` line of a one-shot service's shell script."""
    topics: dict[str, dict] = {}
    for line in _command_text(service).replace("$$", "$").splitlines():
        words = shlex.split(line, comments=True)
        if not words or not words[0].endswith("/kafka-topics.sh") or "--create" not in words:
            continue
        spec: dict = {"configs": {}, "if_not_exists": "--if-not-exists" in words}
        it = iter(words[1:])
        for word in it:
            if word == "--topic":
                spec["name"] = next(it)
            elif word == "--partitions":
                spec["partitions"] = int(next(it))
            elif word == "--replication-factor":
                spec["replication_factor"] = int(next(it))
            elif word == "--bootstrap-server":
                spec["bootstrap"] = next(it)
            elif word == "--config":
                key, _, value = next(it).partition("=")
                spec["configs"][key] = value
        assert "name" in spec, f"kafka-topics.sh --create without --topic: {line}"
        assert spec["name"] not in topics, f"{spec['name']} is created twice"
        topics[spec["name"]] = spec
    return topics


def _prometheus_config(compose: dict) -> tuple[Path, dict]:
    """The repo file compose mounts as Prometheus' --config.file, and its content."""
    service = compose["services"]["prometheus"]
    flags = dict(str(arg).split("=", 1) for arg in service.get("command") or [] if "=" in str(arg))
    target = flags.get("--config.file", "/etc/prometheus/prometheus.yml")
    path = _bind_target(service, target)
    assert path.is_file(), f"{path} (mounted as {target}) is not a file"
    return path, yaml.safe_load(path.read_text(encoding="utf-8"))


def _published(service: dict) -> list[tuple[str | None, str]]:
    """(host port or None, container port) of each `ports:` entry."""
    out: list[tuple[str | None, str]] = []
    for item in service.get("ports") or []:
        if isinstance(item, dict):
            published = item.get("published")
            out.append((None if published is None else str(published), str(item["target"])))
            continue
        parts = str(item).split("/")[0].split(":")
        out.append((parts[-2] if len(parts) > 1 else None, parts[-1]))
    return out


# --- services and images -----------------------------------------------------------------


def test_services_exist(compose: dict) -> None:
    expected = {"kafka", "redis", "topic-init", "worker-1", "worker-2", "prometheus", "grafana"}
    assert expected <= set(compose["services"])
    assert set(_workers(compose)) == {"worker-1", "worker-2"}


def test_every_image_is_pinned(compose: dict) -> None:
    for name, service in compose["services"].items():
        assert "image" in service or "build" in service, f"{name} has neither image nor build"
    images = {n: s["image"] for n, s in compose["services"].items() if "image" in s}
    assert {"kafka", "topic-init", "redis", "prometheus", "grafana"} <= set(images)
    for name, ref in images.items():
        assert "${" not in ref and "$" not in ref, f"{name}: image {ref!r} is set by a variable"
        _, tag, digest = _split_image(ref)
        assert digest or tag, f"{name}: image {ref!r} has no tag (that means :latest)"
        assert tag != "latest", f"{name}: image {ref!r} uses :latest"
        if tag and not digest:
            assert re.search(r"\d+\.\d+", tag), f"{name}: tag {tag!r} is not a version"


def test_kafka_image_is_official_apache_kafka_4(compose: dict) -> None:
    repo, tag, _ = _split_image(compose["services"]["kafka"]["image"])
    assert repo == "apache/kafka"
    assert tag is not None and re.fullmatch(r"4\.\d+\.\d+", tag), f"kafka tag {tag!r} is not 4.x.y"
    # the topic tool runs from the same image, so its version matches the broker's
    assert compose["services"]["topic-init"]["image"] == compose["services"]["kafka"]["image"]


def test_monitoring_images(compose: dict) -> None:
    assert _split_image(compose["services"]["prometheus"]["image"])[0] == "prom/prometheus"
    assert _split_image(compose["services"]["grafana"]["image"])[0] == "grafana/grafana"


def test_kafka_is_a_single_kraft_node_without_auto_create(compose: dict) -> None:
    env = _environment(compose["services"]["kafka"])
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    node = env["KAFKA_NODE_ID"]
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{node}@kafka:9093"
    assert env["KAFKA_CONTROLLER_LISTENER_NAMES"] == "CONTROLLER"
    assert env["KAFKA_ADVERTISED_LISTENERS"] == "PLAINTEXT://kafka:9092"
    listeners = set(env["KAFKA_LISTENERS"].split(","))
    assert {"PLAINTEXT://:9092", "CONTROLLER://:9093"} <= listeners
    protocols = dict(p.split(":") for p in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    assert {"PLAINTEXT", "CONTROLLER"} <= set(protocols)
    for name in (
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR",
    ):
        assert env[name] == "1", name
    assert env["KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS"] == "0"
    # topic-init creates the topics with the right partition count; auto-create would not
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"].lower() == "false"


# --- volumes and mounted files --------------------------------------------------------------


def test_stateful_services_use_named_volumes(compose: dict) -> None:
    declared = set(compose.get("volumes") or {})
    for name in ("kafka", "redis", "worker-1", "worker-2", "prometheus", "grafana"):
        sources = [source for source, _, _ in _mounts(compose["services"][name])]
        named = [s for s in sources if s in declared]
        assert named, f"{name} keeps its data in no named volume (declared: {sorted(declared)})"
    for name, service in compose["services"].items():
        for source, _, _ in _mounts(service):
            if source and not _is_bind(source):
                assert source in declared, f"{name} uses undeclared volume {source!r}"


def test_every_mounted_host_path_exists(compose: dict) -> None:
    binds = [
        (name, source)
        for name, service in compose["services"].items()
        for source, _, _ in _mounts(service)
        if _is_bind(source)
    ]
    assert binds, "no service mounts a file from the repo"
    for name, source in binds:
        assert source.startswith("./"), f"{name}: {source} is not relative to the repo"
        path = _host_path(source)
        assert ROOT in path.parents, f"{name}: {source} points outside the repo"
        assert path.exists(), f"{name} mounts {source}, which is not in the repo"


def test_configuration_is_mounted_read_only(compose: dict) -> None:
    for name, service in compose["services"].items():
        for source, target, read_only in _mounts(service):
            if _is_bind(source):
                assert read_only, f"{name}: {source} -> {target} is writable from the container"


def test_each_worker_keeps_its_state_in_its_own_volume(compose: dict) -> None:
    seen: dict[str, str] = {}
    for name, worker in _workers(compose).items():
        data_dir = _environment(worker)["MONITOR_DATA_DIR"]
        sources = [s for s, target, _ in _mounts(worker) if target == data_dir]
        assert sources, f"{name}: MONITOR_DATA_DIR {data_dir} is not a volume"
        assert not _is_bind(sources[0]), f"{name}: {data_dir} is a host path, not a volume"
        assert sources[0] not in seen, f"{name} shares {sources[0]} with {seen.get(sources[0])}"
        seen[sources[0]] = name


# --- worker environment -------------------------------------------------------------------


def test_workers_set_the_contract_variables(compose: dict) -> None:
    for name, worker in _workers(compose).items():
        env = _environment(worker)
        for var in (
            "MONITOR_KAFKA_BOOTSTRAP",
            "MONITOR_REDIS_URL",
            "MONITOR_APP_ID",
            "MONITOR_METRICS_PORT",
            "MONITOR_PARTITIONS",
        ):
            assert env.get(var), f"{name} does not set {var}"
        assert env["MONITOR_KAFKA_BOOTSTRAP"] == "kafka:9092", name
        assert env["MONITOR_REDIS_URL"].startswith("redis://redis:6379"), name


def test_workers_form_one_consumer_group(compose: dict) -> None:
    """The same MONITOR_APP_ID is the same consumer group (and the same state changelog);
    the topic layout, pack and queues must be the same too, or they would disagree."""
    envs = {name: _environment(w) for name, w in _workers(compose).items()}
    assert len(envs) >= 2
    app_ids = {env["MONITOR_APP_ID"] for env in envs.values()}
    assert len(app_ids) == 1, f"workers in different consumer groups: {app_ids}"
    for var in (
        "MONITOR_PARTITIONS",
        "MONITOR_RULES",
        "MONITOR_QUEUE_PREFIX",
        "MONITOR_KAFKA_BOOTSTRAP",
        "MONITOR_REDIS_URL",
        "MONITOR_STORE",
    ):
        values = {env.get(var) for env in envs.values()}
        assert len(values) == 1, f"workers disagree on {var}: {values}"
    partitions = int(next(iter(envs.values()))["MONITOR_PARTITIONS"])
    assert len(envs) <= partitions, "more workers than partitions: some would sit idle"


def test_workers_are_built_from_this_repo(compose: dict) -> None:
    contexts = {name: _build_context(w) for name, w in _workers(compose).items()}
    assert len(set(contexts.values())) == 1, contexts
    for name, worker in _workers(compose).items():
        assert worker.get("command") == ["worker"], name
        assert "deploy" not in worker or "replicas" not in worker["deploy"], (
            f"{name}: replicas of a named service cannot each publish the metrics port"
        )


def _all_monitor_variables(compose: dict) -> dict[str, str]:
    """Every MONITOR_* name in the compose file (any service) and the Dockerfile's ENV."""
    found: dict[str, str] = {}
    for service_name, service in compose["services"].items():
        for name in _environment(service):
            if name.upper().startswith(PREFIX):
                found[name] = f"docker-compose.yml service {service_name}"
    # a MONITOR_ name anywhere else in the file (e.g. a command or an anchor) counts too
    for name in re.findall(r"\bMONITOR_[A-Za-z0-9_]+", COMPOSE_FILE.read_text(encoding="utf-8")):
        found.setdefault(name, "docker-compose.yml")
    for name in _dockerfile_env(_instructions(_dockerfile(compose))):
        if name.upper().startswith(PREFIX):
            found.setdefault(name, "Dockerfile ENV")
    return found


def test_every_monitor_variable_is_a_settings_field(compose: dict) -> None:
    from monitor.casework.settings import CaseworkSettings  # the inbox's own variables

    fields = set(Settings.model_fields) | set(CaseworkSettings.model_fields)
    variables = _all_monitor_variables(compose)
    assert variables, "no MONITOR_* variable found"
    unknown = {
        name: where
        for name, where in variables.items()
        if name[len(PREFIX) :].lower() not in fields
    }
    assert not unknown, f"not fields of Settings or CaseworkSettings (typo?): {unknown}"


@pytest.mark.parametrize("name", ["worker-1", "worker-2"])
def test_worker_environment_is_valid_settings(
    compose: dict, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """The values themselves pass Settings' validation (e.g. MONITOR_STORE, port ranges)."""
    settings = _settings(compose["services"][name], monkeypatch)
    assert settings.kafka_bootstrap == "kafka:9092"


def test_workers_publish_their_metrics_ports(compose: dict) -> None:
    host_ports: dict[str, str] = {}
    exposed = [a for w, a in _instructions(_dockerfile(compose)) if w == "EXPOSE"]
    for name, worker in _workers(compose).items():
        port = _environment(worker)["MONITOR_METRICS_PORT"]
        published = _published(worker)
        hosts = [host for host, target in published if target == port]
        assert hosts, f"{name}: MONITOR_METRICS_PORT {port} is not published: {published}"
        assert hosts[0] is not None, f"{name}: metrics port {port} has no fixed host port"
        assert hosts[0] not in host_ports, f"{name} and {host_ports[hosts[0]]} publish {hosts[0]}"
        host_ports[hosts[0]] = name
        assert any(port in a.split() for a in exposed), f"Dockerfile does not EXPOSE {port}"
    assert set(host_ports) == {"9108", "9109"}


def test_worker_data_dir_is_the_mounted_volume(compose: dict) -> None:
    for name, worker in _workers(compose).items():
        data_dir = _environment(worker)["MONITOR_DATA_DIR"]
        targets = [target for _, target, _ in _mounts(worker)]
        assert data_dir in targets, f"{name}: MONITOR_DATA_DIR {data_dir} is not a volume"


# --- topic-init ---------------------------------------------------------------------------


def test_topic_init_creates_every_topic_with_the_workers_layout(
    compose: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every topic a worker reads or writes, with the workers' MONITOR_PARTITIONS and the
    configs monitor/io/topics.py would give it (explicit cleanup.policy and retention.ms)."""
    created = _created_topics(compose["services"]["topic-init"])
    assert created, "topic-init creates no topic with kafka-topics.sh --create"
    for name, worker in _workers(compose).items():
        settings = _settings(worker, monkeypatch)
        defaults = {
            field: info.default
            for field, info in Settings.model_fields.items()
            if field.startswith("topic_")
        }
        assert len(defaults) == 8
        for field, topic in defaults.items():
            assert getattr(settings, field) == topic, f"{name} renames {field}"
            assert topic in created, f"topic-init does not create {topic} ({field})"
        expected = {spec.name: spec for spec in worker_topics(settings)}
        assert set(created) == set(expected), (
            f"topic-init creates {sorted(set(created) - set(expected))} that {name} does not "
            f"use and misses {sorted(set(expected) - set(created))}"
        )
        for topic, spec in created.items():
            assert spec["partitions"] == settings.partitions, (
                f"{topic}: {spec.get('partitions')} partitions, {name} has "
                f"MONITOR_PARTITIONS={settings.partitions}"
            )
            assert spec["replication_factor"] == settings.replication_factor, topic
            assert spec["configs"] == expected[topic].configs, topic
            assert set(spec["configs"]) >= {"cleanup.policy", "retention.ms"}, topic
            assert spec["if_not_exists"], f"{topic}: a second `up` would fail without it"
            assert spec.get("bootstrap") == settings.kafka_bootstrap, topic


def test_topic_init_is_a_one_shot_that_stops_on_the_first_error(compose: dict) -> None:
    service = compose["services"]["topic-init"]
    assert service.get("restart", "no") == "no", "a one-shot must not be restarted"
    assert service["depends_on"] == {"kafka": {"condition": "service_healthy"}}
    entrypoint = service.get("entrypoint")
    script = _command_text(service)
    shell_e = (
        isinstance(entrypoint, list)
        and entrypoint[0] in ("/bin/sh", "/bin/bash")
        and ("-e" in entrypoint or any(a.startswith("-") and "e" in a for a in entrypoint[1:]))
    )
    assert shell_e or script.lstrip().startswith("set -e"), (
        "a failed kafka-topics.sh must fail topic-init, or the workers start anyway"
    )
    assert "ports" not in service


# --- dependencies and health checks -------------------------------------------------------


def test_workers_wait_for_kafka_redis_and_topic_init(compose: dict) -> None:
    for name, worker in _workers(compose).items():
        depends = worker.get("depends_on")
        assert isinstance(depends, dict), f"{name}: depends_on must be the long form"
        assert depends.get("topic-init") == {"condition": "service_completed_successfully"}, name
        assert depends.get("redis") == {"condition": "service_healthy"}, name
        assert depends.get("kafka", {"condition": "service_healthy"}) == {
            "condition": "service_healthy"
        }, name


def test_every_depends_on_waits_for_health_or_completion(compose: dict) -> None:
    for name, service in compose["services"].items():
        depends = service.get("depends_on")
        if depends is None:
            continue
        assert isinstance(depends, dict), f"{name}: short depends_on does not wait for health"
        for target, spec in depends.items():
            assert target in compose["services"], f"{name} depends on unknown {target}"
            condition = spec.get("condition")
            if condition == "service_healthy":
                assert "healthcheck" in compose["services"][target], (
                    f"{target} has no healthcheck for {name} to wait on"
                )
            else:
                assert condition == "service_completed_successfully", f"{name} -> {target}: {spec}"
                assert compose["services"][target].get("restart", "no") == "no", (
                    f"{name} waits for {target} to exit, but {target} is restarted"
                )


def test_every_healthcheck_has_a_test(compose: dict) -> None:
    checked = [n for n, s in compose["services"].items() if "healthcheck" in s]
    assert {"kafka", "redis", "worker-1", "worker-2", "prometheus"} <= set(checked)
    for name in checked:
        test = compose["services"][name]["healthcheck"].get("test")
        assert test, f"{name}: healthcheck has no test"
        if isinstance(test, list):
            assert test[0] in ("CMD", "CMD-SHELL", "NONE"), f"{name}: healthcheck test {test}"
            assert test[0] != "NONE" and len(test) > 1, f"{name}: healthcheck test is empty"


def test_kafka_and_redis_healthchecks_probe_the_service(compose: dict) -> None:
    def joined(name: str) -> str:
        test = compose["services"][name]["healthcheck"]["test"]
        return " ".join(test) if isinstance(test, list) else test

    kafka = joined("kafka")
    assert "/opt/kafka/bin/kafka-broker-api-versions.sh" in kafka
    assert "--bootstrap-server localhost:9092" in kafka
    assert "redis-cli ping" in joined("redis")
    for name, worker in _workers(compose).items():
        port = _environment(worker)["MONITOR_METRICS_PORT"]
        assert f"127.0.0.1:{port}/metrics" in joined(name), name


# --- Prometheus and Grafana -----------------------------------------------------------------


def _alert_rule_jobs() -> set[str]:
    """The `job` label values the alert rules and the dashboards select."""
    texts = [p.read_text(encoding="utf-8") for p in RULES_DIR.glob("*.yml")]
    texts += [p.read_text(encoding="utf-8") for p in (GRAFANA_DIR / "dashboards").glob("*.json")]
    return {job for text in texts for job in re.findall(r'job\s*=\s*\\?"([^"\\]+)', text)}


def test_prometheus_scrapes_every_worker(compose: dict) -> None:
    _, config = _prometheus_config(compose)
    expected = {
        f"{name}:{_environment(worker)['MONITOR_METRICS_PORT']}"
        for name, worker in _workers(compose).items()
    }
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    wanted = _alert_rule_jobs()
    assert len(wanted) == 1, f"the rules and dashboards select jobs {wanted}"
    (job_name,) = wanted
    assert job_name in jobs, f"no scrape job {job_name!r}, which the rules and dashboards use"
    job = jobs[job_name]
    assert job.get("metrics_path", "/metrics") == "/metrics"
    targets = {t for static in job.get("static_configs", []) for t in static["targets"]}
    assert targets == expected, f"scrapes {sorted(targets)}, the workers are {sorted(expected)}"


def test_prometheus_loads_the_mounted_rules(compose: dict) -> None:
    service = compose["services"]["prometheus"]
    config_path, config = _prometheus_config(compose)
    config_target = next(t for s, t, _ in _mounts(service) if _host_path(s) == config_path)
    config_dir = PurePosixPath(config_target).parent
    rule_globs = config.get("rule_files") or []
    assert rule_globs, "the compose Prometheus loads no alert rules"
    rules_target = next(
        (t for s, t, _ in _mounts(service) if _is_bind(s) and _host_path(s) == RULES_DIR), None
    )
    assert rules_target is not None, "ops/prometheus/rules is not mounted into Prometheus"
    for pattern in rule_globs:
        full = config_dir / pattern if not pattern.startswith("/") else PurePosixPath(pattern)
        assert full.parent == PurePosixPath(rules_target), (
            f"rule_files {pattern} resolves to {full.parent}, the rules are at {rules_target}"
        )
        assert list(RULES_DIR.glob(full.name)), f"{pattern} matches no file in {RULES_DIR}"


@pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed (Debian: prometheus)")
def test_promtool_checks_the_compose_prometheus_config(compose: dict, tmp_path: Path) -> None:
    """Every repo file mounted into the Prometheus container is copied to the same path under
    a temporary root, so the config's relative rule paths resolve as in the container."""
    service = compose["services"]["prometheus"]
    config_path, _ = _prometheus_config(compose)
    root = tmp_path / "container"
    config_in_root: Path | None = None
    for source, target, _ in _mounts(service):
        if not _is_bind(source):
            continue
        dest = root / target.lstrip("/")
        src = _host_path(source)
        if src.is_dir():
            shutil.copytree(src, dest)
        else:
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)
        if src == config_path:
            config_in_root = dest
    assert config_in_root is not None
    proc = subprocess.run(
        [PROMTOOL, "check", "config", str(config_in_root)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"promtool check config failed:\n{output}"
    rule_files = sorted(RULES_DIR.glob("*.rules.yml"))
    for rule_file in rule_files:
        assert rule_file.name in output, f"promtool did not check {rule_file.name}:\n{output}"
    assert "SUCCESS" in output and "rules found" in output, output


def test_grafana_is_provisioned_from_the_repo(compose: dict) -> None:
    service = compose["services"]["grafana"]
    assert _bind_target(service, "/etc/grafana/provisioning") == GRAFANA_DIR / "provisioning"
    providers = yaml.safe_load(
        (GRAFANA_DIR / "provisioning" / "dashboards" / "dashboards.yml").read_text(encoding="utf-8")
    )["providers"]
    for provider in providers:
        path = provider["options"]["path"]
        assert _bind_target(service, path) == GRAFANA_DIR / "dashboards", (
            f"the dashboard provider reads {path}, where ops/grafana/dashboards is not mounted"
        )
    assert list((GRAFANA_DIR / "dashboards").glob("*.json"))


def test_grafana_datasource_is_the_compose_prometheus(compose: dict) -> None:
    datasources = yaml.safe_load(
        (GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml").read_text(
            encoding="utf-8"
        )
    )["datasources"]
    prometheus = [d for d in datasources if d["type"] == "prometheus"]
    assert prometheus
    command = compose["services"]["prometheus"].get("command") or []
    listen = next(
        (str(a).split("=", 1)[1] for a in command if str(a).startswith("--web.listen-address=")),
        "0.0.0.0:9090",
    )
    port = listen.rsplit(":", 1)[1]
    _, config = _prometheus_config(compose)
    scrape_interval = config.get("global", {}).get("scrape_interval", "1m")
    for source in prometheus:
        url = urlsplit(source["url"])
        assert url.hostname == "prometheus" and str(url.port or 80) == port, source["url"]
        time_interval = source.get("jsonData", {}).get("timeInterval")
        assert time_interval in (None, scrape_interval), (
            f"Grafana assumes a {time_interval} scrape interval, Prometheus scrapes every "
            f"{scrape_interval}"
        )


# --- Dockerfile ---------------------------------------------------------------------------


def test_worker_build_context_has_a_dockerfile(compose: dict) -> None:
    assert "build" in _worker(compose), "worker is not built from this repo"
    dockerfile = _dockerfile(compose)
    assert dockerfile.is_file(), f"no Dockerfile at {dockerfile}"


def _copies(compose: dict) -> list[tuple[list[str], list[str], str]]:
    return [
        _copy_args(args)
        for word, args in _instructions(_dockerfile(compose))
        if word in ("COPY", "ADD")
    ]


def test_every_copied_file_exists(compose: dict) -> None:
    context, _ = _build_context(_worker(compose))
    copies = [c for c in _copies(compose) if not any(f.startswith("--from") for f in c[0])]
    assert copies, "the Dockerfile copies nothing"
    missing = []
    for _, sources, _ in copies:
        for src in sources:
            if any(ch in src for ch in "*?["):
                if not list(context.glob(src)):
                    missing.append(src)
            elif not (context / src).exists():
                missing.append(src)
    assert not missing, f"COPY sources missing from the build context {context}: {missing}"


def _ignore_patterns(context: Path) -> list[str]:
    path = context / ".dockerignore"
    if not path.is_file():
        return []
    lines = (ln.strip() for ln in path.read_text(encoding="utf-8").splitlines())
    return [ln.rstrip("/") for ln in lines if ln and not ln.startswith(("#", "!"))]


def test_dockerignore_keeps_what_the_dockerfile_copies(compose: dict) -> None:
    context, _ = _build_context(_worker(compose))
    patterns = _ignore_patterns(context)
    for must in (".venv", ".git", "tests", "bench/data", "monitor-data"):
        assert must in patterns, f".dockerignore does not exclude {must}"
    for _, sources, _ in _copies(compose):
        for src in sources:
            src = src.rstrip("/")
            hit = [p for p in patterns if fnmatch.fnmatch(src, p) or src.startswith(p + "/")]
            assert not hit, f"COPY {src} is excluded by .dockerignore {hit}"


def test_dockerfile_shape(compose: dict) -> None:
    instructions = _instructions(_dockerfile(compose))
    words = [w for w, _ in instructions]
    assert [w for w in words if w != "ARG"][0] == "FROM", "the Dockerfile does not start with FROM"
    base = [a for w, a in instructions if w == "FROM"][-1].split()[0]
    assert base.startswith("python:3.11-slim"), base
    runs = " ".join(a for w, a in instructions if w == "RUN")
    assert re.search(r"\bpip install \.(\s|$)", runs), "the project is not installed with pip"
    users = [a for w, a in instructions if w == "USER"]
    assert users and users[-1] not in ("root", "0", "0:0"), "the image runs as root"
    entry = [a for w, a in instructions if w == "ENTRYPOINT"]
    cmd = [a for w, a in instructions if w == "CMD"]
    assert entry and json.loads(entry[-1]) == ["monitor"]
    assert cmd and json.loads(cmd[-1]) == ["worker"]
    assert words.index("COPY") < words.index("USER")  # files stay root-owned, read-only


def _container_to_repo(compose: dict, container_path: str) -> Path | None:
    """Map a path inside the image back to the repo file a COPY put there."""
    context, _ = _build_context(_worker(compose))
    workdir = PurePosixPath("/")
    target = PurePosixPath(container_path)
    found: Path | None = None
    for word, args in _instructions(_dockerfile(compose)):
        if word == "WORKDIR":
            workdir = workdir / args
        if word not in ("COPY", "ADD"):
            continue
        flags, sources, dest = _copy_args(args)
        if any(f.startswith("--from") for f in flags):
            continue
        dest_path = workdir / dest
        for src in sources:
            repo_src = context / src
            if repo_src.is_dir():
                if target == dest_path or dest_path in target.parents:
                    found = repo_src / target.relative_to(dest_path)
            elif dest.endswith("/") or len(sources) > 1:
                if target == dest_path / PurePosixPath(src).name:
                    found = repo_src
            elif target == dest_path:
                found = repo_src
    return found


def test_image_rule_pack_is_copied_and_loads(compose: dict) -> None:
    """MONITOR_RULES set: a pack the Dockerfile copied in. Unset: the installed package's
    default pack, package data built from config/, which must then be copied in before
    `pip install .` (tests/e2e/test_wheel.py checks that the wheel ships it)."""
    env = _dockerfile_env(_instructions(_dockerfile(compose)))
    env.update({k: v for k, v in _environment(_worker(compose)).items() if v is not None})
    rules = env.get("MONITOR_RULES")
    if rules:
        repo_file = _container_to_repo(compose, rules)
        assert repo_file is not None and repo_file.is_file(), f"{rules} is not in the image"
    else:
        copied = {src.rstrip("/") for _, sources, _ in _copies(compose) for src in sources}
        assert "config" in copied, "MONITOR_RULES is unset and config/ is not built into the image"
        repo_file = ROOT / "config" / "cn-pboc.yaml"
    if not WATCHLIST_FILE.is_file():
        pytest.skip(f"{WATCHLIST_FILE} does not exist yet: the default pack cannot load")
    pack = load_pack(repo_file)
    assert pack.name


# --- docker compose's own parser ------------------------------------------------------------


def _compose_command() -> list[str]:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("the docker binary is not installed; cannot run `docker compose config`")
    probe = subprocess.run(
        [docker, "compose", "version"], capture_output=True, text=True, timeout=60
    )
    if probe.returncode != 0:
        pytest.skip(
            "the docker compose plugin is not installed "
            f"(`docker compose version`: {(probe.stderr or probe.stdout).strip()[:200]})"
        )
    return [docker, "compose"]


def test_docker_compose_config_parses_the_file() -> None:
    """`docker compose config -q` validates the file offline; it needs no Docker engine."""
    cmd = _compose_command() + ["-f", str(COMPOSE_FILE), "config", "-q"]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{' '.join(cmd)} failed:\n{result.stderr}{result.stdout}"
