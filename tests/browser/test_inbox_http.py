"""The inbox over HTTP without a browser: sessions expire, a trusted proxy header signs in,
bad requests get a 4xx with a message, and the CLI's errors are one line with exit 2."""

from __future__ import annotations

import io
import re
import uuid
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from fastapi.testclient import TestClient

from monitor.casework.log import MemoryCaseLog
from monitor.casework.readmodel import RedisReadModel
from monitor.casework.service import CaseService
from monitor.casework.web.app import create_app
from monitor.casework.web.auth import hash_password, load_users
from monitor.core.errors import ConfigurationError
from monitor.core.pack import load_pack
from monitor.tools.cli import main
from tests.browser.conftest import NOW
from tests.casework_samples import alert, large_value


def _users(tmp_path: Path, proxy: bool = False) -> Path:
    path = tmp_path / "users.yaml"
    digest = "" if proxy else hash_password("pw-analyst")
    path.write_text(
        "users:\n"
        f"  - {{name: ana, role: analyst, password_hash: '{digest}'}}\n"
        f"  - {{name: rita, role: reviewer, password_hash: '{digest}'}}\n"
    )
    return path


def _app(browser_redis, tmp_path: Path, proxy: str | None = None, **options):
    pack = load_pack()
    model = RedisReadModel(
        aioredis.Redis.from_url(browser_redis.url),
        pack.calendar,
        pack.tz,
        prefix=f"http:{uuid.uuid4().hex[:8]}:",
    )
    service = CaseService(MemoryCaseLog(), model, clock=lambda: NOW)
    users = load_users(_users(tmp_path, proxy=proxy is not None), proxy)
    return create_app(service, users, **options), service


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def _sign_in(client: TestClient) -> str:
    token = _csrf(client.get("/login").text)
    answer = client.post(
        "/login",
        data={"csrf_token": token, "username": "ana", "password": "pw-analyst"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    return _csrf(client.get("/").text)


def test_wrong_password_and_expired_session(browser_redis, tmp_path, monkeypatch):
    app, _ = _app(browser_redis, tmp_path, session_seconds=60)
    with TestClient(app) as client:
        token = _csrf(client.get("/login").text)
        wrong = client.post(
            "/login", data={"csrf_token": token, "username": "ana", "password": "nope"}
        )
        assert wrong.status_code == 401 and "wrong password" in wrong.text
        _sign_in(client)
        assert client.get("/", follow_redirects=False).status_code == 200
        import monitor.casework.web.auth as auth

        later = auth.time.time() + 61
        monkeypatch.setattr(auth.time, "time", lambda: later)
        expired = client.get("/", follow_redirects=False)
        assert expired.status_code == 303 and expired.headers["location"] == "/login"


def test_bad_requests_get_a_4xx_with_a_message(browser_redis, tmp_path):
    app, service = _app(browser_redis, tmp_path)
    with TestClient(app) as client:
        token = _sign_in(client)
        case_id = client.portal.call(service.add_alert, alert(1))
        assert client.get("/cases/C-NOPE").status_code == 404
        assert (
            client.post(f"/cases/{case_id}/explode", data={"csrf_token": token}).status_code == 404
        )
        assert client.post(f"/cases/{case_id}/claim", data={"csrf_token": token}).status_code == 200
        assert case_id in client.get("/", params={"assignee": "me"}).text
        assert case_id not in client.get("/", params={"assignee": "none"}).text
        empty = client.post(
            f"/cases/{case_id}/propose", data={"csrf_token": token, "disposition": "report"}
        )
        assert empty.status_code == 400 and "narrative: required" in empty.text
        twice = client.post(f"/cases/{case_id}/claim", data={"csrf_token": token})
        assert twice.status_code == 409 and "cannot claim a case that is claimed" in twice.text
        no_record = client.get(f"/cases/{case_id}/report.json")
        assert no_record.status_code == 400 and "no report record" in no_record.text


def test_a_trusted_proxy_header_names_the_user(browser_redis, tmp_path):
    app, _ = _app(browser_redis, tmp_path, proxy="X-Remote-User")
    with TestClient(app) as client:
        page = client.get("/", headers={"X-Remote-User": "rita"})
        assert page.status_code == 200 and "rita" in page.text and "reviewer" in page.text
        assert client.get("/", follow_redirects=False).status_code == 303
        unknown = client.get("/", headers={"X-Remote-User": "mallory"}, follow_redirects=False)
        assert unknown.status_code == 303


def test_users_file_errors_name_the_field(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("users:\n  - {name: x, role: boss, password_hash: '$argon2id$x'}\n")
    with pytest.raises(ConfigurationError, match=r"users\.0\.role"):
        load_users(bad)
    bad.write_text("users:\n  - {name: x, role: analyst, password_hash: 'plain'}\n")
    with pytest.raises(ConfigurationError, match="not an argon2 hash"):
        load_users(bad)


def test_cli_hash_password_and_one_line_errors(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("s3cret\n"))
    assert main(["inbox", "hash-password"]) == 0
    digest = capsys.readouterr().out.strip()
    assert digest.startswith("$argon2id$")
    assert main(["inbox"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--users FILE" in err
    bad = tmp_path / "users.yaml"
    bad.write_text("users: []\n")
    assert main(["inbox", "--users", str(bad)]) == 2
    assert "no users" in capsys.readouterr().err


def test_a_grown_finding_joins_its_open_case_or_opens_a_new_one_once_closed(
    browser_redis, tmp_path
):
    from monitor.casework.audit import verify_records

    app, service = _app(browser_redis, tmp_path)
    with TestClient(app) as client:
        call = client.portal.call
        first = call(service.add_alert, large_value(7, "CUST-0007"))
        grown = large_value(7, "CUST-0007", due="2026-03-09") | {"amount": "130000.00"}
        assert call(service.add_alert, grown) == first  # same id, grown: same case
        case = call(service.case, first)
        assert case.alerts[grown["alert_id"]]["amount"] == "130000.00"
        close = {"disposition": "close", "reason_code": "reported_elsewhere", "text": "LVR filed"}
        call(service.act, first, "claim", "ana", "analyst", {})
        call(service.act, first, "propose", "ana", "analyst", close)
        call(service.act, first, "approve", "rita", "reviewer", {})
        assert call(service.case, first).status == "closed"
        again = grown | {"amount": "180000.00"}
        second = call(service.add_alert, again)
        assert second != first and call(service.case, second).status == "open"
        assert verify_records(call(service.log.read_raw)).intact


def test_approving_a_report_publishes_the_report_record_and_offers_it_for_download(
    browser_redis, tmp_path, monkeypatch
):
    monkeypatch.setenv("MONITOR_INSTITUTION_NAME", "Example Bank")
    monkeypatch.delenv("MONITOR_REPORT_FORMAT", raising=False)
    app, service = _app(browser_redis, tmp_path)
    with TestClient(app) as client:
        call = client.portal.call
        us_cash = large_value(8, "CUST-0008") | {"currency": "USD", "queue": "ctr"}
        cases = {
            "pboc": call(service.add_alert, alert(9, "CUST-0009")),
            "fincen": call(service.add_alert, us_cash),
        }
        report = {
            "disposition": "report",
            "narrative": "Cash structured under the threshold.",
            "measures": ["enhanced_monitoring"],
        }
        for case_id in cases.values():
            call(service.act, case_id, "claim", "ana", "analyst", {})
            call(service.act, case_id, "propose", "ana", "analyst", report)
            call(service.act, case_id, "approve", "rita", "reviewer", {})
        published = {r["case_id"]: r for r in service.log.reports}
        pboc, fincen = published[cases["pboc"]], published[cases["fincen"]]
        assert pboc["format"] == "pboc-2016-3/1" and pboc["suspicion"]["description"]
        assert pboc["suspicion"]["measures_taken"] == ["加强持续监测 (enhanced ongoing monitoring)"]
        assert pboc["reporting_institution"]["name"] == "Example Bank"
        assert fincen["format"] == "fincen-ctrx/1" and fincen["schema_errors"] == []
        case = call(service.case, cases["fincen"])
        assert case.status == "reported" and case.report["report_id"] == fincen["report_id"]
        _sign_in(client)
        download = client.get(f"/cases/{cases['fincen']}/report.json")
        assert download.status_code == 200 and download.json()["xml"] == fincen["xml"]


def test_a_report_proposal_without_measures_is_refused_and_the_form_says_why(
    browser_redis, tmp_path
):
    app, service = _app(browser_redis, tmp_path)
    with TestClient(app) as client:
        token = _sign_in(client)
        case_id = client.portal.call(service.add_alert, alert(11, "CUST-0011"))
        client.post(f"/cases/{case_id}/claim", data={"csrf_token": token})
        narrative = "Deposits split to stay under RMB 50,000 & no reason given."
        form = {"csrf_token": token, "disposition": "report", "narrative": narrative}
        refused = client.post(f"/cases/{case_id}/propose", data=form)
        assert refused.status_code == 400
        assert "measures: required for a suspicious transaction report" in refused.text
        # the case page again, the form keeping what was typed, the measures marked
        assert 'class="measures invalid"' in refused.text
        assert "Deposits split to stay under RMB 50,000 &amp; no reason given." in refused.text
        assert 'value="enhanced_monitoring" >' in refused.text  # offered, not ticked
        assert client.portal.call(service.case, case_id).status == "claimed"
        ticked = {**form, "measures": ["enhanced_monitoring", "transactions_restricted"]}
        done = client.post(f"/cases/{case_id}/propose", data=ticked, follow_redirects=False)
        assert done.status_code == 303
        proposal = client.portal.call(service.case, case_id).proposal
        assert [m["code"] for m in proposal["measures"]] == [
            "enhanced_monitoring",
            "transactions_restricted",
        ]
        page = client.get(f"/cases/{case_id}").text
        assert "加强持续监测 (enhanced ongoing monitoring)" in page
        assert "限制或中止交易 (transactions restricted)" in page


def test_the_inbox_pages_keep_their_filters(browser_redis, tmp_path):
    app, service = _app(browser_redis, tmp_path)
    with TestClient(app) as client:
        token = _sign_in(client)
        for n in range(1, 56):
            client.portal.call(service.add_alert, alert(100 + n, f"CUST-{n:04d}"))
        for n in range(56, 61):
            client.portal.call(service.add_alert, large_value(100 + n, f"CUST-{n:04d}"))
        ids = re.compile(r'<td><a href="/cases/(C-[0-9A-F]+)"')
        first = client.get("/", params={"rule": "STRUCTURING"}).text
        assert len(ids.findall(first)) == 50
        assert "Cases 1–50 of 55" in first and "page 1 of 2" in first
        assert 'href="/?rule=STRUCTURING&amp;status=active&amp;page=2" rel="next"' in first
        second = client.get("/", params={"rule": "STRUCTURING", "page": "2"}).text
        assert len(ids.findall(second)) == 5 and "Cases 51–55 of 55" in second
        assert not set(ids.findall(first)) & set(ids.findall(second))
        assert 'rel="prev"' in second and 'rel="next"' not in second
        # the htmx request gets the rows and the pager only
        partial = client.get("/?rule=STRUCTURING&page=2", headers={"HX-Request": "true"}).text
        assert "<html" not in partial and "Cases 51–55 of 55" in partial
        everything = client.get("/").text
        assert "Cases 1–50 of 60" in everything
        assert len(ids.findall(client.get("/", params={"page": "7"}).text)) == 10  # the last
        bad = client.get("/", params={"page": "x"})
        assert bad.status_code == 400 and "page: a whole number from 1" in bad.text
        assert client.post("/logout", data={"csrf_token": token}).status_code in (200, 303)


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _attempt(client: TestClient, name: str, password: str):
    token = _csrf(client.get("/login").text)
    return client.post(
        "/login",
        data={"csrf_token": token, "username": name, "password": password},
        follow_redirects=False,
    )


def test_repeated_failed_sign_ins_are_refused_for_a_while(browser_redis, tmp_path, caplog):
    from monitor.casework.web.throttle import LoginThrottle

    clock = _Clock()
    app, _ = _app(browser_redis, tmp_path, throttle=LoginThrottle(clock=clock))
    caplog.set_level("INFO", logger="monitor.casework")
    with TestClient(app) as client:
        for n in range(5):
            assert _attempt(client, "ana", f"guess-{n}").status_code == 401
        locked = _attempt(client, "ana", "pw-analyst")  # even the right password, for now
        assert locked.status_code == 429 and locked.headers["Retry-After"] == "900"
        assert "Too many failed sign-ins: try again in 15 minutes." in locked.text
        clock.now = 14 * 60 + 30
        assert "try again in 1 minute." in _attempt(client, "ana", "pw-analyst").text
        clock.now = 15 * 60
        assert _attempt(client, "ana", "pw-analyst").status_code == 303
    text = caplog.text
    assert "guess-" not in text and "pw-analyst" not in text  # passwords are never logged
    assert "sign-in refused: ana from testclient" in text
    assert "sign-in throttled: ana from testclient" in text


def test_one_client_guessing_many_users_is_throttled(browser_redis, tmp_path, caplog):
    from monitor.casework.web.throttle import LoginThrottle

    clock = _Clock()
    app, _ = _app(browser_redis, tmp_path, throttle=LoginThrottle(clock=clock))
    caplog.set_level("INFO", logger="monitor.casework")
    with TestClient(app) as client:
        for name in ("root", "admin", "ana", "rita", "zhang.san"):
            assert _attempt(client, name, "123456").status_code == 401
        assert _attempt(client, "rita", "pw-analyst").status_code == 429
    assert "zhang.san" not in caplog.text and "(unknown user)" in caplog.text
