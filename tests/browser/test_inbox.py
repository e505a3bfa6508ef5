"""The analyst inbox in a real Chromium: sign-in, claim, propose, four-eyes approval, the
report record download, and the refusals (unauthenticated, forged CSRF, own proposal)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.browser.conftest import PASSWORDS, Inbox

IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
LAPTOP = {"width": 1366, "height": 768}
MONITOR = {"width": 1920, "height": 1080}
MEASURES_TAKEN = [
    "加强持续监测 (enhanced ongoing monitoring)",
    "重新识别客户身份 (customer re-identified)",
    "客户已被要求说明资金来源 (source of funds asked for)",
]


def _sign_in(page, inbox: Inbox, name: str) -> None:
    page.goto(f"{inbox.url}/login")
    page.get_by_label("User").fill(name)
    page.get_by_label("Password").fill(PASSWORDS[name])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{inbox.url}/")


def _sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r".*/login$"))


def _csrf(page) -> str:
    return page.locator("input[name=csrf_token]").first.get_attribute("value")


@pytest.fixture
def context(chromium):
    ctx = chromium.new_context(viewport=LAPTOP, accept_downloads=True)
    try:
        yield ctx
    finally:
        ctx.close()


def test_analyst_proposes_reviewer_approves_and_downloads_the_record(context, inbox: Inbox):
    IMG.mkdir(parents=True, exist_ok=True)
    page = context.new_page()
    case_id = inbox.case_ids["structuring"]

    # not signed in: the inbox sends to the sign-in page, a POST is refused
    page.goto(f"{inbox.url}/")
    assert page.url.endswith("/login")
    refused = page.request.post(f"{inbox.url}/cases/{case_id}/claim", form={"csrf_token": "x"})
    assert refused.status in (401, 403)

    _sign_in(page, inbox, "analyst")
    rows = page.locator("table.cases tbody tr")
    assert rows.count() == 4
    assert page.locator("tr.overdue").count() == 1 and page.locator("tr.due_soon").count() == 1
    page.screenshot(path=str(IMG / "casework-inbox.png"), full_page=True)

    # the filter (htmx) narrows the queue without a page load
    page.get_by_label("Rule").select_option("LV_CASH")
    page.wait_for_function("document.querySelectorAll('table.cases tbody tr').length === 2")
    page.get_by_label("Rule").select_option("")
    page.wait_for_function("document.querySelectorAll('table.cases tbody tr').length === 4")

    page.locator("tr", has_text=case_id).get_by_role("button", name="Claim").click()
    page.goto(f"{inbox.url}/cases/{case_id}")
    assert page.locator("dd.status").inner_text().lower() == "claimed"
    page.get_by_label("Narrative (for a report)").fill(
        "Four cash deposits in six days, each just under RMB 50,000; no business reason given."
    )
    # a suspicious report without the measures taken is refused, the form says why
    page.get_by_role("button", name="Propose").click()
    refusal = page.locator(".propose .refusal")
    assert "measures: required" in refusal.inner_text()
    assert page.locator("dd.status").inner_text().lower() == "claimed"
    assert page.get_by_label("Narrative (for a report)").input_value().startswith("Four cash")
    page.get_by_label(re.compile("加强持续监测")).check()
    page.get_by_label(re.compile("重新识别客户身份")).check()
    page.get_by_label("Other measures").fill("客户已被要求说明资金来源 (source of funds asked for)")
    page.locator("form.propose").screenshot(path=str(IMG / "casework-propose.png"))
    page.get_by_role("button", name="Propose").click()
    page.wait_for_url(f"{inbox.url}/cases/{case_id}")
    assert page.locator("dd.status").inner_text().lower() == "proposed"

    # the analyst posts the approval directly: the server refuses it
    token = _csrf(page)
    direct = page.request.post(f"{inbox.url}/cases/{case_id}/approve", form={"csrf_token": token})
    assert direct.status == 403 and "may not approve" in direct.text()
    # a request with a forged CSRF token is refused before anything happens
    forged = page.request.post(
        f"{inbox.url}/cases/{case_id}/note", form={"csrf_token": "forged", "text": "hi"}
    )
    assert forged.status == 403 and "CSRF" in forged.text()
    no_token = page.request.post(f"{inbox.url}/cases/{case_id}/note", form={"text": "hi"})
    assert no_token.status == 403
    _sign_out(page)

    _sign_in(page, inbox, "reviewer")
    page.goto(f"{inbox.url}/cases/{case_id}")
    proposal = page.locator(".proposal").inner_text()
    assert "Four cash deposits" in proposal
    # the reviewer sees the measures taken before approving
    assert page.locator("ul.measures-taken li").all_inner_texts() == MEASURES_TAKEN
    page.get_by_role("button", name="Approve").click()
    page.wait_for_url(f"{inbox.url}/cases/{case_id}")
    assert page.locator("dd.status").inner_text().lower() == "reported"
    assert "working days after approval" in page.locator(".casehead").inner_text()
    assert "Why: 4 cash deposits" in page.locator(".explanation").inner_text()
    assert (
        "risk rating high"
        in page.get_by_role("heading", name="Customer").locator("..").inner_text()
    )
    page.screenshot(path=str(IMG / "casework-case-laptop.png"))
    page.set_viewport_size(MONITOR)
    page.screenshot(path=str(IMG / "casework-case.png"), full_page=True)
    with page.expect_download() as download_info:
        page.get_by_role("link", name=re.compile("Download report record")).click()
    record = json.loads(Path(download_info.value.path()).read_text())
    assert record["case_id"] == case_id and record["customer"]["customer_id"] == "CUST-0001"
    assert record["format"].startswith("pboc-2016-3") and record["report_type"] == "suspicious"
    assert record["suspicion"]["description"].startswith("Four cash deposits")
    assert record["suspicion"]["measures_taken"] == MEASURES_TAKEN
    assert "suspicion.measures_taken" not in record["missing_elements"]
    assert {t["txn_id"] for t in record["transactions"]} == {f"T-1-{i}" for i in range(1, 5)}
    assert record["approved_by"] == "reviewer" and record["proposed_by"] == "analyst"
    assert inbox.log.reports == [record]
    kinds = [json.loads(r.value)["kind"] for r in inbox.log.records if r.key == case_id]
    assert kinds == ["opened", "claimed", "proposed", "approved", "report_created"]


def test_the_proposer_cannot_approve_their_own_proposal(context, inbox: Inbox):
    page = context.new_page()
    case_id = inbox.case_ids["structuring_2"]
    _sign_in(page, inbox, "admin")
    page.goto(f"{inbox.url}/cases/{case_id}")
    # text from the alert is escaped, not run
    assert "<script>alert('x')</script>" in page.locator(".alert p").first.inner_text()
    page.get_by_role("button", name="Claim").click()
    page.get_by_label("Narrative (for a report)").fill("Structured deposits.")
    page.get_by_label(re.compile("限制或中止交易")).check()
    page.get_by_role("button", name="Propose").click()
    page.wait_for_url(f"{inbox.url}/cases/{case_id}")
    assert "cannot approve your own proposal" in page.locator(".hint").inner_text()
    page.get_by_role("button", name="Approve").click()
    assert page.get_by_role("heading", name="Refused").is_visible()
    assert "four eyes" in page.locator(".refusal").inner_text()
    page.screenshot(path=str(IMG / "casework-refused.png"))
    page.goto(f"{inbox.url}/cases/{case_id}")
    assert page.locator("dd.status").inner_text().lower() == "proposed"
    kinds = [json.loads(r.value)["kind"] for r in inbox.log.records if r.key == case_id]
    assert kinds == ["opened", "claimed", "proposed"]


@pytest.mark.parametrize("inbox", [{"page_size": 3}], indirect=True)
def test_the_pager_moves_through_the_queue_in_place_keeping_the_filter(context, inbox: Inbox):
    page = context.new_page()
    _sign_in(page, inbox, "analyst")
    rows = page.locator("table.cases tbody tr")
    assert (
        rows.count() == 3 and "Cases 1–3 of 4 · page 1 of 2" in page.locator(".pager").inner_text()
    )
    first = set(rows.all_inner_texts())
    page.get_by_role("link", name="Next").click()  # htmx: the rows and the pager only
    page.wait_for_url(re.compile(r".*[?&]page=2$"))
    page.wait_for_function("document.querySelectorAll('table.cases tbody tr').length === 1")
    assert "Cases 4–4 of 4" in page.locator(".pager").inner_text()
    assert not first & set(rows.all_inner_texts())
    page.get_by_role("link", name="Previous").click()
    page.wait_for_function("document.querySelectorAll('table.cases tbody tr').length === 3")
    # a filter goes back to page 1 and the pager keeps it
    page.get_by_label("Severity").select_option("high")
    page.wait_for_function("document.querySelectorAll('table.cases tbody tr').length === 2")
    assert "Cases 1–2 of 2" in page.locator(".pager").inner_text()
    assert page.get_by_role("link", name="Next").count() == 0
