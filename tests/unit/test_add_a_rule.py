"""CONTRIBUTING.md's "add a rule", step by step: a config model next to the rule, the rule
class, registering it, the pack default, events through the Engine.

The rule is registered in a copy of the registry (`REGISTRY.copy()`) and the pack is loaded
against that copy, so nothing leaks into `REGISTRY` or into other tests."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, ClassVar

import pytest
from pydantic import Field

from monitor.core.engine import Engine
from monitor.core.errors import ConfigurationError
from monitor.core.pack import pack_from_mapping
from monitor.core.rules.base import Context, Findings
from monitor.core.rules.config import Category, RuleConfig
from monitor.core.rules.registry import REGISTRY, Registry
from monitor.core.state import CustomerState
from schemas import CashTransaction

from .conftest import CONFIG_DIR, cash, raw_pack, run

if TYPE_CHECKING:
    from monitor.core.pack import Pack


# 1. the config model, next to the rule: what the pack may set, validated when it loads
class RoundCashConfig(RuleConfig):
    """Cash deposits that are an exact multiple of `multiple_of`, from `from_amount`."""

    category: Category = "suspicious"
    multiple_of: Decimal = Field(default=Decimal(10000), gt=0)
    from_amount: Decimal = Field(default=Decimal(20000), ge=0)


# 2. the rule class: rule_id, the event types it handles, its default config, the
#    constructor every stage has (config, pack) and `apply`
class RoundCash:
    """ROUND_CASH: a cash deposit of a round amount (example rule of CONTRIBUTING.md)."""

    rule_id: ClassVar[str] = "ROUND_CASH"
    handles: ClassVar[tuple[type, ...]] = (CashTransaction,)
    default: ClassVar[RoundCashConfig] = RoundCashConfig()

    def __init__(self, cfg: RoundCashConfig, pack: Pack) -> None:
        self.cfg = cfg

    def apply(
        self, state: CustomerState, event: CashTransaction, ctx: Context, out: Findings
    ) -> None:
        cfg = self.cfg
        if event.direction != "in" or event.amount < cfg.from_amount:
            return
        if event.amount % cfg.multiple_of:
            return
        out.alerts.append(
            ctx.alert(
                self.rule_id,
                cfg,
                event.customer_id,
                (event.txn_id,),
                f"cash deposit {event.txn_id} of a round {event.amount} {event.currency}",
                event.occurred_at,
                amount=event.amount,
                currency=event.currency,
                evidence=[event.txn_id],
            )
        )


# 3. registering it: in the project, one line in monitor/core/rules/registry.py; here in a
#    copy of the registry, so that the rule exists for this module's tests only
@pytest.fixture
def registry() -> Registry:
    registry = REGISTRY.copy()
    registry.register(RoundCash)
    return registry


# 4. the pack default: the class's `default` applies when the pack leaves the rule out; a
#    pack file sets it under rules.<RULE_ID> (config/cn-pboc.yaml in the project)
def load(registry: Registry, section: dict[str, object] | None = None) -> Pack:
    raw = raw_pack()
    if section is not None:
        raw["rules"]["ROUND_CASH"] = section
    return pack_from_mapping(raw, base_dir=CONFIG_DIR, registry=registry)


# 5. tests: events through the Engine, the finding asserted
def test_the_new_rule_fires_through_the_engine(registry: Registry) -> None:
    section = {"multiple_of": "5000", "from_amount": "10000", "severity": "high"}
    engine = Engine(load(registry, section))
    result = run(engine, [cash("15000", txn_id="T1"), cash("15001", txn_id="T2")])
    found = [a for a in result.alerts if a.rule_id == "ROUND_CASH"]
    assert [(a.evidence, a.severity, a.category, a.queue) for a in found] == [
        (["T1"], "high", "suspicious", "suspicious")
    ]
    assert found[0].amount == Decimal("15000")


def test_the_default_applies_when_the_pack_leaves_the_rule_out(registry: Registry) -> None:
    pack = load(registry)
    assert pack.config.rules.of("ROUND_CASH", RoundCashConfig) == RoundCash.default
    result = run(Engine(pack), [cash("15000"), cash("20000", txn_id="T3")])
    assert [a.evidence for a in result.alerts if a.rule_id == "ROUND_CASH"] == [["T3"]]


def test_the_new_rule_runs_after_the_registered_rules(registry: Registry) -> None:
    ids = [r.rule_id for r in Engine(load(registry)).rules]
    assert ids.index("ROUND_CASH") == ids.index("PROFILE_CHECKS") + 1
    assert ids[-1] == "RISK_RATING"


def test_its_config_is_validated_naming_the_field(registry: Registry) -> None:
    with pytest.raises(ConfigurationError, match=r"rules\.ROUND_CASH\.multiple_of: "):
        load(registry, {"multiple_of": 0})
    with pytest.raises(ConfigurationError, match=r"rules\.ROUND_CASH\.mutliple_of: unknown key"):
        load(registry, {"mutliple_of": 5000})


def test_switched_off_it_is_not_built(registry: Registry) -> None:
    ids = [r.rule_id for r in Engine(load(registry, {"enabled": False})).rules]
    assert "ROUND_CASH" not in ids


def test_routes_and_suppression_may_name_it(registry: Registry) -> None:
    raw = raw_pack()
    raw["routing"] = [{"match": {"rule_id": ["ROUND_CASH"]}, "queue": "round"}]
    pack = pack_from_mapping(raw, base_dir=CONFIG_DIR, registry=registry)
    result = run(Engine(pack), [cash("30000")])
    assert [a.queue for a in result.alerts if a.rule_id == "ROUND_CASH"] == ["round"]


def test_nothing_leaks_into_the_default_registry(registry: Registry) -> None:
    assert "ROUND_CASH" in registry
    assert "ROUND_CASH" not in REGISTRY
    raw = raw_pack()
    raw["rules"]["ROUND_CASH"] = {}
    with pytest.raises(ConfigurationError, match=r"rules\.ROUND_CASH: unknown key"):
        pack_from_mapping(raw, base_dir=CONFIG_DIR)


def test_a_rule_id_registers_once(registry: Registry) -> None:
    with pytest.raises(ValueError, match="ROUND_CASH is already registered"):
        registry.register(RoundCash)


def test_a_rule_without_a_default_config_is_refused(registry: Registry) -> None:
    class NoDefault(RoundCash):
        rule_id: ClassVar[str] = "NO_DEFAULT"
        default: ClassVar[object] = {"enabled": True}  # type: ignore[assignment]

    with pytest.raises(ValueError, match="NO_DEFAULT: `default` must be an instance"):
        registry.register(NoDefault)


def test_a_rule_handling_no_event_type_must_be_a_deadline_or_final_stage(
    registry: Registry,
) -> None:
    class Nowhere(RoundCash):
        rule_id: ClassVar[str] = "NOWHERE"
        handles: ClassVar[tuple[type, ...]] = ()

    with pytest.raises(ValueError, match="NOWHERE: a rule of phase 'rule' must handle"):
        registry.register(Nowhere)
    registry.register(Nowhere, phase="deadline")
    assert registry.phase("NOWHERE") == "deadline"
