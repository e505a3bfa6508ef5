"""Customer identification (PBoC Order 2025 No.11): KYC_INCOMPLETE and the identity profile."""

from __future__ import annotations

from typing import Any, ClassVar

from monitor.pack import KycIncompleteConfig
from monitor.rules.base import Context, Findings, is_blank
from monitor.state import CustomerState
from schemas import AccountOpening, CustomerUpdate

__all__ = ["KycIncomplete", "identity_paths", "merge_profile"]


def identity_paths(data: dict[str, Any], prefix: str = "") -> dict[str, bool]:
    """Flatten an opening (or the changes of an update) into dotted paths -> present?"""
    flat: dict[str, bool] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            flat[path] = bool(value)
            flat.update(identity_paths(value, f"{path}."))
        elif isinstance(value, list):
            flat[path] = bool(value)
        else:
            flat[path] = not is_blank(value)
    return flat


def merge_profile(state: CustomerState, event: AccountOpening | CustomerUpdate) -> set[str]:
    """Fold an opening or update into the profile; return the identity paths it touched.

    The profile keeps the customer type, which identity paths are present and the
    document expiry: never names or numbers."""
    if isinstance(event, AccountOpening):
        present = identity_paths(event.model_dump(mode="json", exclude_none=False))
        state.profile = {
            "type": event.customer_type,
            "present": sorted(p for p, ok in present.items() if ok),
            "opened_at": event.opened_at.isoformat(),
        }
        return set(present)
    if state.profile is None:
        return set()
    changes = identity_paths(event.changes)
    present = set(state.profile["present"])
    for top in event.changes:  # a changed field replaces the whole field, nested parts too
        present = {p for p in present if p != top and not p.startswith(f"{top}.")}
    present.update(path for path, ok in changes.items() if ok)
    state.profile["present"] = sorted(present)
    return set(changes)


class KycIncomplete:
    """An opening, or an update of identity fields, that leaves mandatory fields missing.
    Raises an `INCOMPLETE_KYC` re-identification task with the pack's measures."""

    rule_id: ClassVar[str] = "KYC_INCOMPLETE"
    handles: ClassVar[tuple[type, ...]] = (AccountOpening, CustomerUpdate)

    def __init__(self, cfg: KycIncompleteConfig) -> None:
        self.cfg = cfg

    def apply(
        self,
        state: CustomerState,
        event: AccountOpening | CustomerUpdate,
        ctx: Context,
        out: Findings,
    ) -> None:
        profile = state.profile
        if profile is None:
            return
        required = (
            self.cfg.individual_fields if profile["type"] == "individual" else self.cfg.entity_fields
        )
        if isinstance(event, CustomerUpdate) and not _touches(ctx.touched, required):
            return
        present = set(profile["present"])
        missing = [p for p in required if p not in present]
        if not missing:
            return
        what = "account opening" if isinstance(event, AccountOpening) else "customer update"
        summary = (
            f"{what} {event.event_id} leaves mandatory identity fields missing: "
            f"{', '.join(missing)}"
        )
        alert = ctx.alert(
            self.rule_id,
            self.cfg,
            event.customer_id,
            (event.event_id,),
            summary,
            event.event_time,
            evidence=[event.event_id],
        )
        out.alerts.append(alert)
        out.tasks.append(
            ctx.task(
                "INCOMPLETE_KYC",
                event.customer_id,
                event.event_id,
                event.event_time,
                self.cfg.task.measures,
                self.cfg.task.due_working_days,
                [alert.alert_id],
            )
        )


def _touches(touched: frozenset[str], required: list[str]) -> bool:
    return any(
        t == r or r.startswith(f"{t}.") or t.startswith(f"{r}.") for t in touched for r in required
    )
