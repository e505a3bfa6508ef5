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
        report = {"disposition": "report", "narrative": "Cash structured under the threshold."}
        for case_id in cases.values():
            call(service.act, case_id, "claim", "ana", "analyst", {})
            call(service.act, case_id, "propose", "ana", "analyst", report)
            call(service.act, case_id, "approve", "rita", "reviewer", {})
        published = {r["case_id"]: r for r in service.log.reports}
        pboc, fincen = published[cases["pboc"]], published[cases["fincen"]]
        assert pboc["format"] == "pboc-2016-3/1" and pboc["suspicion"]["description"]
        assert pboc["reporting_institution"]["name"] == "Example Bank"
        assert fincen["format"] == "fincen-ctrx/1" and fincen["schema_errors"] == []
        case = call(service.case, cases["fincen"])
        assert case.status == "reported" and case.report["report_id"] == fincen["report_id"]
        _sign_in(client)
        download = client.get(f"/cases/{cases['fincen']}/report.json")
        assert download.status_code == 200 and download.json()["xml"] == fincen["xml"]
