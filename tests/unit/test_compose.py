"""docker-compose.yml, Dockerfile and .dockerignore, checked without a Docker engine.

The files are for users; nothing here builds or starts a container. The checks catch what
would only show up at `docker compose up`: an unpinned image, a misspelt MONITOR_* variable
(pydantic-settings would silently ignore it), a COPY of a file that is not in the repo, a
rule pack path that does not exist in the image.
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

import pytest
import yaml

from monitor.pack import load_pack
from monitor.settings import Settings

from .conftest import WATCHLIST_FILE

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
PREFIX = "MONITOR_"


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


def _worker(compose: dict) -> dict:
    return compose["services"]["worker"]


def _dockerfile(compose: dict) -> Path:
    context, name = _build_context(_worker(compose))
    return context / name


# --- services and images -----------------------------------------------------------------


def test_services_exist(compose: dict) -> None:
    assert {"kafka", "redis", "worker"} <= set(compose["services"])


def test_every_image_is_pinned(compose: dict) -> None:
    images = {n: s["image"] for n, s in compose["services"].items() if "image" in s}
    assert images, "no service names an image"
    for name, ref in images.items():
        assert "${" not in ref, f"{name}: image {ref!r} is set by a variable, not pinned"
        _, tag, digest = _split_image(ref)
        assert digest or tag, f"{name}: image {ref!r} has no tag (that means :latest)"
        assert tag != "latest", f"{name}: image {ref!r} uses :latest"


def test_kafka_image_is_official_apache_kafka_4(compose: dict) -> None:
    repo, tag, _ = _split_image(compose["services"]["kafka"]["image"])
    assert repo == "apache/kafka"
    assert tag is not None and re.fullmatch(r"4\.\d+\.\d+", tag), f"kafka tag {tag!r} is not 4.x.y"


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
    # the worker creates its topics with the right partition count; auto-create would not
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"].lower() == "false"


def test_stateful_services_use_named_volumes(compose: dict) -> None:
    declared = set(compose.get("volumes") or {})
    for name in ("kafka", "redis", "worker"):
        mounts = compose["services"][name].get("volumes") or []
        sources = [
            str(m).split(":", 1)[0] if isinstance(m, str) else m.get("source") for m in mounts
        ]
        named = [s for s in sources if s in declared]
        assert named, f"{name} keeps its data in no named volume (declared: {sorted(declared)})"


# --- worker environment -------------------------------------------------------------------


def test_worker_sets_the_contract_variables(compose: dict) -> None:
    env = _environment(_worker(compose))
    for name in (
        "MONITOR_KAFKA_BOOTSTRAP",
        "MONITOR_REDIS_URL",
        "MONITOR_APP_ID",
        "MONITOR_METRICS_PORT",
    ):
        assert env.get(name), f"worker does not set {name}"
    assert env["MONITOR_KAFKA_BOOTSTRAP"] == "kafka:9092"
    assert env["MONITOR_REDIS_URL"].startswith("redis://redis:6379")


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
    fields = set(Settings.model_fields)
    variables = _all_monitor_variables(compose)
    assert variables, "no MONITOR_* variable found"
    unknown = {
        name: where for name, where in variables.items()
        if name[len(PREFIX):].lower() not in fields
    }
    assert not unknown, f"not fields of monitor.settings.Settings (typo?): {unknown}"


def test_worker_environment_is_valid_settings(
    compose: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The values themselves pass Settings' validation (e.g. MONITOR_STORE, port ranges)."""
    for name in list(os.environ):
        if name.upper().startswith(PREFIX):
            monkeypatch.delenv(name)
    for name, value in _environment(_worker(compose)).items():
        if name.startswith(PREFIX) and value is not None and name != "MONITOR_RULES":
            monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.kafka_bootstrap == "kafka:9092"


def test_worker_publishes_its_metrics_port(compose: dict) -> None:
    worker = _worker(compose)
    port = _environment(worker)["MONITOR_METRICS_PORT"]
    published = []
    for item in worker.get("ports") or []:
        if isinstance(item, dict):
            published.append(str(item.get("target")))
        else:
            published.append(str(item).split("/")[0].rsplit(":", 1)[-1])
    assert port in published, f"MONITOR_METRICS_PORT {port} is not published: {published}"
    exposed = [a for w, a in _instructions(_dockerfile(compose)) if w == "EXPOSE"]
    assert any(port in a.split() for a in exposed), f"Dockerfile does not EXPOSE {port}"


def test_worker_data_dir_is_the_mounted_volume(compose: dict) -> None:
    worker = _worker(compose)
    data_dir = _environment(worker)["MONITOR_DATA_DIR"]
    targets = [
        str(m).split(":")[1] if isinstance(m, str) else m.get("target")
        for m in worker.get("volumes") or []
    ]
    assert data_dir in targets, f"MONITOR_DATA_DIR {data_dir} is not a volume: {targets}"


# --- dependencies and health checks -------------------------------------------------------


def test_worker_waits_for_healthy_kafka_and_redis(compose: dict) -> None:
    depends = _worker(compose).get("depends_on")
    assert isinstance(depends, dict), "worker depends_on must be the long form with conditions"
    assert {"kafka", "redis"} <= set(depends)
    for name, spec in depends.items():
        assert spec.get("condition") == "service_healthy", f"worker depends_on {name}: {spec}"
        assert "healthcheck" in compose["services"][name], f"{name} has no healthcheck to wait on"


def test_every_depends_on_uses_service_healthy(compose: dict) -> None:
    for name, service in compose["services"].items():
        depends = service.get("depends_on")
        if depends is None:
            continue
        assert isinstance(depends, dict), f"{name}: short depends_on does not wait for health"
        for target, spec in depends.items():
            assert spec.get("condition") == "service_healthy", f"{name} -> {target}: {spec}"


def test_every_healthcheck_has_a_test(compose: dict) -> None:
    checked = [n for n, s in compose["services"].items() if "healthcheck" in s]
    assert {"kafka", "redis"} <= set(checked)
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
    """The installed package's default pack path only exists in a source checkout, so the
    image must point MONITOR_RULES at a pack it copied in."""
    env = _dockerfile_env(_instructions(_dockerfile(compose)))
    env.update({k: v for k, v in _environment(_worker(compose)).items() if v is not None})
    rules = env.get("MONITOR_RULES")
    assert rules, "neither the Dockerfile nor the worker service sets MONITOR_RULES"
    repo_file = _container_to_repo(compose, rules)
    assert repo_file is not None and repo_file.is_file(), f"{rules} is not copied into the image"
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
