"""The built wheel stands alone: installed into a fresh venv outside the repository, it
validates its shipped packs and runs `monitor worker` on a real Kafka and Redis.

The wheel is built from a copy of the sources (so no stale `build/` in the checkout leaks
into it), installed with its dependencies (pip's cache makes that quick after the first
run), and every command runs from a directory outside the repository with PYTHONPATH
removed, so nothing can be imported or read from the checkout. Deselect with
`-m "not wheel"`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import tomllib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from monitor.io.devservers import KafkaServer, RedisServer
from tests.support.worker import WorkerProcess

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PACKAGE_TOPS = ("monitor", "agents", "schemas")
#: what `pip wheel` needs from the checkout
SOURCES = ("pyproject.toml", "README.md", *PACKAGE_TOPS, "config")
SHIPPED = "monitor/defaults"  # where config/ lands in the wheel


@dataclass
class Installed:
    """The wheel, the venv it is installed in and how long each step took."""

    wheel: Path
    venv: Path
    outside: Path  # a working directory outside the repository
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    def run(self, *argv: str | Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(a) for a in argv],
            cwd=self.outside,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def clean_env() -> dict[str, str]:
    """The test's environment without what would point a process at the checkout or at
    another venv, and without MONITOR_* settings (the defaults are under test)."""
    drop = {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSAFEPATH"}
    return {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("MONITOR_")}


def _check(proc: subprocess.CompletedProcess[str], what: str) -> str:
    assert proc.returncode == 0, f"{what} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def _timed(timings: dict[str, float], name: str, argv: list[str], cwd: Path) -> None:
    started = time.monotonic()
    proc = subprocess.run(
        argv, cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=600
    )
    timings[name] = time.monotonic() - started
    _check(proc, " ".join(argv))


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base = tmp_path_factory.mktemp("wheel")
    assert ROOT not in base.parents, "the temporary directory is inside the repository"
    src, dist, outside = base / "src", base / "dist", base / "cwd"
    outside.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=ignore)
        else:
            src.mkdir(exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    timings: dict[str, float] = {}
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist)]
    _timed(timings, "build wheel", [*pip_wheel, str(src)], base)
    (wheel,) = dist.glob("aml_monitor-*.whl")
    venv = base / "venv"
    _timed(timings, "create venv", [sys.executable, "-m", "venv", str(venv)], base)
    pip_install = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    _timed(timings, "install wheel and dependencies", [*pip_install, str(wheel)], outside)
    print("wheel timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))
    return Installed(wheel=wheel, venv=venv, outside=outside, timings=timings)


def _installed_defaults(installed: Installed) -> Path:
    """Where the installed package finds its shipped files (asked from outside the repo)."""
    code = "from monitor.core.defaults import defaults_dir; print(defaults_dir())"
    out = _check(installed.run(installed.bin / "python", "-c", code), "defaults_dir()")
    return Path(out.strip())


# --- the package list (no wheel needed) --------------------------------------------------


def test_every_package_directory_is_listed_in_pyproject() -> None:
    """pyproject lists its packages (so config/ can ship as `monitor.defaults`): a new
    package directory that is not listed would be missing from the wheel."""
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    on_disk = {
        ".".join(d.relative_to(ROOT).parts)
        for top in PACKAGE_TOPS
        for d in [ROOT / top, *(ROOT / top).rglob("*")]
        if d.is_dir() and d.name != "__pycache__" and any(d.glob("*.py"))
    }
    assert on_disk - listed == set(), "add to [tool.setuptools] packages in pyproject.toml"
    assert listed - on_disk == {"monitor.defaults"}
    assert PYPROJECT["tool"]["setuptools"]["package-dir"] == {"monitor.defaults": "config"}


# --- the built wheel ---------------------------------------------------------------------


@pytest.mark.wheel
@pytest.mark.timeout(600)
def test_wheel_holds_every_module_and_every_config_file(installed: Installed) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    modules = {
        p.relative_to(ROOT).as_posix()
        for top in PACKAGE_TOPS
        for p in (ROOT / top).rglob("*.py")
        if "__pycache__" not in p.parts
    }
    assert modules - names == set(), "modules missing from the wheel"
    config = {
        f"{SHIPPED}/{p.relative_to(ROOT / 'config').as_posix()}"
        for p in (ROOT / "config").rglob("*")
        if p.is_file()
    }
    assert config - names == set(), "config/ files missing from the wheel (package-data globs)"
    assert not any(n.startswith("config/") for n in names), "config/ as a top-level package"


@pytest.mark.wheel
@pytest.mark.timeout(600)
def test_installed_wheel_checks_its_shipped_packs(installed: Installed) -> None:
    defaults = _installed_defaults(installed)
    assert installed.venv in defaults.parents, f"{defaults} is not inside the installed venv"
    assert ROOT not in defaults.parents
    monitor = installed.bin / "monitor"
    for pack, name in (("cn-pboc.yaml", "cn-pboc"), ("us-bsa.yaml", "us-bsa")):
        out = _check(installed.run(monitor, "rules", "check", defaults / pack), pack)
        assert out.startswith(f"pack {name} "), out
        assert "valid" in out.splitlines()[0]
    # the default pack, as the worker and `replay` load it when MONITOR_RULES is unset
    code = (
        "from monitor.core.pack import DEFAULT_PACK, load_pack; "
        "p = load_pack(); print(p.name, DEFAULT_PACK, p.extras['WATCHLIST_MATCH'] is not None)"
    )
    out = _check(installed.run(installed.bin / "python", "-c", code), "load_pack()")
    name, path, watchlist = out.split()
    assert (name, Path(path), watchlist) == ("cn-pboc", defaults / "cn-pboc.yaml", "True")


@pytest.fixture
def servers() -> Iterator[tuple[KafkaServer, RedisServer]]:
    kafka = KafkaServer()
    cache = RedisServer()
    try:
        kafka.start()
        cache.start()
        yield kafka, cache
    finally:
        cache.stop()
        kafka.stop()


@pytest.mark.wheel
@pytest.mark.integration
@pytest.mark.timeout(600)
def test_installed_worker_starts_on_the_default_pack(
    installed: Installed, servers: tuple[KafkaServer, RedisServer], tmp_path: Path
) -> None:
    """`monitor worker` of the installed wheel, MONITOR_RULES unset, until faust logs Ready
    (how tests/support/worker.py detects readiness), then SIGTERM."""
    kafka, cache = servers
    worker = WorkerProcess(kafka.bootstrap, cache.url, tmp_path / "data")
    env = {k: v for k, v in worker.env.items() if k not in {"PYTHONPATH", "PYTHONHOME"}}
    assert "MONITOR_RULES" not in env
    worker.data_dir.mkdir(parents=True)
    log = worker.data_dir / "worker.log"
    worker.logs.append(log)
    started = time.monotonic()
    with log.open("ab") as out:
        worker.proc = subprocess.Popen(
            [str(installed.bin / "monitor"), "worker"],
            cwd=installed.outside,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        worker.wait_ready(timeout=120)
        print(f"installed worker ready in {time.monotonic() - started:.1f}s")
    finally:
        worker.stop()
    assert worker.proc.returncode is not None
