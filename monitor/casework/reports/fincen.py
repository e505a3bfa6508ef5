"""FinCEN CTR and SAR XML batch files of a us-bsa case, checked against FinCEN's schemas."""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["PLACEHOLDER", "Institution", "ctrx", "sarx", "validate"]

logger = logging.getLogger(__name__)

NS = "www.fincen.gov/base"
#: the value of a required element the case cannot fill; a filer replaces it before submission
PLACEHOLDER = "MISSING"
_PLACEHOLDER_TIN = "000000000"

Institution = dict[str, str]  # name, code (EIN), branch


class _Doc:
    """A batch being written: SeqNum counter and the list of placeholders used."""

    def __init__(self, form: str) -> None:
        ET.register_namespace("", NS)
        self.root = ET.Element(f"{{{NS}}}EFilingBatchXML")
        self._seq = 0
        self.missing: list[dict[str, str | None]] = []
        self.sub(self.root, "FormTypeCode", form)

    def seq(self) -> str:
        self._seq += 1
        return str(self._seq)

    def sub(
        self, parent: ET.Element, tag: str, text: str | None = None, seq: bool = False
    ) -> ET.Element:
        el = ET.SubElement(parent, f"{{{NS}}}{tag}")
        if text is not None:
            el.text = text
        if seq:
            el.set("SeqNum", self.seq())
        return el

    def value(
        self, parent: ET.Element, tag: str, value: str | None, where: str, fill: str = PLACEHOLDER
    ) -> None:
        """A required element: `value`, or the placeholder `fill` recorded as missing."""
        if not value:
            self.missing.append({"element": f"{where}/{tag}", "placeholder": fill})
            value = fill
        self.sub(parent, tag, value)

    def want(self, what: str) -> None:
        """An element FinCEN's filing instructions ask for, optional in the schema, left out."""
        self.missing.append({"element": what, "placeholder": None})

    def text(self) -> str:
        ET.indent(self.root)
        body = ET.tostring(self.root, encoding="unicode")
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def _whole_dollars(amount: Any) -> int:
    try:
        return int(Decimal(str(amount)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    except (InvalidOperation, ValueError):
        return 0


def _yyyymmdd(iso: Any) -> str:
    text = str(iso or "")
    return text[:10].replace("-", "") if len(text) >= 10 else ""


def _party(doc: _Doc, activity: ET.Element, code: str) -> ET.Element:
    party = doc.sub(activity, "Party", seq=True)
    doc.sub(party, "ActivityPartyTypeCode", code)
    return party


def _name(doc: _Doc, party: ET.Element, full: str | None, where: str, required: bool) -> None:
    """A legal name; a placeholder only where the schema requires the PartyName (CTRX)."""
    if not full and not required:
        doc.want(f"{where}/PartyName")
        return
    name = doc.sub(party, "PartyName", seq=True)
    doc.sub(name, "PartyNameTypeCode", "L")
    doc.value(name, "RawPartyFullName", full, where)


def _address(doc: _Doc, where: str) -> None:
    doc.want(f"{where}/Address")


def _ident(doc: _Doc, party: ET.Element, number: str | None, type_code: str, where: str) -> None:
    """A party identification (optional in both schemas): left out, and wanted, when unknown."""
    if not number:
        doc.want(where)
        return
    ident = doc.sub(party, "PartyIdentification", seq=True)
    doc.sub(ident, "PartyIdentificationNumberText", number)
    doc.sub(ident, "PartyIdentificationTypeCode", type_code)


def _institution_parties(doc: _Doc, activity: ET.Element, inst: Institution, ctr: bool) -> None:
    """Transmitter (35), transmitter contact (37), filer (30), contact office (8)."""
    transmitter = _party(doc, activity, "35")
    _name(doc, transmitter, inst.get("name"), "transmitter", ctr)
    _address(doc, "transmitter")
    doc.want("transmitter/PhoneNumber")
    _ident(doc, transmitter, inst.get("code"), "4", "transmitter TIN")
    _ident(doc, transmitter, None, "28", "transmitter control code (TCC)")
    contact = _party(doc, activity, "37")
    _name(doc, contact, None, "transmitter contact", ctr)
    filer = _party(doc, activity, "30")
    doc.want("filer/PrimaryRegulatorTypeCode")
    _name(doc, filer, inst.get("name"), "filer", ctr)
    _address(doc, "filer")
    _ident(doc, filer, inst.get("code"), "2", "filer EIN")
    doc.want("filer/OrganizationClassificationTypeSubtype")
    office = _party(doc, activity, "8")
    _name(doc, office, None, "contact office", ctr)
    doc.want("contact office/PhoneNumber")


def ctrx(case: Any, inst: Institution, filing_date: str) -> tuple[str, list[dict[str, str | None]]]:
    """The CTRX batch of a large-value cash case, and the placeholders it carries."""
    alerts = sorted(case.alerts.values(), key=lambda a: str(a.get("event_time", "")))
    doc = _Doc("CTRX")
    cash_in = sum(_whole_dollars(a.get("amount")) for a in alerts if _direction(a) != "out")
    cash_out = sum(_whole_dollars(a.get("amount")) for a in alerts if _direction(a) == "out")
    activity = doc.sub(doc.root, "Activity", seq=True)
    doc.sub(activity, "FilingDateText", filing_date)
    assoc = doc.sub(activity, "ActivityAssociation", seq=True)
    for tag in ("CorrectsAmendsPriorReportIndicator", "FinCENDirectBackFileIndicator"):
        doc.sub(assoc, tag, "")
    doc.sub(assoc, "InitialReportIndicator", "Y")
    _institution_parties(doc, activity, inst, ctr=True)
    location = _party(doc, activity, "34")
    doc.sub(location, "IndividualEntityCashInAmountText", str(cash_in) if cash_in else "")
    doc.sub(location, "IndividualEntityCashOutAmountText", str(cash_out) if cash_out else "")
    doc.want("transaction location/PrimaryRegulatorTypeCode")
    _name(doc, location, inst.get("name"), "transaction location", True)
    _address(doc, "transaction location")
    _ident(doc, location, inst.get("code"), "2", "transaction location EIN")
    doc.want("transaction location/OrganizationClassificationTypeSubtype")
    person = _party(doc, activity, "50")
    doc.sub(person, "IndividualEntityCashInAmountText", str(cash_in) if cash_in else "")
    doc.sub(person, "IndividualEntityCashOutAmountText", str(cash_out) if cash_out else "")
    _name(doc, person, None, "person involved", True)
    _address(doc, "person involved")
    _ident(doc, person, None, "1", "person involved TIN")
    for account in _accounts(alerts):
        acc = doc.sub(person, "Account", seq=True)
        doc.sub(acc, "AccountNumberText", account)
        link = doc.sub(acc, "PartyAccountAssociation", seq=True)
        doc.sub(link, "PartyAccountAssociationTypeCode", "8" if cash_in else "9")
    cta = doc.sub(activity, "CurrencyTransactionActivity", seq=True)
    for tag in (
        "AggregateTransactionIndicator",
        "ArmoredCarServiceIndicator",
        "ATMIndicator",
        "MailDepositShipmentIndicator",
        "NightDepositIndicator",
        "SharedBranchingIndicator",
    ):
        doc.sub(cta, tag, "Y" if tag == "AggregateTransactionIndicator" and len(alerts) > 1 else "")
    doc.sub(cta, "TotalCashInReceiveAmountText", str(cash_in) if cash_in else "")
    doc.sub(cta, "TotalCashOutAmountText", str(cash_out) if cash_out else "")
    doc.sub(
        cta,
        "TransactionDateText",
        _yyyymmdd(alerts[0].get("event_time")) if alerts else filing_date,
    )
    for a in alerts:
        detail = doc.sub(cta, "CurrencyTransactionActivityDetail", seq=True)
        # 55 cash in: deposits; 56 cash out: withdrawals (FinCEN CTR item 24/25 codes)
        doc.sub(
            detail,
            "CurrencyTransactionActivityDetailTypeCode",
            "56" if _direction(a) == "out" else "55",
        )
        doc.sub(detail, "DetailTransactionAmountText", str(_whole_dollars(a.get("amount"))))
        doc.sub(detail, "OtherCurrencyTransactionActivityDetailText", "")
        doc.sub(detail, "OtherForeignCurrencyCountryText", "")
    doc.root.set("ActivityCount", "1")
    doc.root.set("PartyCount", str(len(activity.findall(f"{{{NS}}}Party"))))
    doc.root.set("TotalAmount", str(cash_in + cash_out))
    return doc.text(), doc.missing


def sarx(
    case: Any, inst: Institution, filing_date: str, narrative: str
) -> tuple[str, list[dict[str, str | None]]]:
    """The SARX batch of a suspicious case, and the placeholders it carries."""
    alerts = sorted(case.alerts.values(), key=lambda a: str(a.get("event_time", "")))
    doc = _Doc("SARX")
    total = sum(_whole_dollars(a.get("amount")) for a in alerts)
    activity = doc.sub(doc.root, "Activity", seq=True)
    doc.sub(activity, "FilingDateText", filing_date)
    assoc = doc.sub(activity, "ActivityAssociation", seq=True)
    doc.sub(assoc, "InitialReportIndicator", "Y")
    _institution_parties(doc, activity, inst, ctr=False)
    location = _party(doc, activity, "34")
    doc.want("branch where activity occurred/PrimaryRegulatorTypeCode")
    _name(doc, location, inst.get("name"), "branch where activity occurred", False)
    _address(doc, "branch where activity occurred")
    subject = _party(doc, activity, "33")
    _name(doc, subject, None, "subject", False)
    _address(doc, "subject")
    _ident(doc, subject, None, "1", "subject TIN")
    accounts = _accounts(alerts)
    if accounts:
        # 7: activity affected the account; 41: the institution holding it (5)
        link = doc.sub(subject, "PartyAccountAssociation", seq=True)
        doc.sub(link, "PartyAccountAssociationTypeCode", "7")
        holder = _party(doc, link, "41")
        _ident(doc, holder, inst.get("code"), "2", "account holding institution TIN")
        for account in accounts:
            acc = doc.sub(holder, "Account", seq=True)
            doc.sub(acc, "AccountNumberText", account)
            held = doc.sub(acc, "PartyAccountAssociation", seq=True)
            doc.sub(held, "PartyAccountAssociationTypeCode", "5")
    suspicious = doc.sub(activity, "SuspiciousActivity", seq=True)
    starts = [_yyyymmdd(a.get("window_start") or a.get("event_time")) for a in alerts]
    ends = [_yyyymmdd(a.get("event_time")) for a in alerts]
    doc.value(
        suspicious,
        "SuspiciousActivityFromDateText",
        min(filter(None, starts), default=""),
        "suspicious activity",
        filing_date,
    )
    if any(ends):
        doc.sub(suspicious, "SuspiciousActivityToDateText", max(filter(None, ends)))
    if total:
        doc.sub(suspicious, "TotalSuspiciousAmountText", str(total))
    cls = doc.sub(suspicious, "SuspiciousActivityClassification", seq=True)
    structuring = any(a.get("rule_id") == "STRUCTURING" for a in alerts)
    # type 1 structuring or 8 money laundering, subtype "other" (type * 1000 + 999) with the
    # rules that fired as its text
    rules = ", ".join(sorted({str(a.get("rule_id")) for a in alerts}))
    doc.sub(cls, "OtherSuspiciousActivityTypeText", rules[:50])
    type_id = 1 if structuring else 8
    doc.sub(cls, "SuspiciousActivitySubtypeID", str(type_id * 1000 + 999))
    doc.sub(cls, "SuspiciousActivityTypeID", str(type_id))
    for n, chunk in enumerate(_chunks(narrative or "", 17000)[:5] or [""], start=1):
        info = doc.sub(activity, "ActivityNarrativeInformation", seq=True)
        doc.sub(info, "ActivityNarrativeSequenceNumber", str(n))
        doc.value(info, "ActivityNarrativeText", " ".join(chunk.split()), "narrative")
    doc.root.set("ActivityCount", "1")
    doc.root.set("PartyCount", str(len(activity.findall(f".//{{{NS}}}Party"))))
    doc.root.set("TotalAmount", str(total))
    doc.root.set("ActivityAttachmentCount", "0")
    doc.root.set("AttachmentCount", "0")
    return doc.text(), doc.missing


def _direction(alert: dict[str, Any]) -> str:
    figures = (alert.get("explanation") or {}).get("figures") or {}
    direction = str(figures.get("direction") or alert.get("direction") or "").lower()
    if direction in ("out", "debit", "withdrawal"):
        return "out"
    summary = str(alert.get("summary", "")).lower()
    return "out" if "withdraw" in summary else direction or "in"


def _accounts(alerts: list[dict[str, Any]]) -> list[str]:
    found: set[str] = set()
    for a in alerts:
        figures = (a.get("explanation") or {}).get("figures") or {}
        for key in ("account_id",):
            if a.get(key):
                found.add(str(a[key]))
            if figures.get(key):
                found.add(str(figures[key]))
    return sorted(found)


def _chunks(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


@cache
def _schema(form: str) -> Any:
    import xmlschema

    path = resources.files("monitor.casework") / "xsd" / f"EFL_{form}BatchSchema.xsd"
    with resources.as_file(path) as file:
        return xmlschema.XMLSchema11(str(file))


def validate(xml: str, form: str) -> Iterator[str]:
    """The schema errors of a `form` (CTRX or SARX) batch; none when it is valid."""
    for error in _schema(form).iter_errors(xml):
        yield f"{error.path}: {error.reason}"
