"""`monitor demo --serve`: the analyst inbox on the demo's broker and Redis, with two demo
users whose passwords are generated and printed once."""

from __future__ import annotations

import logging
import secrets
import signal
import tempfile
from pathlib import Path

from monitor.io.settings import Settings

__all__ = ["DEMO_USERS", "serve_demo_inbox"]

logger = logging.getLogger(__name__)

DEMO_USERS = {"analyst": "analyst", "reviewer": "reviewer"}


def write_demo_users(directory: Path) -> tuple[Path, dict[str, str]]:
    """A users file for the demo users with fresh random passwords; (file, passwords)."""
    from monitor.casework.web.auth import hash_password

    passwords = {name: secrets.token_urlsafe(9) for name in DEMO_USERS}
    lines = ["users:"]
    for name, role in DEMO_USERS.items():
        digest = hash_password(passwords[name])
        lines.append(f"  - {{name: {name}, role: {role}, password_hash: '{digest}'}}")
    path = directory / "inbox-users.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, passwords


def serve_demo_inbox(settings: Settings, port: int) -> None:
    """Serve the inbox until interrupted (Ctrl-C)."""
    import uvicorn

    from monitor.casework.server import build_inbox

    users, passwords = write_demo_users(Path(tempfile.mkdtemp(prefix="monitor-inbox-")))
    # the demo's embedded broker (Tansu) has no idempotent producers; acks=all still holds
    app = build_inbox(users_file=users, settings=settings, idempotent=False)
    print()
    print(f"Analyst inbox: http://127.0.0.1:{port}/  (Ctrl-C stops the inbox and the demo)")
    for name, password in passwords.items():
        print(f"  {name:<9} password {password}  (shown once)")
    print(flush=True)
    # uvicorn re-raises SIGTERM after its shutdown: turn it into an exception so that the
    # demo's `finally` still stops the worker, the broker and redis-server
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
    except (KeyboardInterrupt, _Terminated):
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)


class _Terminated(Exception):
    """SIGTERM arrived while the inbox served."""


def _terminated(signum: int, frame: object) -> None:
    raise _Terminated()
