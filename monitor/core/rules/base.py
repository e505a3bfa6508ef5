"""What every rule shares: the `Rule` protocol, the evaluation context, thresholds."""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from monitor.core.errors import ConfigurationError
from monitor.core.explain import explain, fx_rates
from monitor.core.ids import stable_id
from monitor.core.rules.config import RuleConfig, Threshold
from monitor.core.state import CustomerState
from schemas import Alert, CashTransaction, ReidTask, Remittance

if TYPE_CHECKING:
    from monitor.core.pack import Pack

__all__ = [
    "Context",
    "Findings",
    "Rule",
    "day_window",
    "epoch_ms",
    "window_end_ms",
    "fmt_money",
    "is_blank",
]

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class Findings:
    """What one event produced: alerts and re-identification tasks, in emission order.
    `grown` holds the ids of those alerts that are a newer version of a finding emitted
    before (a growing large-value report), so counters count each finding once.
    `forwards` holds what is to be applied to another record next (a FUNDS_CYCLE path
    token, `monitor.core.network`), written with the alerts."""

    alerts: list[Alert] = field(default_factory=list)
    tasks: list[ReidTask] = field(default_factory=list)
    grown: list[str] = field(default_factory=list)
    forwards: list[Any] = field(default_factory=list)


@dataclass(slots=True)
class Context:
    """What a rule may use besides state and event. `detected_at` is supplied by the caller:
    the core never reads a clock."""

    pack: Pack
    detected_at: datetime
    day: date = date.min  # the event's local day in the pack's zone
    event_ms: int = 0  # the event's time, epoch milliseconds
    touched: frozenset[str] = frozenset()  # identity paths changed by this event
    #: (watched fields whose value changed, contradictions found) for openings and updates
    profile_meta: tuple[frozenset[str], tuple[str, ...]] | None = None
    branch: str | None = None  # the event's branch code, for queue routing
    day_iso: str = field(init=False)  # `day` as YYYY-MM-DD (keys, ISO date comparisons)
    #: currencies converted through the FX table for this event (the rates explanations show)
    fx_used: set[str] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.day_iso = self.day.isoformat()

    def _converted(self, currency: str, to: str) -> None:
        if self.fx_used is None:
            self.fx_used = set()
        self.fx_used.update((currency, to))

    def local_day(self, moment: datetime) -> date:
        return moment.astimezone(self.pack.tz).date()

    def at(self, event_ms: int) -> datetime:
        """Epoch milliseconds as a time in the pack's zone (explanations' evidence times)."""
        return datetime.fromtimestamp(event_ms / 1000, self.pack.tz)

    def side(
        self, threshold: Threshold | None, amount: Decimal, currency: str, day: date
    ) -> tuple[str, Decimal, Decimal]:
        """(comparison currency, amount in it, limit) for `amount` under `threshold` (which
        an enabled rule's config always has: `ThresholdRuleConfig` refuses it missing)."""
        if threshold is None:
            raise ConfigurationError("threshold is required when the rule is enabled")
        local, foreign = threshold.local, threshold.foreign
        if threshold.combine or currency == local.currency:
            if currency != local.currency:
                self._converted(currency, local.currency)
            converted = self.pack.fx.convert(amount, currency, local.currency, day)
            return local.currency, converted, local.amount
        if currency != foreign.currency:
            self._converted(currency, foreign.currency)
        return (
            foreign.currency,
            self.pack.fx.convert(amount, currency, foreign.currency, day),
            foreign.amount,
        )

    def reaches(
        self,
        threshold: Threshold | None,
        amount: Decimal,
        currency: str,
        day: date,
        inclusive: bool = True,
    ) -> bool:
        _, converted, limit = self.side(threshold, amount, currency, day)
        return converted >= limit if inclusive else converted > limit

    def threshold_figures(
        self, threshold: Threshold | None, amount: Decimal, currency: str
    ) -> dict[str, object]:
        """An explanation's figures for `amount` under `threshold` on the event's day: the
        compared amount, the limit, its currency and the distance to it."""
        side, compared, limit = self.side(threshold, amount, currency, self.day)
        return {
            "compared": compared,
            "threshold": limit,
            "threshold_currency": side,
            "distance": compared - limit,
        }

    def to_local(self, amount: Decimal, currency: str, day: date) -> Decimal:
        """`amount` in the FX table's base currency (CNY for cn-pboc)."""
        base = self.pack.fx.base
        if currency != base:
            self._converted(currency, base)
        return self.pack.fx.convert(amount, currency, base, day)

    def alert(
        self,
        rule_id: str,
        cfg: RuleConfig,
        customer_id: str,
        facts: tuple[object, ...],
        summary: str,
        event_time: datetime,
        *,
        amount: Decimal | None = None,
        currency: str | None = None,
        evidence: list[str] | None = None,
        window: tuple[datetime, datetime] | None = None,
        figures: Mapping[str, object] | None = None,
    ) -> Alert:
        """Build an alert whose id is derived from `rule_id`, the customer and `facts`, and
        its explanation: the pack version, `cfg` as parameters, the rule's `figures` (with
        the FX rates of the event's day when they name a currency) and the narrative."""
        local_time = event_time.astimezone(self.pack.tz)
        return Alert(
            alert_id=stable_id("alert", rule_id, customer_id, *facts),
            rule_id=rule_id,
            customer_id=customer_id,
            severity=cfg.severity,
            category=cfg.category,
            summary=summary,
            event_time=local_time,
            detected_at=self.detected_at,
            window_start=window[0] if window else None,
            window_end=window[1] if window else None,
            amount=amount,
            currency=currency,
            evidence=list(evidence or ()),
            report_due=self.pack.report_due(local_time.date(), cfg.category, rule_id),
            queue=self.pack.route(cfg.category, cfg.severity, rule_id, self.branch),
            explanation=explain(
                rule_id,
                cfg.model_dump(mode="json"),
                self._with_rates(figures or {}),
                summary,
                self.pack.version,
            ),
        )

    def txn_alert(
        self,
        rule_id: str,
        cfg: RuleConfig,
        event: CashTransaction | Remittance,
        summary: str,
        threshold: Threshold | None,
        figures: Mapping[str, object],
    ) -> Alert:
        """An alert on the one transaction `event` under `threshold`: its id derived from the
        txn id, the transaction's amount as the alert's and its txn id as the evidence, and
        figures naming the transaction and its distance to `threshold` besides `figures`."""
        amount, currency = event.amount, event.currency
        if amount is None or currency is None:
            raise ValueError(f"{rule_id}: an alert on a transaction needs its amount")
        return self.alert(
            rule_id,
            cfg,
            event.customer_id,
            (event.txn_id,),
            summary,
            event.occurred_at,
            amount=amount,
            currency=currency,
            evidence=[event.txn_id],
            figures={
                "txn_id": event.txn_id,
                "amount": amount,
                "currency": currency,
                **figures,
                **self.threshold_figures(threshold, amount, currency),
            },
        )

    def emit_with_task(
        self,
        out: Findings,
        alert: Alert,
        trigger: str,
        source_event_id: str,
        facts: tuple[object, ...] = (),
        *,
        keyed_by_event: bool = True,
    ) -> Alert:
        """Append `alert` to `out` with the re-identification task `trigger` that follows it
        up: for the alert's customer, due from the day of its event, its id from the trigger,
        the customer, `facts` and `source_event_id` unless `keyed_by_event` is false (see
        `task`). Returns `alert`."""
        out.alerts.append(alert)
        out.tasks.append(
            self.task(
                trigger,
                alert.customer_id,
                source_event_id,
                alert.event_time,
                [alert.alert_id],
                facts,
                keyed_by_event=keyed_by_event,
            )
        )
        return alert

    def _with_rates(self, figures: Mapping[str, object]) -> Mapping[str, object]:
        """`figures` plus `fx_rates` and `fx_date` when they name a currency other than the
        FX table's base or the event was converted: the rates of the event's day."""
        named = {v for k, v in figures.items() if k.endswith("currency") and isinstance(v, str)}
        if not named:
            return figures
        rates = fx_rates(self.pack.fx, named | (self.fx_used or set()), self.day)
        if not rates or "fx_rates" in figures:
            return figures
        return {**figures, "fx_rates": rates, "fx_date": self.day_iso}

    def task(
        self,
        trigger: str,
        customer_id: str,
        source_event_id: str,
        event_time: datetime,
        alert_ids: list[str],
        facts: tuple[object, ...] = (),
        *,
        keyed_by_event: bool = True,
    ) -> ReidTask:
        """A re-identification task with the pack's measures and working-day due date. Its id
        comes from the trigger, the customer, `facts` and (unless `keyed_by_event` is false,
        for findings that do not belong to one event) the source event id."""
        cfg = self.pack.config.tasks[trigger]
        day = self.local_day(event_time)
        key = (source_event_id, *facts) if keyed_by_event else facts
        return ReidTask(
            task_id=stable_id("task", trigger, customer_id, *key),
            customer_id=customer_id,
            trigger=trigger,
            measures=list(cfg.measures),
            due_by=self.pack.calendar.add_working_days(day, cfg.due_working_days),
            source_event_id=source_event_id,
            alert_ids=alert_ids,
        )


class Rule(Protocol):
    """A rule (or any stage the engine runs): reads the event and the customer's state, may
    update the state, and appends its findings. It never mutates its configuration and
    never does I/O.

    `rule_id` names it in the pack (`rules.<rule_id>`) and in alerts; `handles` lists the
    event types it runs on (empty: every event, see `monitor.core.rules.registry`). Every
    stage is built the same way, `cls(config, pack)`. A class also declares `default`, its
    config when the pack leaves it out (an instance of its config model; a ClassVar typed
    with that model, so not a member of this protocol: the registry checks it)."""

    rule_id: ClassVar[str]
    handles: ClassVar[tuple[type, ...]]

    def __init__(self, cfg: Any, pack: Pack) -> None: ...

    def apply(self, state: CustomerState, event: Any, ctx: Context, out: Findings) -> None: ...


def day_window(day: date, ctx: Context) -> tuple[datetime, datetime]:
    """[start, end) of the local `day` in the pack's zone."""
    return _day_window(day, ctx.pack.tz)


@functools.lru_cache(maxsize=4096)
def _day_window(day: date, tz: Any) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=tz)
    return start, datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)


@functools.lru_cache(maxsize=4096)
def window_end_ms(day: date, tz: Any) -> int:
    """Epoch milliseconds at the end of the local `day`."""
    return epoch_ms(_day_window(day, tz)[1])


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def fmt_money(amount: Decimal) -> str:
    return f"{amount.quantize(Decimal('0.01')):,}"
