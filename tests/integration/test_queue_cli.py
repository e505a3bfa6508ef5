"""`monitor queue` and `queue_gauges` on a real redis-server, with alerts added by the sink."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import orjson
import pytest
import redis
from prometheus_client import CollectorRegistry

from monitor.io.devservers import RedisServer, free_port
from monitor.io.metrics import Metrics
from monitor.io.queues import GAUGE_KEYS, QueueSummary, open_entries, queue_gauges, summarise
from monitor.io.sinks.redis_queue import RedisQueueSink
from monitor.tools.cli_args import Parser
from monitor.tools.queue_cli import add_queue_parser, run_queue
from schemas import Alert

pytestmark = pytest.mark.integration

TODAY = date(2026, 3, 10)
LONG_SUMMARY = "cash deposits totalling 50,000.00 CNY on one natural day cross the threshold " * 2


@pytest.fixture(scope="module")
def server() -> Iterator[RedisServer]:
    srv = RedisServer().start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def client(server: RedisServer) -> Iterator[redis.Redis]:
    c = redis.Redis.from_url(server.url, decode_responses=True)
    yield c
    c.close()


@pytest.fixture
def prefix() -> str:
    """Each test its own key prefix, so tests share the server but not the queues."""
    return f"t{uuid.uuid4().hex[:8]}:queue:"


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MONITOR_REDIS_URL", raising=False)
    monkeypatch.delenv("MONITOR_QUEUE_PREFIX", raising=False)


def alert(
    n: int,
    *,
    queue: str = "lvr",
    rule_id: str = "LV_CASH",
    due: date | None = None,
    summary: str = "large cash deposit",
    amount: str | None = "50000.00",
) -> Alert:
    return Alert(
        alert_id=f"al-{n}",
        rule_id=rule_id,
        customer_id=f"C{n:03d}",
        severity="medium",
        category="large_value_report",
        summary=summary,
        event_time=datetime(2026, 3, 2, 2, 0, tzinfo=UTC),
        detected_at=datetime.now(UTC),
        amount=None if amount is None else Decimal(amount),
        currency=amount and "CNY",
        evidence=[f"T{n}"],
        report_due=due,
        queue=queue,
    )


def add(url: str, prefix: str, *alerts: Alert) -> list[str]:
    async def go() -> list[str]:
        sink = RedisQueueSink.from_url(url, prefix=prefix)
        try:
            return [(await sink.add(a))[1] for a in alerts]
        finally:
            await sink.close()

    return asyncio.run(go())


class Cli:
    """Runs `monitor queue ...` through `add_queue_parser` + `run_queue`."""

    def __init__(self, capsys: pytest.CaptureFixture[str], url: str, prefix: str) -> None:
        parser = Parser(prog="monitor")
        add_queue_parser(parser.add_subparsers(dest="command", required=True))
        self.parser, self.capsys, self.url, self.prefix = parser, capsys, url, prefix

    def __call__(self, *argv: str, connect: bool = True) -> tuple[int, str, str]:
        base = ["queue", "--redis-url", self.url, "--prefix", self.prefix] if connect else ["queue"]
        self.capsys.readouterr()
        try:
            code = run_queue(self.parser.parse_args([*base, *argv]))
        except SystemExit as exc:  # a bad command line: one line on stderr, status 2
            code = int(exc.code or 0)
        out, err = self.capsys.readouterr()
        return code, out, err

    def json(self, *argv: str) -> dict:
        code, out, err = self(*argv, "--json")
        assert code == 0, err
        return orjson.loads(out)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], server: RedisServer, prefix: str) -> Cli:
    return Cli(capsys, server.url, prefix)


def _columns(line: str) -> list[str]:
    return re.split(r"\s{2,}", line.strip())


# --------------------------------------------------------------------------- ls


def test_ls_lists_stream_queues_with_depth_pending_age_and_overdue(cli, client, server, prefix):
    add(
        server.url,
        prefix,
        alert(1, due=TODAY - timedelta(days=3)),  # overdue
        alert(2, due=TODAY),  # due soon
        alert(3, due=TODAY + timedelta(days=1)),  # due soon
        alert(4, due=TODAY + timedelta(days=5)),
        alert(5, queue="suspicious", rule_id="STR_STRUCTURING", due=None),
    )
    client.set(f"{prefix}not-a-stream", "x")  # matches the prefix, is no queue

    data = cli.json("ls", "--today", TODAY.isoformat())
    assert data["group"] == "analysts" and data["today"] == "2026-03-10"
    by_queue = {q["queue"]: q for q in data["queues"]}
    assert list(by_queue) == ["lvr", "suspicious"]  # neither the :ids hashes nor the string
    lvr = by_queue["lvr"]
    assert lvr["stream"] == f"{prefix}lvr"
    counts = [lvr[k] for k in ("depth", "pending", "open", "overdue", "due_soon")]
    assert counts == [4, 0, 4, 1, 2]
    assert 0 <= lvr["oldest_age_seconds"] < 60
    assert by_queue["suspicious"]["overdue"] == by_queue["suspicious"]["due_soon"] == 0

    code, out, err = cli("ls", "--today", TODAY.isoformat())
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert _columns(lines[0]) == [
        "QUEUE",
        "DEPTH",
        "PENDING",
        "OPEN",
        "OLDEST OPEN",
        "OVERDUE",
        "DUE SOON",
    ]
    assert _columns(lines[1])[:4] == ["lvr", "4", "0", "4"]
    assert _columns(lines[1])[5:] == ["1", "2"]
    assert _columns(lines[2])[0] == "suspicious"
    # numbers are right-aligned under their header: the rows end where the header ends
    assert len(lines[0]) == len(lines[1]) == len(lines[2])
    assert "group analysts" in lines[-1]


def test_ls_without_queues(cli):
    assert cli.json("ls")["queues"] == []
    code, out, _ = cli("ls")
    assert code == 0 and "no queues" in out


def test_options_before_or_after_the_command_and_from_the_environment(
    capsys, monkeypatch, server, prefix
):
    add(server.url, prefix, alert(1))
    cli = Cli(capsys, server.url, prefix)
    monkeypatch.setenv("MONITOR_REDIS_URL", server.url)
    monkeypatch.setenv("MONITOR_QUEUE_PREFIX", prefix)
    code, out, _ = cli("ls", "--json", connect=False)
    assert code == 0 and [q["queue"] for q in orjson.loads(out)["queues"]] == ["lvr"]
    code, out, _ = cli("--json", "ls", connect=False)
    assert code == 0 and orjson.loads(out)["queues"][0]["depth"] == 1


# --------------------------------------------------------------------------- tail


def test_tail_shows_the_latest_entries_oldest_first(cli, server, prefix):
    ids = add(
        server.url,
        prefix,
        *(alert(n, due=TODAY, summary=LONG_SUMMARY) for n in range(1, 6)),
        alert(6, amount=None),
    )
    data = cli.json("tail", "lvr", "-n", "3")
    assert [e["id"] for e in data["entries"]] == ids[3:]
    first = data["entries"][0]
    assert (
        first["rule_id"],
        first["customer_id"],
        first["amount"],
        first["currency"],
        first["report_due"],
    ) == ("LV_CASH", "C004", "50000.00", "CNY", "2026-03-10")
    assert first["summary"] == LONG_SUMMARY  # JSON keeps the whole summary
    assert first["alert"]["evidence"] == ["T4"]
    assert data["entries"][-1]["amount"] is None and data["entries"][-1]["report_due"] is None

    code, out, err = cli("tail", f"{prefix}lvr", "-n", "3")  # the full key works too
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert _columns(lines[0]) == ["ENTRY", "RULE", "CUSTOMER", "AMOUNT", "REPORT DUE", "SUMMARY"]
    assert _columns(lines[1])[:5] == [ids[3], "LV_CASH", "C004", "50000.00 CNY", "2026-03-10"]
    assert _columns(lines[3])[:5] == [ids[5], "LV_CASH", "C006", "-", "-"]
    assert _columns(lines[1])[5].endswith("…") and len(lines[1]) < 160  # summary shortened
    assert lines[1].index("LV_CASH") == lines[0].index("RULE")  # columns line up


def test_show_prints_the_explanation(cli, server, prefix):
    from monitor.core.engine import Engine
    from monitor.core.pack import load_pack
    from schemas import CashTransaction

    deposit = CashTransaction.model_validate(
        {
            "event_id": "e-1",
            "txn_id": "T-1",
            "customer_id": "C001",
            "account_id": "A1",
            "occurred_at": "2026-03-03T10:00:00+08:00",
            "direction": "in",
            "amount": "12000.00",
            "currency": "USD",
            "service": "deposit",
            "conductor": None,
            "branch_code": "BJ001",
        }
    )
    pack = load_pack()
    outcome = Engine(pack).process(None, deposit, datetime(2026, 4, 1, tzinfo=UTC))
    (lv,) = [a for a in outcome.findings.alerts if a.rule_id == "LV_CASH"]
    lv = lv.model_copy(update={"queue": "lvr"})
    assert lv.explanation is not None
    (entry,) = add(server.url, prefix, lv, alert(2))[:1]
    code, out, err = cli("show", "lvr", entry)
    assert code == 0 and err == "", err
    assert lv.explanation.narrative.en in out
    assert "USD/CNY" in out and lv.explanation.pack_version in out
    assert "threshold" in out and "distance" in out
    data = cli.json("show", "lvr", entry)
    assert data["narrative"] == lv.explanation.narrative.en
    assert data["figures"]["currency"] == "USD"
    tail = cli.json("tail", "lvr")
    assert tail["entries"][0]["narrative"] == lv.explanation.narrative.en
    assert tail["entries"][1]["narrative"] is None  # an alert without an explanation
    code, out, _ = cli("show", "lvr", "1-0")
    assert code == 1


def test_unknown_queue_is_one_line_on_stderr(cli, server, prefix):
    add(server.url, prefix, alert(1))
    for argv in (["tail", "nope"], ["claim", "nope", "--consumer", "amy"], ["ack", "nope", "1-0"]):
        code, out, err = cli(*argv)
        assert code == 1 and out == ""
        assert err.count("\n") == 1 and "unknown queue 'nope'" in err and "lvr" in err


# --------------------------------------------------------------------------- claim and ack


def test_claim_and_ack_change_pending(cli, client, server, prefix):
    ids = add(server.url, prefix, *(alert(n, due=TODAY - timedelta(days=1)) for n in range(1, 5)))

    code, out, err = cli("claim", "lvr", "--consumer", "amy", "--count", "2")
    assert code == 0 and err == ""
    assert [_columns(line)[0] for line in out.splitlines()[1:3]] == ids[:2]
    assert "2 claimed by amy" in out
    assert [g["name"] for g in client.xinfo_groups(f"{prefix}lvr")] == ["analysts"]  # created
    lvr = cli.json("ls", "--today", TODAY.isoformat())["queues"][0]
    assert (lvr["depth"], lvr["pending"], lvr["open"], lvr["overdue"]) == (4, 2, 4, 4)

    # bob gets the entries nobody has, never amy's
    data = cli.json("claim", "lvr", "--consumer", "bob", "--count", "5")
    assert [(e["id"], e["source"]) for e in data["entries"]] == [(ids[2], "new"), (ids[3], "new")]
    assert cli.json("claim", "lvr", "--consumer", "bob")["entries"] == []
    code, out, _ = cli("claim", "lvr", "--consumer", "bob")
    assert code == 0 and "nothing to claim" in out

    data = cli.json("ack", "lvr", ids[0], ids[2])
    assert data == {
        "queue": "lvr",
        "group": "analysts",
        "acknowledged": [ids[0], ids[2]],
        "not_pending": [],
    }
    lvr = cli.json("ls", "--today", TODAY.isoformat())["queues"][0]
    assert (lvr["depth"], lvr["pending"], lvr["open"], lvr["overdue"]) == (4, 2, 2, 2)

    # acknowledging again does nothing and says so
    code, out, err = cli("ack", "lvr", ids[0], ids[1])
    assert code == 1
    assert "acknowledged 1 of 2" in out
    assert err.count("\n") == 1 and ids[0] in err and "not pending" in err
    assert client.xpending(f"{prefix}lvr", "analysts")["pending"] == 1  # ids[3], bob's


def test_claim_stale_takes_over_idle_entries_then_new_ones(cli, client, server, prefix):
    ids = add(server.url, prefix, *(alert(n) for n in range(1, 4)))
    assert len(cli.json("claim", "lvr", "--consumer", "amy", "--count", "1")["entries"]) == 1
    # amy's entry has not been idle for an hour: carol only gets new ones
    data = cli.json("claim", "lvr", "--consumer", "carol", "--count", "1", "--stale-ms", "3600000")
    assert [(e["id"], e["source"]) for e in data["entries"]] == [(ids[1], "new")]
    data = cli.json("claim", "lvr", "--consumer", "carol", "--count", "5", "--stale-ms", "0")
    sources = {e["id"]: e["source"] for e in data["entries"]}
    assert sources[ids[0]] == "reclaimed" and sources[ids[2]] == "new"
    owners = {
        p["message_id"]: p["consumer"]
        for p in client.xpending_range(f"{prefix}lvr", "analysts", "-", "+", 10)
    }
    assert owners == {ids[0]: "carol", ids[1]: "carol", ids[2]: "carol"}
    code, out, _ = cli("claim", "lvr", "--consumer", "dave", "--stale-ms", "0", "--count", "1")
    assert code == 0 and "reclaimed" in out


def test_a_custom_group_is_independent(cli, client, server, prefix):
    add(server.url, prefix, alert(1), alert(2))
    assert len(cli.json("claim", "lvr", "--consumer", "amy", "--group", "qa")["entries"]) == 2
    assert cli.json("ls", "--group", "qa")["queues"][0]["pending"] == 2
    assert cli.json("ls")["queues"][0]["pending"] == 0  # analysts has not claimed anything
    assert cli.json("ls")["queues"][0]["open"] == 2


def test_bad_entry_id_is_refused(cli, server, prefix):
    add(server.url, prefix, alert(1))
    code, out, err = cli("ack", "lvr", "not-an-id")
    assert code == 2 and out == "" and "not a stream entry id" in err
    assert err.count("\n") == 1


# --------------------------------------------------------------------------- overdue and gauges


def test_overdue_counts_only_entries_not_acknowledged(cli, client, server, prefix):
    past = TODAY - timedelta(days=1)
    ids = add(
        server.url,
        prefix,
        alert(1, due=past),
        alert(2, due=past),
        alert(3, due=past),
        alert(4, due=TODAY),
        alert(5, due=TODAY + timedelta(days=1)),
        alert(6, due=TODAY + timedelta(days=2)),
    )
    stream = f"{prefix}lvr"

    # no group yet: everything is open
    gauges = queue_gauges(client, prefix, "analysts", TODAY)
    assert gauges["lvr"]["overdue"] == 3 and gauges["lvr"]["due_soon"] == 2

    cli("claim", "lvr", "--consumer", "amy", "--count", "2")  # ids 0, 1 in the PEL
    cli("ack", "lvr", ids[0])  # id 0 done
    # open: ids[1] (pending) and ids[2:] (never delivered)
    first_ms = int(ids[1].split("-")[0])
    gauges = queue_gauges(client, prefix, "analysts", TODAY, now_ms=first_ms + 90_000)
    assert gauges == {
        "lvr": {"depth": 6, "pending": 1, "oldest_age_seconds": 90.0, "overdue": 2, "due_soon": 2}
    }
    # a day later the ones due today are overdue and the one due in two days is due soon
    later = queue_gauges(client, prefix, "analysts", TODAY + timedelta(days=1))
    assert (later["lvr"]["overdue"], later["lvr"]["due_soon"]) == (3, 2)

    # pending entries count however far the group has read: claim all, ack all but one
    cli("claim", "lvr", "--consumer", "amy", "--count", "10")
    cli("ack", "lvr", *(i for i in ids if i != ids[2]))
    gauges = queue_gauges(client, prefix, "analysts", TODAY)["lvr"]
    assert (gauges["pending"], gauges["overdue"], gauges["due_soon"]) == (1, 1, 0)
    assert client.xinfo_groups(stream)[0]["last-delivered-id"] == ids[-1]

    cli("ack", "lvr", ids[2])
    gauges = queue_gauges(client, prefix, "analysts", TODAY)["lvr"]
    assert gauges == {
        "depth": 6,
        "pending": 0,
        "oldest_age_seconds": 0.0,
        "overdue": 0,
        "due_soon": 0,
    }
    data = cli.json("ls", "--today", TODAY.isoformat())["queues"][0]
    assert data["open"] == 0 and data["oldest_age_seconds"] is None
    code, out, _ = cli("ls")
    assert _columns(out.splitlines()[1])[4] == "-"


def _counted_in_python(client: redis.Redis, stream: str, group: str, today: date) -> QueueSummary:
    """The reference: every open entry read and counted here (how `summarise` counted before
    it counted inside Redis)."""
    summary = QueueSummary(depth=int(client.xlen(stream)))
    summary.pending = next(
        (int(g["pending"]) for g in client.xinfo_groups(stream) if g["name"] == group), 0
    )
    for entry_id, fields in open_entries(client, stream, group):
        summary.add_open(entry_id, fields, today)
    return summary


def test_open_entries_are_counted_in_redis_as_in_python(client, prefix):
    """Several slices of both kinds (PEL and never delivered), entries deleted while pending,
    and report_due values that are no date: the same figures as reading every entry."""
    stream, group = f"{prefix}lvr", "analysts"
    dues = [
        "2026-03-08",
        "2026-03-09",
        "2026-03-10",
        "2026-03-11",
        "2026-03-12",
        "",
        "2026-02-29",
        "2024-02-29",
        "2026-13-01",
        "0000-01-01",
        "soon",
        "2026-3-9",
    ]
    for i in range(2_600):
        client.xadd(stream, {"alert_id": f"al-{i}", "report_due": dues[i % len(dues)]})
    assert summarise(client, stream, group, TODAY) == _counted_in_python(
        client, stream, group, TODAY
    )

    client.xgroup_create(stream, group, id="0")
    claimed = client.xreadgroup(group, "amy", {stream: ">"}, count=2_300)[0][1]
    ids = [entry_id for entry_id, _ in claimed]
    client.xack(stream, group, *ids[::3])  # a third of the claimed done
    client.xdel(stream, *ids[1:400:7])  # some pending entries deleted from the stream
    for today in (TODAY, TODAY + timedelta(days=1), date(2026, 3, 12)):
        counted, reference = (
            summarise(client, stream, group, today),
            _counted_in_python(client, stream, group, today),
        )
        assert counted == reference
        assert (
            counted.pending > 1_000 and counted.open > counted.pending
        )  # both kinds, several slices
        assert counted.overdue and counted.due_soon


def test_gauges_set_the_queue_metrics(client, server, prefix):
    add(server.url, prefix, alert(1, due=TODAY - timedelta(days=2)), alert(2, queue="str"))
    registry = CollectorRegistry()
    metrics = Metrics.create(registry)
    gauges = {
        "depth": metrics.queue_depth,
        "pending": metrics.queue_pending,
        "oldest_age_seconds": metrics.queue_oldest_age,
        "overdue": metrics.queue_overdue,
        "due_soon": metrics.queue_due_soon,
    }
    assert tuple(gauges) == GAUGE_KEYS
    for queue, values in queue_gauges(client, prefix, "analysts", TODAY).items():
        assert set(values) == set(GAUGE_KEYS)
        for key, value in values.items():
            gauges[key].labels(queue=queue).set(value)
    assert registry.get_sample_value("monitor_queue_overdue", {"queue": "lvr"}) == 1
    assert registry.get_sample_value("monitor_queue_depth", {"queue": "str"}) == 1


def test_gauges_read_undecoded_clients_too(server, prefix):
    add(server.url, prefix, alert(1, due=TODAY - timedelta(days=1)))
    raw = redis.Redis.from_url(server.url)  # bytes replies
    try:
        assert queue_gauges(raw, prefix, "analysts", TODAY)["lvr"]["overdue"] == 1
    finally:
        raw.close()


# --------------------------------------------------------------------------- stats


def test_stats_per_queue_and_rule(cli, server, prefix):
    past = TODAY - timedelta(days=1)
    ids = add(
        server.url,
        prefix,
        alert(1, rule_id="LV_CASH", due=past),
        alert(2, rule_id="LV_CASH", due=TODAY),
        alert(3, rule_id="LV_TRANSFER", due=past),
        alert(4, queue="suspicious", rule_id="STR_STRUCTURING", due=past),
        alert(5, queue="suspicious", rule_id="LV_CASH", due=None),
    )
    cli("claim", "lvr", "--consumer", "amy", "--count", "1")
    cli("ack", "lvr", ids[0])

    data = cli.json("stats", "--today", TODAY.isoformat())
    lvr = data["queues"]["lvr"]
    assert {k: lvr[k] for k in ("entries", "open", "overdue", "due_soon")} == {
        "entries": 3,
        "open": 2,
        "overdue": 1,
        "due_soon": 1,
    }
    assert lvr["rules"]["LV_CASH"] == {"entries": 2, "open": 1, "overdue": 0, "due_soon": 1}
    assert lvr["rules"]["LV_TRANSFER"] == {"entries": 1, "open": 1, "overdue": 1, "due_soon": 0}
    assert data["rules"]["LV_CASH"] == {"entries": 3, "open": 2, "overdue": 0, "due_soon": 1}
    assert data["rules"]["STR_STRUCTURING"]["overdue"] == 1

    code, out, err = cli("stats", "--today", TODAY.isoformat())
    assert code == 0 and err == ""
    rows = [_columns(line) for line in out.splitlines()]
    assert rows[0] == ["QUEUE", "RULE", "ENTRIES", "OPEN", "OVERDUE", "DUE SOON"]
    assert ["lvr", "LV_CASH", "2", "1", "0", "1"] in rows
    assert ["lvr", "(all)", "3", "2", "1", "1"] in rows
    assert ["(all)", "LV_CASH", "3", "2", "0", "1"] in rows
    widths = {len(line) for line in out.splitlines()[:-1]}
    assert len(widths) == 1  # right-aligned counts end in one column


# --------------------------------------------------------------------------- Redis down


@pytest.mark.parametrize(
    "command",
    [
        ["ls"],
        ["tail", "lvr"],
        ["stats"],
        ["ls", "--json"],
        ["claim", "lvr", "--consumer", "amy"],
        ["ack", "lvr", "1-0"],
    ],
)
def test_redis_down_is_one_line_without_the_password(capsys, prefix, command):
    url = f"redis://:s3cret-pw@127.0.0.1:{free_port()}/0"  # nothing listens there
    code, out, err = Cli(capsys, url, prefix)(*command)
    assert code == 1 and out == ""
    assert err.count("\n") == 1
    assert err.startswith("monitor queue: cannot reach Redis at redis://:***@127.0.0.1:")
    assert "s3cret-pw" not in err


def test_bad_url_scheme_is_refused_without_the_password(capsys, prefix):
    code, out, err = Cli(capsys, "http://user:s3cret-pw@host/0", prefix)("ls")
    assert code == 2 and out == "" and "s3cret-pw" not in err and "invalid Redis URL" in err
