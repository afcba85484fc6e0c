"""Bad input gets the right status and an RFC 9457 problem naming what and where — and no
decision is recorded for it."""

from __future__ import annotations

from typing import Any

import pytest
from servicekit import APPLICATION
from starlette.testclient import TestClient

from fengkong.store import open_store

DECIDE = "/v1/decisions/application"


def problem(response: Any, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["type"].endswith("/" + kind)
    assert body["title"] and "Traceback" not in response.text
    return body


def test_invalid_json_is_a_400_saying_where(client: TestClient) -> None:
    body = problem(client.post(DECIDE, content=b'{"applicationId": "A",\n "loan": }'),
                   400, "invalid-json")
    assert body["errors"][0]["line"] == 2 and body["errors"][0]["column"] == 10
    problem(client.post(DECIDE, content=b"\xff\xfe"), 400, "invalid-json")
    problem(client.post(DECIDE, content=b'{"amount": NaN}'), 400, "invalid-json")


def test_an_unknown_flow_or_route_is_a_404(client: TestClient) -> None:
    body = problem(client.post("/v1/decisions/no-such-flow", json=APPLICATION), 404,
                   "unknown-flow")
    assert "application" in body["detail"]
    problem(client.get("/v1/nothing-here"), 404, "not-found")
    problem(client.get("/v1/decisions/0000"), 404, "not-found")
    problem(client.delete("/v1/decisions/application"), 405, "method-not-allowed")


def test_an_oversized_body_is_a_413_before_it_is_read(client: TestClient) -> None:
    huge = b'{"pad": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    problem(client.post(DECIDE, content=huge), 413, "too-large")

    def chunks() -> Any:  # no Content-Length: the limit applies while streaming
        for _ in range(40):
            yield b"x" * 65536

    problem(client.post(DECIDE, content=chunks()), 413, "too-large")


@pytest.mark.parametrize(("change", "field"), [
    ({"applicant": {"idNumber": "110101199001011234", "phone": "13800000001",
                    "monthlyIncome": 15000}}, "applicant.age"),
    ({"loan": {"amount": "twenty thousand"}}, "loan.amount"),
    ({"applicant": {"idNumber": "110101199001011234", "phone": "12345", "age": 35,
                    "monthlyIncome": 15000}}, "applicant.phone"),
    ({"applicationId": 42}, "applicationId"),
])
def test_an_invalid_application_is_a_422_naming_the_field(client: TestClient, db: str,
                                                          change: dict[str, Any],
                                                          field: str) -> None:
    body = problem(client.post(DECIDE, json={**APPLICATION, **change}), 422, "validation")
    assert body["errors"][0]["field"] == field, body
    with open_store(db) as store:
        assert store.count_decisions() == 0


def test_an_application_must_be_an_object(client: TestClient) -> None:
    problem(client.post(DECIDE, json=[APPLICATION]), 422, "validation")


def test_bad_headers_and_queries_are_named(client: TestClient) -> None:
    problem(client.post(DECIDE, json=APPLICATION, headers={"Idempotency-Key": "k" * 200}),
            400, "invalid-header")
    body = problem(client.get("/v1/decisions", params={"limit": "many"}), 422, "validation")
    assert body["errors"][0]["field"] == "limit"
    body = problem(client.get("/v1/decisions", params={"from": "2026-12-01T00:00:00"}),
                   422, "validation")
    assert "offset" in body["detail"]
    problem(client.get("/v1/decisions", params={"colour": "red"}), 422, "validation")
    problem(client.get("/v1/decisions", params={"cursor": "not-a-cursor"}), 422, "validation")
    problem(client.get("/v1/reviews", params={"status": "pending"}), 422, "validation")


def test_a_malformed_event_batch_records_nothing(client: TestClient, db: str) -> None:
    body = problem(client.post("/v1/events", json={"events": [{"id": "", "type": "login"}]}),
                   422, "validation")
    assert {e["field"] for e in body["errors"]} == {"events[0].id", "events[0].data"}
    problem(client.post("/v1/events", json=[]), 422, "validation")
    with open_store(db) as store:
        assert store.count_events() == 0
