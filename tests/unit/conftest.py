"""Fixtures and builders for the unit tests of the rule core.

Events are built as the pydantic models the decoder produces (`schemas.*`), from
JSON-like dicts (timestamps and amounts as strings), with sensible, complete defaults.
Every builder takes keyword overrides; `None` removes a field.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from monitor.core.engine import Engine, Outcome
from monitor.core.pack import DEFAULT_PACK, Pack, pack_from_mapping
from monitor.core.state import CustomerState
from schemas import (
    AccountOpening,
    Alert,
    CashTransaction,
    CustomerUpdate,
    ReidTask,
    Remittance,
    Transfer,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
CONFIG_DIR: Path = DEFAULT_PACK.parent

#: stamped on every alert by `run`; never influences a decision
DETECTED_AT = datetime(2026, 4, 1, 12, 0, 0, tzinfo=UTC)

#: identity values used by the default openings and remittances (tests assert they never leak)
PERSON_NAME = "Zhang Wei"
PERSON_ID_NUMBER = "110101199003077774"  # valid PRC resident id (male, born 1990-03-07)
PERSON_PHONE = "+86 138 0013 8000"
PERSON_ADDRESS = "1 Jianguomenwai Avenue, Chaoyang, Beijing"
LEGAL_REP_NAME = "Li Na"
LEGAL_REP_ID_NUMBER = "310101198512120040"  # valid PRC resident id (female)
ORIGINATOR_NAME = "Wang Fang"
ORIGINATOR_ACCOUNT = "6222020200112233445"
ORIGINATOR_ID_NUMBER = "440301197812250010"
BENEFICIARY_NAME = "John Smith"
BENEFICIARY_ACCOUNT = "GB33BUKB20201555555555"

_ids = itertools.count(1)

#: the watch list of the default pack, written by someone else; tests that load the
#: default pack file as it is (`load_pack()`) need it
WATCHLIST_FILE = CONFIG_DIR / "watchlists" / "sample.yaml"
needs_watchlist = pytest.mark.skipif(
    not WATCHLIST_FILE.is_file(), reason=f"{WATCHLIST_FILE} does not exist yet"
)

# --------------------------------------------------------------------------- packs

_RAW_FILES: dict[str, dict[str, Any]] = {}


def raw_pack(file: str = "cn-pboc.yaml") -> dict[str, Any]:
    """A fresh, mutable copy of `config/<file>` as a mapping, with WATCHLIST_MATCH switched
    off (its list file is not part of these tests)."""
    if file not in _RAW_FILES:
        _RAW_FILES[file] = yaml.safe_load((CONFIG_DIR / file).read_text(encoding="utf-8"))
    raw = copy.deepcopy(_RAW_FILES[file])
    raw.setdefault("rules", {}).setdefault("WATCHLIST_MATCH", {})["enabled"] = False
    return raw


def set_path(raw: dict[str, Any], dotted: str, value: object) -> dict[str, Any]:
    """Set `raw[a][b][c] = value` for `dotted` = "a.b.c", creating mappings on the way."""
    *parents, leaf = dotted.split(".")
    node = raw
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value
    return raw


def make_pack(overrides: Mapping[str, object] | None = None, *, file: str = "cn-pboc.yaml") -> Pack:
    """A pack built from `config/<file>` (WATCHLIST_MATCH off) with dotted-path overrides,
    e.g. `make_pack({"rules.LV_CASH.threshold.local.amount": "30000"})`."""
    raw = raw_pack(file)
    for dotted, value in (overrides or {}).items():
        set_path(raw, dotted, value)
    return pack_from_mapping(raw, base_dir=CONFIG_DIR)


def make_engine(
    overrides: Mapping[str, object] | None = None, *, file: str = "cn-pboc.yaml"
) -> Engine:
    return Engine(make_pack(overrides, file=file))


# --------------------------------------------------------------------------- identities

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def prc_id(first17: str) -> str:
    """An 18-character PRC resident identity number: `first17` plus its ISO 7064 MOD 11-2
    check character."""
    assert len(first17) == 17 and first17.isdigit()
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return first17 + _ID_CHECK[total % 11]


def bad_check_digit(number: str) -> str:
    """`number` with a wrong check character."""
    right = number[17]
    wrong = "0" if right != "0" else "1"
    return number[:17] + wrong


def _next_id(prefix: str) -> str:
    return f"{prefix}-{next(_ids):05d}"


def _merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    data = dict(base)
    for key, value in overrides.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def without(data: dict[str, Any], dotted: str) -> dict[str, Any]:
    """A deep copy of `data` without the field at the dotted path (e.g. `id_document.type`)."""
    import copy

    result = copy.deepcopy(data)
    *parents, leaf = dotted.split(".")
    node = result
    for part in parents:
        node = node[part]
    node.pop(leaf)
    return result


# --------------------------------------------------------------------------- builders


def cash(
    amount: str | int = "1000.00",
    *,
    currency: str = "CNY",
    direction: str = "in",
    at: str = "2026-03-02T10:00:00+08:00",
    customer_id: str = "C001",
    txn_id: str | None = None,
    event_id: str | None = None,
    **overrides: Any,
) -> CashTransaction:
    txn_id = txn_id or _next_id("TXN")
    data = {
        "event_id": event_id or f"evt-{txn_id}",
        "txn_id": txn_id,
        "customer_id": customer_id,
        "account_id": f"ACC-{customer_id}",
        "occurred_at": at,
        "direction": direction,
        "amount": str(amount),
        "currency": currency,
        "service": "deposit" if direction == "in" else "withdrawal",
        "conductor": None,
        "branch_code": "BJ001",
    }
    return CashTransaction.model_validate(_merge(data, overrides))


def complete_originator() -> dict[str, Any]:
    return {
        "name": ORIGINATOR_NAME,
        "account_number": ORIGINATOR_ACCOUNT,
        "address": "88 Century Avenue, Pudong, Shanghai",
        "id_number": ORIGINATOR_ID_NUMBER,
        "contact": "+86 139 1234 5678",
        "country": "CN",
    }


def complete_beneficiary() -> dict[str, Any]:
    return {
        "name": BENEFICIARY_NAME,
        "account_number": BENEFICIARY_ACCOUNT,
        "address": "10 Downing Street, London",
        "country": "GB",
    }


def remittance(
    amount: str | int | None = "20000.00",
    *,
    currency: str | None = "CNY",
    direction: str = "out",
    kind: str = "payment",
    at: str = "2026-03-02T10:00:00+08:00",
    customer_id: str = "C001",
    txn_id: str | None = None,
    event_id: str | None = None,
    originator: dict[str, Any] | None = None,
    beneficiary: dict[str, Any] | None = None,
    reference: str | None = "REF-20260302-0001",
    **overrides: Any,
) -> Remittance:
    """A complete cross-border remittance; `originator`/`beneficiary` override single keys
    of the complete party (a key set to None is removed)."""
    txn_id = txn_id or _next_id("RMT")
    data: dict[str, Any] = {
        "event_id": event_id or f"evt-{txn_id}",
        "txn_id": txn_id,
        "kind": kind,
        "customer_id": customer_id,
        "occurred_at": at,
        "direction": direction,
        "amount": None if amount is None else str(amount),
        "currency": currency,
        "originator": _merge(complete_originator(), originator or {}),
        "beneficiary": _merge(complete_beneficiary(), beneficiary or {}),
        "reference": reference,
        "source_of_funds": "salary",
        "counterparty_country": "GB" if direction == "out" else "CN",
    }
    return Remittance.model_validate(_merge(data, overrides))


def transfer(
    amount: str | int = "10000.00",
    *,
    currency: str = "CNY",
    direction: str = "in",
    at: str = "2026-03-02T10:00:00+08:00",
    customer_id: str = "C001",
    txn_id: str | None = None,
    event_id: str | None = None,
    counterparty: str | None = "6217000000000001",
    counterparty_customer: str | None = None,
    **overrides: Any,
) -> Transfer:
    """A domestic transfer with the counterparty account `counterparty` (its name is
    derived from it; `counterparty_customer` is the counterparty's customer id, if ours)."""
    txn_id = txn_id or _next_id("TRF")
    data: dict[str, Any] = {
        "event_id": event_id or f"evt-{txn_id}",
        "txn_id": txn_id,
        "customer_id": customer_id,
        "account_id": f"ACC-{customer_id}",
        "occurred_at": at,
        "direction": direction,
        "amount": str(amount),
        "currency": currency,
        "counterparty": {
            "name": f"Party {counterparty}",
            "account_number": counterparty,
            "bank_code": "102100099996",
            "customer_id": counterparty_customer,
        },
        "channel": "online",
        "purpose": None,
        "source_of_funds": None,
    }
    return Transfer.model_validate(_merge(data, overrides))


def individual_opening_data(
    *, customer_id: str = "C001", at: str = "2026-03-02T10:00:00+08:00", event_id: str | None = None
) -> dict[str, Any]:
    return {
        "event_id": event_id or _next_id("evt-open"),
        "customer_id": customer_id,
        "account_id": f"ACC-{customer_id}",
        "opened_at": at,
        "customer_type": "individual",
        "name": PERSON_NAME,
        "gender": "M",
        "nationality": "CN",
        "occupation": "engineer",
        "address": PERSON_ADDRESS,
        "phone": PERSON_PHONE,
        "id_document": {
            "type": "resident_id",
            "number": PERSON_ID_NUMBER,
            "expires_on": "2035-01-01",
        },
        "declared_annual_income": "300000",
        "income_currency": "CNY",
        "is_pep": False,
        "beneficial_owners": [],
        "agent": None,
        "branch_code": "BJ001",
    }


def entity_opening_data(
    *, customer_id: str = "E001", at: str = "2026-03-02T10:00:00+08:00", event_id: str | None = None
) -> dict[str, Any]:
    return {
        "event_id": event_id or _next_id("evt-open"),
        "customer_id": customer_id,
        "account_id": f"ACC-{customer_id}",
        "opened_at": at,
        "customer_type": "entity",
        "name": "Beijing Example Trading Co., Ltd.",
        "address": "5 Financial Street, Xicheng, Beijing",
        "registration_number": "91110000100000000X",
        "business_scope": "wholesale of electronic components",
        "registered_capital": "10000000",
        "legal_representative": {
            "name": LEGAL_REP_NAME,
            "id_document": {
                "type": "resident_id",
                "number": LEGAL_REP_ID_NUMBER,
                "expires_on": None,
            },
        },
        "beneficial_owners": [
            {
                "name": LEGAL_REP_NAME,
                "ownership_pct": "60",
                "id_document": {"type": "resident_id", "number": LEGAL_REP_ID_NUMBER},
            }
        ],
        "is_pep": False,
        "branch_code": "BJ001",
    }


def opening(data: dict[str, Any] | None = None, **overrides: Any) -> AccountOpening:
    """An account opening from `data` (default: a complete individual), with overrides."""
    base = data if data is not None else individual_opening_data()
    return AccountOpening.model_validate(_merge(base, overrides))


def update(
    changes: dict[str, Any],
    *,
    customer_id: str = "C001",
    at: str = "2026-03-09T10:00:00+08:00",
    event_id: str | None = None,
) -> CustomerUpdate:
    return CustomerUpdate.model_validate(
        {
            "event_id": event_id or _next_id("evt-upd"),
            "customer_id": customer_id,
            "updated_at": at,
            "changes": changes,
        }
    )


# --------------------------------------------------------------------------- running


@dataclass
class RunResult:
    """Everything a sequence of events produced, in emission order."""

    alerts: list[Alert] = field(default_factory=list)
    tasks: list[ReidTask] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    states: dict[str, CustomerState] = field(default_factory=dict)

    def by_rule(self, rule_id: str) -> list[Alert]:
        return [a for a in self.alerts if a.rule_id == rule_id]


def run(
    engine: Engine,
    events: Iterable[Any],
    *,
    detected_at: datetime = DETECTED_AT,
    states: dict[str, CustomerState] | None = None,
) -> RunResult:
    """Feed `events` in order, keeping one CustomerState per customer (optionally continuing
    from `states`); return all alerts and tasks."""
    result = RunResult(states=states if states is not None else {})
    for event in events:
        outcome = engine.process(result.states.get(event.customer_id), event, detected_at)
        result.states[event.customer_id] = outcome.state
        result.outcomes.append(outcome)
        result.alerts.extend(outcome.findings.alerts)
        result.tasks.extend(outcome.findings.tasks)
    return result


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def pack() -> Pack:
    """The default rule pack (config/cn-pboc.yaml, WATCHLIST_MATCH off), fresh for each test."""
    return make_pack()


@pytest.fixture
def us_pack() -> Pack:
    """config/us-bsa.yaml, WATCHLIST_MATCH off."""
    return make_pack(file="us-bsa.yaml")


@pytest.fixture
def engine(pack: Pack) -> Engine:
    return Engine(pack)
