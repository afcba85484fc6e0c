"""The replay against a real server subprocess: the log holds every decision and verifies,
the features a decision used are the offline backfill's, and ``fengkong demo`` end to end."""

from __future__ import annotations

import io
import math
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from fengkong.cli import main
from fengkong.demo import PreparedDemo
from fengkong.demo.replay import (
    DemoServer,
    ReasonTexts,
    ReplayResult,
    check_log,
    load_stream,
    replay,
    selection,
    summarise,
)
from fengkong.features.backfill import Event, backfill
from fengkong.features.kernels import FeaturePlan
from fengkong.features.spec import epoch_milliseconds
from fengkong.project.core import Project

COUNT = 40


@pytest.fixture(scope="module")
def served(prepared: PreparedDemo, workdir_copy: Path
           ) -> Iterator[tuple[DemoServer, ReplayResult, str]]:
    project = workdir_copy / "project"
    server = DemoServer(project, workdir_copy)
    server.start()
    try:
        out = io.StringIO()
        result = replay(server.url, load_stream(workdir_copy / "replay" / "stream.json"),
                        COUNT, ReasonTexts(project), out)
        yield server, result, out.getvalue()
    finally:
        server.stop()


def test_every_application_is_decided_logged_once_and_the_chain_verifies(served):
    server, result, printed = served
    assert [entry.status for entry in result.decided] == [200] * COUNT
    assert len(printed.splitlines()) == COUNT
    assert result.events_sent == result.events_accepted > 0
    log = check_log(server.url, server.db_url)
    assert log.listed == log.stored == COUNT
    assert log.chain_ok and log.chain_checked == COUNT
    lines = summarise(result, log, ReasonTexts(server.project))
    outcomes = {entry.outcome for entry in result.decided}
    assert outcomes <= {"APPROVE", "REVIEW", "REJECT"} and "REJECT" in outcomes
    counted = lines[1]
    assert sum(int(part.split()[1]) for part in counted.removeprefix("outcomes: ").split(", ")
               ) == COUNT
    assert any(line.endswith(": match") for line in lines)
    assert lines[-1].endswith("intact")


def test_decisions_are_consistent_and_name_each_reason_once(served):
    _, result, _ = served
    for entry in result.decided:
        assert len(entry.reasons) == len(set(entry.reasons)), entry
        assert set(entry.scores) == {"application", "fraud"}
        if entry.outcome == "APPROVE":
            assert entry.limit and entry.limit > 0 and 0 < entry.apr <= 0.24
            assert entry.reasons == []
        else:
            assert entry.limit == 0 and entry.reasons
        if entry.truth["blacklisted"] or entry.truth["malformedId"]:
            assert entry.outcome == "REJECT"
            assert ("K02" if entry.truth["blacklisted"] else "K01") in entry.reasons


def _same(online: Any, offline: float) -> bool:
    if online is None:
        return math.isnan(offline)
    return online == offline or abs(online - offline) <= 1e-9 * max(1.0, abs(offline))


def test_online_features_equal_the_offline_backfill_of_the_same_events(served):
    """One definition serves both: replay what the server saw through the backfill."""
    server, _, _ = served
    project = Project.load(server.project)
    stream = load_stream(server.workdir / "replay" / "stream.json")
    applications, history = selection(stream, COUNT)
    events = [Event(item["type"], item["at"], item["data"], item["id"]) for item in history]
    with httpx.Client(base_url=server.url) as client:
        details = [client.get(f"/v1/decisions/{decision['decisionId']}").json()
                   for decision in client.get("/v1/decisions",
                                              params={"limit": COUNT}).json()["decisions"]]
    details.sort(key=lambda detail: detail["applicationId"])
    assert [detail["applicationId"] for detail in details] == \
        [entry["body"]["applicationId"] for entry in applications]
    for detail in details:  # each decided application is an event for the next ones
        event_type, record, stamp = project.decision_event("application", detail["request"],
                                                           detail["result"])
        events.append(Event(event_type, stamp, record))
    names = sorted(details[0]["features"])
    assert len(names) >= 45  # the knock-outs' and the fraud model's, not all 1,635
    chosen = project.feature_set.select(names)
    plan = FeaturePlan(chosen.features, chosen.events)
    keys = [(epoch_milliseconds(detail["request"]["appliedAt"]),
             {"id_number": detail["request"]["applicant"]["idNumber"],
              "phone": detail["request"]["applicant"]["phone"],
              "device": detail["request"]["device"]["id"],
              "ip": detail["request"]["device"]["ip"],
              "card": detail["request"]["bankCard"]}) for detail in details]
    matrix = backfill(plan, sorted(events, key=lambda event: event.timestamp), keys)
    compared = 0
    for row, detail in enumerate(details):
        online = detail["features"]
        assert sorted(online) == names
        for column, name in enumerate(plan.names):
            if name in online:
                assert _same(online[name], matrix[row, column]), (
                    detail["applicationId"], name, online[name], matrix[row, column])
                compared += 1
    assert compared == len(names) * COUNT
    # Not a comparison of zeros: the ring's devices and phones have history.
    assert max(detail["features"]["device.application.count.1d"] for detail in details) >= 2
    assert max(detail["features"]["device.login.failed.count.1d"] for detail in details) >= 1
    assert sum(detail["features"]["id_number.repayment.count.lifetime"] > 0
               for detail in details) >= 5


def test_fengkong_demo_end_to_end(prepared: PreparedDemo, tmp_path, capsys):
    work = tmp_path / "work"
    shutil.copytree(prepared.workdir, work, ignore=shutil.ignore_patterns("fengkong.db*"))
    status = main(["demo", "--workdir", str(work), "--size", "small", "-n", "12"])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    lines = captured.out.splitlines()
    decisions = [line for line in lines if line.startswith("DEMO-")]
    assert len(decisions) == 12
    assert "decision log: 12 listed by GET /v1/decisions, 12 stored, 12 decided by the " \
           "replay: match" in lines
    assert lines[-1] == "audit chain: 12 entries, intact"
    assert "scorecard: up to date" in captured.err  # prepared data reused
    assert not (work / "project" / ".fengkong").exists()  # the store is in the workdir
    assert (work / "fengkong.db").exists()


def test_a_bad_application_is_refused_naming_the_field(served):
    server, _, _ = served
    stream = load_stream(server.workdir / "replay" / "stream.json")
    body = {**stream["applications"][0]["body"], "applicationId": "BAD-1"}
    body["applicant"] = {**body["applicant"], "age": "thirty"}
    answer = httpx.post(f"{server.url}/v1/decisions/application", json=body)
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "applicant.age"
