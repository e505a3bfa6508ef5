"""The record of an approved report disposition: PBoC 2016 No.3 document or FinCEN CTR/SAR batch."""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from typing import Any

from monitor.casework.events import canonical_json
from monitor.casework.measures import measure_texts
from monitor.casework.reports.pboc import pboc_record
from monitor.casework.settings import CaseworkSettings, load_casework_settings
from monitor.casework.workflow import Case, report_kind

__all__ = ["build_record", "report_kind"]

logger = logging.getLogger(__name__)

#: queues of the us-bsa pack (config/us-bsa.yaml): their cases are filed with FinCEN
_FINCEN_QUEUES = frozenset({"ctr", "sar-review"})


def _fincen(case: Case, settings: CaseworkSettings) -> bool:
    if settings.report_format != "auto":
        return settings.report_format == "fincen"
    return any(a.get("queue") in _FINCEN_QUEUES for a in case.alerts.values())


def build_record(
    case: Case, at: datetime, settings: CaseworkSettings | None = None
) -> dict[str, Any]:
    """The record of the approved report disposition of `case` (a JSON-ready dict with a
    `report_id`): the PBoC elements, and under the us-bsa pack the FinCEN batch as `xml` with
    its `schema_errors`; `missing_elements` names what the case could not supply. `settings`
    (institution, format) are the process's `MONITOR_*` settings unless given."""
    settings = settings or load_casework_settings()
    kind = report_kind(case)
    institution = {"name": settings.institution_name, "code": settings.institution_code}
    proposal, approval = case.proposal or {}, case.approval or {}
    measures = measure_texts(proposal.get("measures") or [])
    record = pboc_record(case, kind, institution, measures)
    if _fincen(case, settings):
        from monitor.casework.reports import fincen

        form = "CTRX" if kind == "large_value" else "SARX"
        filing_date = at.strftime("%Y%m%d")
        if form == "CTRX":
            xml, missing = fincen.ctrx(case, institution, filing_date)
        else:
            xml, missing = fincen.sarx(
                case, institution, filing_date, proposal.get("narrative", "")
            )
        try:
            errors = list(fincen.validate(xml, form))
        except ImportError:  # xmlschema is a dependency; a partial install still approves
            errors = ["not checked: xmlschema is not installed"]
        if errors:  # a bug here, not the filer's: the record says so instead of failing approval
            logger.error("case %s: %s batch fails its schema: %s", case.case_id, form, errors[0])
        record = {
            **record,
            "format": f"fincen-{form.lower()}/1",
            "regulation": "31 CFR 1010.311 (CTR)" if form == "CTRX" else "31 CFR 1020.320 (SAR)",
            "form": form,
            "xml": xml,
            "schema_errors": errors,
            "missing_elements": [m["element"] for m in missing],
            "placeholders": [m for m in missing if m["placeholder"] is not None],
            "pboc_missing_elements": record["missing_elements"],
        }
    record.update(
        {
            "case_id": case.case_id,
            "proposed_by": proposal.get("user"),
            "approved_by": approval.get("user"),
            "created_at": at.isoformat(),
        }
    )
    record["report_id"] = "R-" + hashlib.sha256(canonical_json(record)).hexdigest()[:12].upper()
    return record
