"""Deciding over HTTP: answers, the durable record, idempotency, features, restart."""

from __future__ import annotations

import base64
import json
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from servicekit import APPLICATION, LiveServer, application, serving
from starlette.testclient import TestClient

from fengkong.service import ServiceSettings
from fengkong.store import open_store


def test_a_decision_is_answered_and_recorded_with_its_trace(client: TestClient,
                                                            db: str) -> None:
    response = client.post("/v1/decisions/application", json=APPLICATION)
    assert response.status_code == 200, response.text
    decision = response.json()
    assert decision["outcome"] == "APPROVE" and decision["applicationId"] == "APP-0001"
    assert decision["limit"] == 20000 and 0 < decision["apr"] <= 0.24
    assert decision["reasons"] == [] and decision["result"]["decision"] == "APPROVE"
    assert len(decision["strategyVersion"]) == 64

    detail = client.get(f"/v1/decisions/{decision['decisionId']}").json()
    assert detail["request"] == APPLICATION
    assert detail["record"]["seq"] == 1 and len(detail["record"]["hash"]) == 64
    assert {"features", "knockout", "decide"} <= set(detail["trace"])
    assert "input" not in detail["trace"]["decide"]  # compact: no copies of the context
    assert detail["features"]["phone.application.count.7d"] == 0
    with open_store(db) as store:
        assert store.count_decisions() == 1 and store.verify_chain().ok


def test_the_same_application_gets_the_same_decision_never_a_second(
        client: TestClient, db: str) -> None:
    first = client.post("/v1/decisions/application", json=APPLICATION)
    again = client.post("/v1/decisions/application", json=APPLICATION)
    assert again.status_code == 200 and again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    changed = client.post("/v1/decisions/application",
                          json={**APPLICATION, "loan": {"amount": 30000}})
    assert changed.status_code == 409
    assert changed.json()["decisionId"] == first.json()["decisionId"]
    keyed = client.post("/v1/decisions/application", json=application(2),
                        headers={"Idempotency-Key": "retry-7"})
    by_key = client.post("/v1/decisions/application", json=application(2),
                         headers={"Idempotency-Key": "retry-7"})
    assert by_key.json()["decisionId"] == keyed.json()["decisionId"]
    reused = client.post("/v1/decisions/application", json=application(3),
                         headers={"Idempotency-Key": "retry-7"})
    assert reused.status_code == 422
    assert reused.json()["type"].endswith("idempotency-key-reused")
    with open_store(db) as store:
        assert store.count_decisions() == 2


def test_concurrent_retries_of_one_application_get_one_decision(live_server: LiveServer,
                                                                db: str) -> None:
    def send(_: int) -> httpx.Response:
        return httpx.post(f"{live_server.url}/v1/decisions/application",
                          json=application(9), timeout=30)

    with ThreadPoolExecutor(16) as pool:
        responses = list(pool.map(send, range(32)))
    assert {response.status_code for response in responses} == {200}
    assert len({response.json()["decisionId"] for response in responses}) == 1
    with open_store(db) as store:
        assert store.count_decisions() == 1


def test_decisions_feed_the_velocity_of_the_next_application(client: TestClient) -> None:
    # The scaffold rejects a fourth application from one phone within a week (K04).
    shared_phone = {"applicant__phone": "13700000000"}
    outcomes = [client.post("/v1/decisions/application",
                            json=application(n, **shared_phone)).json()["outcome"]
                for n in range(1, 5)]
    assert outcomes[:3] == ["APPROVE"] * 3
    assert outcomes[3] == "REJECT"
    listing = client.get("/v1/decisions", params={"outcome": "REJECT"}).json()
    assert [d["applicationId"] for d in listing["decisions"]] == ["APP-0004"]
    assert listing["decisions"][0]["reasons"] == ["K04"]


def test_a_restarted_server_remembers_the_velocity(project: Path, db: str) -> None:
    settings = ServiceSettings(project=project, db=db)
    shared_phone = {"applicant__phone": "13700000000"}
    with serving(settings) as first:
        for n in range(1, 4):
            assert first.post("/v1/decisions/application",
                              json=application(n, **shared_phone)).status_code == 200
    with serving(settings) as restarted:
        fourth = restarted.post("/v1/decisions/application",
                                json=application(4, **shared_phone)).json()
    assert fourth["outcome"] == "REJECT" and fourth["reasons"] == ["K04"]


def test_a_store_that_cannot_write_gets_503_and_no_decision(project: Path,
                                                            tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    settings = ServiceSettings(project=project, db=f"sqlite:///{path}?busy_timeout=100")
    with serving(settings) as client:
        blocker = sqlite3.connect(path)
        blocker.execute("BEGIN EXCLUSIVE")
        try:
            response = client.post("/v1/decisions/application", json=APPLICATION)
        finally:
            blocker.rollback()
            blocker.close()
        assert response.status_code == 503
        problem = response.json()
        assert problem["type"].endswith("store-unavailable") and "decisionId" not in problem
        assert response.headers["retry-after"] == "1"
        # Once the store writes again the same application is decided, once.
        retry = client.post("/v1/decisions/application", json=APPLICATION)
        assert retry.status_code == 200 and "idempotent-replayed" not in retry.headers
    with open_store(f"sqlite:///{path}") as store:
        assert store.count_decisions() == 1


def test_a_review_decision_is_queued_and_closed_by_a_reviewer(client: TestClient) -> None:
    # The scaffold refers an applicant with a declined application in the last 30 days.
    history = {"events": [{"id": "A-1", "type": "application", "data": {
        "applied_at": "2026-11-10T09:00:00+08:00", "phone": "13900000042",
        "id_number": "110101199000000042", "device_id": "DEV-X", "amount": 5000,
        "approved": False}}]}
    assert client.post("/v1/events", json=history).json()["accepted"] == 1
    decision = client.post("/v1/decisions/application", json=application(42)).json()
    assert decision["outcome"] == "REVIEW"
    queue = client.get("/v1/reviews").json()["reviews"]
    assert [item["decisionId"] for item in queue] == [decision["decisionId"]]
    bad = client.post(f"/v1/reviews/{decision['decisionId']}", json={"action": "maybe"})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"action", "reviewer"}
    closed = client.post(f"/v1/reviews/{decision['decisionId']}",
                         json={"action": "approve", "reviewer": "王审核",
                               "comment": "income verified by phone"})
    assert closed.status_code == 200, closed.text
    assert client.get("/v1/reviews").json()["reviews"] == []
    again = client.post(f"/v1/reviews/{decision['decisionId']}",
                        json={"action": "reject", "reviewer": "李审核"})
    assert again.status_code == 409
    missing = client.post("/v1/reviews/no-such-decision",
                          json={"action": "reject", "reviewer": "李审核"})
    assert missing.status_code == 404


def test_events_are_logged_applied_and_deduplicated(client: TestClient, db: str) -> None:
    events = [{"id": f"A-{n}", "type": "application", "data": {
        "applied_at": f"2026-11-2{n}T09:00:00+08:00", "phone": "13700000000",
        "id_number": f"31010119850505{n:04d}", "device_id": f"DEV-{n}", "amount": 5000,
        "approved": True}} for n in range(1, 4)]
    bad = {"id": "A-9", "type": "application", "data": {
        "applied_at": "yesterday", "phone": "13700000000", "id_number": "X",
        "device_id": "D", "amount": "lots", "approved": True}}
    unknown = {"id": "Z-1", "type": "teleport", "data": {}}
    report = client.post("/v1/events", json={"events": [*events, bad, unknown]}).json()
    assert report["accepted"] == 3 and report["duplicates"] == 0
    assert [entry["index"] for entry in report["rejected"]] == [3, 4]
    assert report["rejected"][0]["field"].startswith("events[3].data.")
    assert report["rejected"][1]["field"] == "events[4].type"
    again = client.post("/v1/events", json={"events": events[:2]}).json()
    assert again == {"accepted": 0, "duplicates": 2, "rejected": []}
    fourth = client.post("/v1/decisions/application",
                         json=application(5, applicant__phone="13700000000")).json()
    assert fourth["outcome"] == "REJECT" and fourth["reasons"] == ["K04"]
    with open_store(db) as store:
        assert store.count_events() == 3


def test_listing_pages_through_every_decision_once(client: TestClient) -> None:
    ids = {client.post("/v1/decisions/application", json=application(n)).json()["decisionId"]
           for n in range(1, 8)}
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/decisions", params=params).json()
        seen += [d["decisionId"] for d in page["decisions"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert len(seen) == 7 and set(seen) == ids


def test_health_metrics_and_strategy(client: TestClient, db: str) -> None:
    client.post("/v1/decisions/application", json=APPLICATION)
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["strategy"] == "service-test"
    metrics = client.get("/metrics").text
    assert 'fengkong_decisions_total{flow="application",outcome="APPROVE"} 1.0' in metrics
    assert "fengkong_decision_seconds_bucket" in metrics
    strategy = client.get("/v1/strategy").json()
    assert strategy["flows"] == ["application"] and "flows/application.json" in strategy["files"]
    flow = client.get("/v1/strategy/files/flows/application.json")
    assert flow.status_code == 200 and json.loads(flow.content)["nodes"]
    assert client.get("/v1/strategy/files/../../etc/passwd").status_code == 404
    broken = {"nodes": [{"id": "in", "type": "inputNode"},
                        {"id": "rule", "type": "expressionNode", "content": {"expressions": [
                            {"id": "e", "key": "x", "value": "applicant.age >"}]}}],
              "edges": [{"id": "1", "sourceId": "in", "targetId": "rule"}]}
    checked = client.post("/v1/strategy/validate", json=broken).json()
    assert checked["valid"] is False and checked["errors"][0]["node_id"] == "rule"
    assert checked["errors"][0]["position"] == 15
    assert client.post("/v1/strategy/validate",
                       content=flow.content).json() == {"valid": True, "errors": []}
    published = client.post("/v1/strategy/publish", json={"actor": "张分析"}).json()
    assert published["versionHash"] == strategy["version"] and published["action"] == "publish"
    with open_store(db) as store:
        version = store.get_version("default", strategy["version"])
    assert version is not None and set(version.files) == set(strategy["files"])
    assert version.files["flows/application.json"] == flow.content.decode()
    releases = client.get("/v1/strategy/releases").json()["releases"]
    assert [release["versionHash"] for release in releases] == [strategy["version"]]
    assert client.post("/v1/strategy/publish", json={}).status_code == 422


def test_the_service_on_postgresql(project: Path, postgres: Any) -> None:
    """The same API on the real PostgreSQL: decide, replay, restart with the velocity, and
    an intact chain."""
    settings = ServiceSettings(project=project, db=postgres.new_url())
    shared_phone = {"applicant__phone": "13700000000"}
    with serving(settings) as client:
        first = client.post("/v1/decisions/application",
                            json=application(1, **shared_phone)).json()
        again = client.post("/v1/decisions/application", json=application(1, **shared_phone))
        assert again.json()["decisionId"] == first["decisionId"]
        for n in (2, 3):
            client.post("/v1/decisions/application", json=application(n, **shared_phone))
    with serving(settings) as restarted:
        fourth = restarted.post("/v1/decisions/application",
                                json=application(4, **shared_phone)).json()
        assert fourth["outcome"] == "REJECT" and fourth["reasons"] == ["K04"]
        assert len(restarted.get("/v1/decisions").json()["decisions"]) == 4
    with open_store(settings.db or "") as store:
        assert store.count_decisions() == 4 and store.verify_chain().ok


def test_a_published_version_keeps_binary_files_byte_for_byte(project: Path, db: str) -> None:
    png = bytes(range(256)) * 4  # not UTF-8, like a model card's plots
    (project / "models" / "card.png").write_bytes(png)
    with serving(ServiceSettings(project=project, db=db)) as client:
        version = client.get("/v1/strategy").json()["version"]
        assert client.post("/v1/strategy/publish", json={"actor": "张分析"}).status_code == 200
    with open_store(db) as store:
        stored = store.get_version("default", version)
    assert stored is not None
    text = stored.files["models/card.png"]
    assert text.startswith("base64:") and base64.b64decode(text[7:]) == png
