"""Report records: the PBoC 2016 No.3 document and FinCEN's CTRX and SARX batches, each batch
checked against FinCEN's published schema."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import xmlschema

from monitor.casework.reports import build_record
from monitor.casework.reports.fincen import PLACEHOLDER, validate
from monitor.casework.workflow import Case
from tests.casework_samples import alert, large_value

AT = datetime(2026, 3, 6, 2, 0, tzinfo=UTC)
NARRATIVE = "Four cash deposits just under the threshold in six days; no business reason given."


def _case(*alerts: dict, narrative: str = NARRATIVE, **proposal: object) -> Case:
    return Case(
        case_id="C-1",
        customer_id=alerts[0]["customer_id"],
        status="approved",
        alerts={a["alert_id"]: a for a in alerts},
        proposal={"disposition": "report", "narrative": narrative, "user": "ana", **proposal},
        approval={"user": "rita"},
    )


def _us(a: dict, queue: str) -> dict:
    return a | {"currency": "USD", "queue": queue, "account_id": "ACC-77"}


@pytest.fixture(autouse=True)
def _institution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITOR_INSTITUTION_NAME", "Example Bank")
    monkeypatch.setenv("MONITOR_INSTITUTION_CODE", "123456789")
    monkeypatch.delenv("MONITOR_REPORT_FORMAT", raising=False)


def test_pboc_large_value_record_has_the_elements_and_names_what_is_missing() -> None:
    record = build_record(_case(large_value(1)), AT)
    assert record["format"] == "pboc-2016-3/1" and record["report_type"] == "large_value"
    assert record["report_id"].startswith("R-")
    assert record["reporting_institution"] == {
        "name": "Example Bank",
        "code": "123456789",
        "branches": ["BJ002"],
    }
    (txn,) = record["transactions"]
    assert (txn["txn_id"], txn["amount"], txn["currency"]) == ("T-1-1", "80000.00", "CNY")
    assert txn["time"] == "2026-03-05T10:00:00+08:00"
    assert "suspicion" not in record
    missing = record["missing_elements"]
    assert "customer.id_number" in missing and "customer.accounts" in missing
    assert {"transactions[T-1-1].direction", "transactions[T-1-1].channel"} <= set(missing)
    assert "transactions[T-1-1].amount" not in missing


def test_pboc_suspicious_record_carries_the_description_and_measures() -> None:
    rich = alert(2, account_id="ACC-1")
    rich["explanation"] = rich["explanation"] | {
        "figures": {
            "direction": "in",
            "channel": "counter",
            "transactions": [
                {"txn_id": "T-2-1", "amount": "45000.00", "time": "2026-02-28T09:00:00+08:00"}
            ],
        }
    }
    record = build_record(_case(rich, measures=["account restricted"]), AT)
    assert record["report_type"] == "suspicious"
    assert record["suspicion"] == {
        "description": NARRATIVE,
        "measures_taken": ["account restricted"],
    }
    rows = {r["txn_id"]: r for r in record["transactions"]}
    assert rows["T-2-1"]["amount"] == "45000.00" and rows["T-2-1"]["channel"] == "counter"
    assert rows["T-2-2"]["amount"] is None  # an alert's total is no one transaction's amount
    assert "transactions[T-2-2].amount" in record["missing_elements"]
    assert "transactions[T-2-1].amount" not in record["missing_elements"]
    assert record["customer"]["accounts"] == ["ACC-1"]
    bare = build_record(_case(alert(3)), AT)
    assert "suspicion.measures_taken" in bare["missing_elements"]


def test_fincen_ctrx_for_large_value_cash_under_us_bsa_is_schema_valid() -> None:
    record = build_record(_case(_us(large_value(4), "ctr"), _us(large_value(5), "ctr")), AT)
    assert record["format"] == "fincen-ctrx/1" and record["schema_errors"] == []
    xml = record["xml"]
    assert "<FormTypeCode>CTRX</FormTypeCode>" in xml
    assert "<TotalCashOutAmountText>160000</TotalCashOutAmountText>" in xml  # withdrawals
    assert "<AccountNumberText>ACC-77</AccountNumberText>" in xml
    assert "<RawPartyFullName>Example Bank</RawPartyFullName>" in xml
    placeholders = {p["element"] for p in record["placeholders"]}
    assert "person involved/RawPartyFullName" in placeholders
    assert xml.count(f">{PLACEHOLDER}<") == len(record["placeholders"])
    assert "person involved TIN" in record["missing_elements"]


def test_fincen_sarx_for_suspicious_under_us_bsa_is_schema_valid() -> None:
    record = build_record(_case(_us(alert(6), "sar-review")), AT)
    assert record["format"] == "fincen-sarx/1" and record["schema_errors"] == []
    xml = record["xml"]
    assert f"<ActivityNarrativeText>{NARRATIVE}</ActivityNarrativeText>" in xml
    assert "<SuspiciousActivityTypeID>1</SuspiciousActivityTypeID>" in xml  # structuring
    assert "<SuspiciousActivityFromDateText>20260228</SuspiciousActivityFromDateText>" in xml
    assert record["placeholders"] == []  # every SARX element lacking a value is optional
    assert "subject/PartyName" in record["missing_elements"]


def test_a_broken_element_fails_the_schema() -> None:
    record = build_record(_case(_us(alert(7), "sar-review")), AT)
    broken = record["xml"].replace("<SuspiciousActivityTypeID>1<", "<SuspiciousActivityTypeID>77<")
    assert list(validate(record["xml"], "SARX")) == []
    assert any("SuspiciousActivityTypeID" in e for e in validate(broken, "SARX"))
    ctr = build_record(_case(_us(large_value(8), "ctr")), AT)["xml"]
    with pytest.raises(xmlschema.XMLSchemaValidationError):
        from monitor.casework.reports.fincen import _schema

        _schema("CTRX").validate(ctr.replace("<FilingDateText>", "<FilingDateText>x"))


def test_the_format_setting_overrides_the_pack() -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MONITOR_REPORT_FORMAT", "fincen")
        assert build_record(_case(large_value(9)), AT)["form"] == "CTRX"
        mp.setenv("MONITOR_REPORT_FORMAT", "pboc")
        assert "xml" not in build_record(_case(_us(large_value(9), "ctr")), AT)
