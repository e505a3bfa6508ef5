"""Casework exceptions: one root, one subclass per HTTP-visible situation."""

from __future__ import annotations

from monitor.core.errors import MonitorError

__all__ = ["CaseConflict", "CaseNotFound", "CaseworkError", "Forbidden", "InvalidInput"]


class CaseworkError(MonitorError):
    """Root of every casework error; `status` is the HTTP status the inbox answers with."""

    status = 400


class InvalidInput(CaseworkError):
    """A form or command is incomplete or malformed: correct it and send it again."""

    status = 400


class Forbidden(CaseworkError):
    """The user's role or identity does not allow the action (four eyes, ownership)."""

    status = 403


class CaseNotFound(CaseworkError):
    """No case with that id in the read model."""

    status = 404


class CaseConflict(CaseworkError):
    """The action does not fit the case's current status (claimed by another, already
    decided): reload the case and look again."""

    status = 409
