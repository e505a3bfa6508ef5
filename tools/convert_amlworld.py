"""Convert IBM's AMLworld data set (IBM Transactions for Anti Money Laundering, CDLA-Sharing-1.0)
into this project's input files and a labels file for `monitor backtest`.

Input: a `*_Trans.csv` (Timestamp, From Bank, Account, To Bank, Account, Amount Received,
Receiving Currency, Amount Paid, Payment Currency, Payment Format, Is Laundering), its
`*_Patterns.txt` (blocks `BEGIN LAUNDERING ATTEMPT - <TYPOLOGY>[: detail]` ... `END
LAUNDERING ATTEMPT - <TYPOLOGY>` of transaction lines in the same columns) and optionally its
`*_accounts.csv` (Bank Name, Bank ID, Account Number, Entity ID, Entity Name).

Output, in `--out`: `kyc.account-openings.jsonl` (one customer per account, opened a day
before the first transaction), `txn.cash.jsonl` (Payment Format `Cash`), `txn.transfers.jsonl`
(every other format), each transaction once per side held by a customer (the payer's `out`,
the payee's `in`), and `labels.jsonl`: one line per (customer, typology) for every account
in a laundering transaction, typology from the patterns file (lower case, `-` as `_`) or
`unattributed` when the patterns file does not list it. Labels carry no `expected_rules`:
AMLworld's typologies are not this project's rule ids.

    python tools/convert_amlworld.py --transactions HI-Small_Trans.csv \\
        --patterns HI-Small_Patterns.txt --accounts HI-Small_accounts.csv --out amlworld/
"""

from __future__ import annotations

import argparse
import csv
import logging
import sys
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import orjson

from monitor.core.errors import MonitorError

__all__ = ["CURRENCIES", "IDENTITY_RULES", "convert", "main", "read_patterns", "write_pack"]

logger = logging.getLogger(__name__)

#: AMLworld currency names -> ISO 4217 (Bitcoin has none: its rows are skipped and counted)
CURRENCIES = {
    "US Dollar": "USD",
    "Euro": "EUR",
    "Yuan": "CNY",
    "Yen": "JPY",
    "UK Pound": "GBP",
    "Rupee": "INR",
    "Ruble": "RUB",
    "Canadian Dollar": "CAD",
    "Australian Dollar": "AUD",
    "Swiss Franc": "CHF",
    "Mexican Peso": "MXN",
    "Brazil Real": "BRL",
    "Saudi Riyal": "SAR",
    "Shekel": "ILS",
}

_ENTITY_PREFIXES = ("Corporation", "Partnership")

#: rules that judge identity data, which AMLworld does not have: on, they alert on everyone
IDENTITY_RULES = (
    "KYC_INCOMPLETE",
    "KYC_ID_EXPIRED",
    "KYC_BENEFICIAL_OWNER",
    "CDD_ONE_OFF",
    "CDD_AGENT",
    "WATCHLIST_MATCH",
)
PACK_FILE = "amlworld-pack.yaml"

#: (from bank, from account, to bank, to account, timestamp, amount paid) -> typology
Key = tuple[str, str, str, str, str, str]


def _bank(text: str) -> str:
    """A bank id without its zero padding (the patterns file pads, some CSV readers do not)."""
    return text.strip().lstrip("0") or "0"


def _key(row: list[str]) -> Key:
    amount = str(Decimal(row[7].strip()).normalize())  # one spelling of an amount
    return (_bank(row[1]), row[2].strip(), _bank(row[3]), row[4].strip(), row[0].strip(), amount)


def _time(text: str) -> datetime:
    return datetime.strptime(text.strip(), "%Y/%m/%d %H:%M").replace(tzinfo=UTC)


def _customer(bank: str, account: str) -> str:
    return f"{bank}-{account}"


def read_patterns(path: Path) -> dict[Key, str]:
    """Each laundering transaction of a patterns file -> its typology (`fan_out`, `cycle`)."""
    typology_of: dict[Key, str] = {}
    current: str | None = None
    with path.open(newline="", encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            text = line.strip()
            if text.startswith("BEGIN LAUNDERING ATTEMPT"):
                name = text.partition(" - ")[2].split(":", 1)[0].strip()
                current = name.lower().replace("-", "_").replace(" ", "_") or "unattributed"
            elif text.startswith("END LAUNDERING ATTEMPT"):
                current = None
            elif text:
                if current is None:
                    raise ValueError(f"{path}:{number}: a transaction outside a BEGIN/END block")
                row = next(csv.reader([text]))
                if len(row) < 11:
                    raise ValueError(f"{path}:{number}: expected 11 columns, got {len(row)}")
                typology_of[_key(row)] = current
    return typology_of


def read_entities(path: Path) -> set[str]:
    """The customer ids of the accounts whose entity is a corporation or partnership."""
    entities = set()
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row.get("Entity Name", "").startswith(_ENTITY_PREFIXES):
                entities.add(_customer(_bank(row["Bank ID"]), row["Account Number"].strip()))
    return entities


def _rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None or len(header) < 11 or header[0].strip() != "Timestamp":
            raise ValueError(f"{path}:1: expected the AMLworld header (Timestamp, From Bank, ...)")
        for number, row in enumerate(reader, 2):
            if not row:
                continue
            if len(row) < 11:
                raise ValueError(f"{path}:{number}: expected 11 columns, got {len(row)}")
            yield number, row


def _event(
    side: str, n: int, row: list[str], customer: str, other: tuple[str, str], cash: bool
) -> dict[str, Any]:
    out = side == "out"
    amount, currency = (row[7], row[8]) if out else (row[5], row[6])
    event: dict[str, Any] = {
        "event_id": f"aw-{n}-{side}",
        "txn_id": f"aw-{n}",
        "customer_id": customer,
        "account_id": customer.partition("-")[2],
        "occurred_at": _time(row[0]).isoformat(),
        "direction": side,
        "amount": amount.strip(),
        "currency": CURRENCIES[currency.strip()],
    }
    if not cash:
        event["counterparty"] = {
            "account_number": other[1],
            "bank_code": other[0],
            "customer_id": _customer(*other),
        }
        event["channel"] = row[9].strip().lower().replace(" ", "_")
    return event


def convert(
    transactions: Path,
    patterns: Path | None,
    out: Path,
    accounts: Path | None = None,
    banks: set[str] | None = None,
) -> dict[str, int]:
    """Write the input files and labels into `out`; return counts. With `banks`, only the
    accounts of those bank ids are customers (the view of one bank); otherwise every
    account is."""
    typology_of = read_patterns(patterns) if patterns else {}
    entities = read_entities(accounts) if accounts else set()
    banks = {_bank(b) for b in banks} if banks else None
    out.mkdir(parents=True, exist_ok=True)
    first: dict[str, datetime] = {}
    labels: dict[tuple[str, str], int] = defaultdict(int)
    counts = {"transactions": 0, "cash": 0, "transfers": 0, "skipped_currency": 0}
    files: dict[str, IO[bytes]] = {
        "cash": (out / "txn.cash.jsonl").open("wb"),
        "transfers": (out / "txn.transfers.jsonl").open("wb"),
    }
    try:
        for n, row in _rows(transactions):
            counts["transactions"] += 1
            if row[6].strip() not in CURRENCIES or row[8].strip() not in CURRENCIES:
                counts["skipped_currency"] += 1
                continue
            payer = (_bank(row[1]), row[2].strip())
            payee = (_bank(row[3]), row[4].strip())
            cash = row[9].strip() == "Cash"
            kind = "cash" if cash else "transfers"
            laundering = row[10].strip() == "1"
            typology = typology_of.get(_key(row), "unattributed")
            when = _time(row[0])
            for side, mine, other in (("out", payer, payee), ("in", payee, payer)):
                if banks is not None and mine[0] not in banks:
                    continue
                customer = _customer(*mine)
                if customer not in first or when < first[customer]:
                    first[customer] = when
                event = _event(side, n, row, customer, other, cash)
                files[kind].write(orjson.dumps(event) + b"\n")
                counts[kind] += 1
                if laundering:
                    labels[(customer, typology)] += 1
    finally:
        for handle in files.values():
            handle.close()
    opened = min(first.values(), default=datetime(2022, 9, 1, tzinfo=UTC)) - timedelta(days=1)
    with (out / "kyc.account-openings.jsonl").open("wb") as handle:
        for customer in sorted(first):
            handle.write(
                orjson.dumps(
                    {
                        "event_id": f"aw-open-{customer}",
                        "customer_id": customer,
                        "account_id": customer.partition("-")[2],
                        "opened_at": opened.isoformat(),
                        "customer_type": "entity" if customer in entities else "individual",
                    }
                )
                + b"\n"
            )
    with (out / "labels.jsonl").open("wb") as handle:
        for (customer, typology), transactions_n in sorted(labels.items()):
            handle.write(
                orjson.dumps(
                    {
                        "customer_id": customer,
                        "typology": typology,
                        "source": "AMLworld",
                        "laundering_transactions": transactions_n,
                    }
                )
                + b"\n"
            )
    counts["customers"] = len(first)
    counts["labels"] = len(labels)
    return counts


def write_pack(out: Path, base: Path | None = None, name: str = "amlworld") -> Path:
    """`out/<name>-pack.yaml` (pack `<base pack>-<name>`): the default pack (or `base`) with
    the identity rules off and its FX table and calendar named by absolute path; validated
    by loading it."""
    import yaml

    from monitor.core.pack import DEFAULT_PACK, load_pack

    base = base or DEFAULT_PACK
    raw = yaml.safe_load(base.read_text(encoding="utf-8"))
    raw["pack"] = f"{raw['pack']}-{name}"
    for key in ("fx_table", "calendar"):
        if raw.get(key):
            raw[key] = str((base.parent / raw[key]).resolve())
    rules = raw.setdefault("rules", {})
    for rule_id in IDENTITY_RULES:
        rules[rule_id] = {**(rules.get(rule_id) or {}), "enabled": False}
    path = out / f"{name}-pack.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), encoding="utf-8")
    load_pack(path)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transactions", type=Path, required=True, help="*_Trans.csv")
    parser.add_argument("--patterns", type=Path, default=None, help="*_Patterns.txt")
    parser.add_argument("--accounts", type=Path, default=None, help="*_accounts.csv")
    parser.add_argument("--bank", action="append", default=None, help="only this bank's accounts")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--base-pack", type=Path, default=None, help=f"the pack {PACK_FILE} starts from"
    )
    args = parser.parse_args(argv)
    try:
        counts = convert(args.transactions, args.patterns, args.out, args.accounts, args.bank)
        pack = write_pack(args.out, args.base_pack)
    except (OSError, ValueError, KeyError, MonitorError) as exc:
        print(f"convert_amlworld: {exc}", file=sys.stderr)
        return 2
    print(", ".join(f"{k} {v:,}" for k, v in counts.items()))
    print(f"pack without the identity rules: {pack}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
