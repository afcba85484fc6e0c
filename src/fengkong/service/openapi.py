"""The OpenAPI 3.1 document of a running service, with each flow's own input schema.

The loan-origination team generates its client from ``/openapi.json``, and schemathesis
fuzzes the API from it in CI, so it must describe exactly what the routes accept and
answer — including, per flow, the JSON Schema the flow's input node enforces (the
application's fields). Flows without a schema accept any JSON object.
"""

from __future__ import annotations

import json
from typing import Any

from fengkong import __version__ as FENGKONG_VERSION

_PROBLEM = {"$ref": "#/components/schemas/Problem"}
_PROBLEM_RESPONSE = {"content": {"application/problem+json": {"schema": _PROBLEM}}}
_ID = {"type": "string", "minLength": 1, "maxLength": 128}


def _problems(*statuses: int) -> dict[str, Any]:
    texts = {400: "Malformed request (not JSON)", 404: "Not found", 409: "Conflict",
             413: "Body too large", 422: "Invalid input: `errors` names each field",
             500: "The strategy failed", 503: "The store cannot record: nothing was decided"}
    return {str(status): {"description": texts[status], **_PROBLEM_RESPONSE}
            for status in statuses}


def _json_body(schema: dict[str, Any], required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def _ok(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"200": {"description": description,
                    "content": {"application/json": {"schema": schema}}}}


def flow_input_schema(document: dict[str, Any]) -> dict[str, Any]:
    """The JSON Schema of a JDM flow's input node (any object when it has none)."""
    for node in document.get("nodes", []):
        if isinstance(node, dict) and node.get("type") == "inputNode":
            schema = (node.get("content") or {}).get("schema")
            if isinstance(schema, str) and schema.strip():
                schema = json.loads(schema)
            if isinstance(schema, dict):
                return schema
    return {"type": "object"}


def openapi_document(project: Any) -> dict[str, Any]:
    """The document for ``project``'s flows."""
    paths: dict[str, Any] = {}
    for flow in sorted(project.flows):
        document = json.loads((project.root / "flows" / f"{flow}.json").read_text("utf-8"))
        schema = flow_input_schema(document)
        paths[f"/v1/decisions/{flow}"] = {"post": {
            "operationId": f"decide_{flow}".replace("-", "_"),
            "summary": f"Decide one application with flow {flow}",
            "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False,
                            "schema": _ID}],
            "requestBody": _json_body(schema),
            "responses": {**_ok({"$ref": "#/components/schemas/Decision"}, "The decision"),
                          **_problems(400, 409, 413, 422, 500, 503)}}}
    paths["/v1/decisions/{decisionId}"] = {"get": {
        "operationId": "get_decision", "summary": "One decision with its trace and features",
        "parameters": [{"name": "decisionId", "in": "path", "required": True, "schema": _ID}],
        "responses": {**_ok({"$ref": "#/components/schemas/DecisionDetail"}),
                      **_problems(404)}}}
    paths["/v1/decisions"] = {"get": {
        "operationId": "list_decisions", "summary": "Decisions, newest first, with filters",
        "parameters": [
            {"name": "flow", "in": "query", "schema": {"type": "string"}},
            {"name": "outcome", "in": "query",
             "schema": {"type": "string", "enum": ["APPROVE", "REJECT", "REVIEW"]}},
            {"name": "applicationId", "in": "query", "schema": {"type": "string"}},
            {"name": "from", "in": "query", "schema": {"type": "string", "format": "date-time"}},
            {"name": "to", "in": "query", "schema": {"type": "string", "format": "date-time"}},
            {"name": "limit", "in": "query",
             "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
            {"name": "cursor", "in": "query", "schema": {"type": "string"}}],
        "responses": {**_ok({"type": "object", "required": ["decisions", "nextCursor"],
                             "properties": {
                                 "decisions": {"type": "array", "items": {
                                     "$ref": "#/components/schemas/Decision"}},
                                 "nextCursor": {"type": ["string", "null"]}}}),
                      **_problems(422)}}}
    paths["/v1/events"] = {"post": {
        "operationId": "post_events", "summary": "A batch of events into the log and features",
        "requestBody": _json_body({"$ref": "#/components/schemas/EventBatch"}),
        "responses": {**_ok({"$ref": "#/components/schemas/EventReport"}),
                      **_problems(400, 413, 422, 503)}}}
    paths["/v1/reviews"] = {"get": {
        "operationId": "list_reviews", "summary": "The manual-review queue",
        "parameters": [
            {"name": "status", "in": "query",
             "schema": {"type": "string", "enum": ["open", "approved", "rejected", "all"]}},
            {"name": "limit", "in": "query",
             "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
            {"name": "cursor", "in": "query", "schema": {"type": "string"}}],
        "responses": {**_ok({"type": "object"}), **_problems(422)}}}
    paths["/v1/reviews/{decisionId}"] = {"post": {
        "operationId": "resolve_review", "summary": "Approve or reject a referred application",
        "parameters": [{"name": "decisionId", "in": "path", "required": True, "schema": _ID}],
        "requestBody": _json_body({
            "type": "object", "required": ["action", "reviewer"],
            "properties": {"action": {"type": "string", "enum": ["approve", "reject"]},
                           "reviewer": {"type": "string", "minLength": 1},
                           "comment": {"type": "string"}}}),
        "responses": {**_ok({"type": "object"}), **_problems(400, 404, 409, 413, 422)}}}
    paths["/v1/strategy"] = {"get": {
        "operationId": "strategy_info", "summary": "The running strategy: version and files",
        "responses": _ok({"type": "object"})}}
    paths["/v1/strategy/validate"] = {"post": {
        "operationId": "validate_flow", "summary": "Check that a JDM document compiles",
        "parameters": [{"name": "flow", "in": "query", "schema": {"type": "string"}}],
        "requestBody": _json_body({"type": "object"}),
        "responses": {**_ok({"type": "object", "required": ["valid", "errors"],
                             "properties": {"valid": {"type": "boolean"},
                                            "errors": {"type": "array"}}}),
                      **_problems(400, 413, 422)}}}
    paths["/v1/strategy/files/{path}"] = {"get": {
        "operationId": "strategy_file", "summary": "One file of the running strategy",
        "parameters": [{"name": "path", "in": "path", "required": True,
                        "schema": {"type": "string"}}],
        "responses": {"200": {"description": "The file as it is"}, **_problems(404)}}}
    paths["/v1/strategy/drafts/{path}"] = {"put": {
        "operationId": "save_draft", "summary": "Save a draft of a strategy document",
        "parameters": [{"name": "path", "in": "path", "required": True,
                        "schema": {"type": "string"}},
                       {"name": "X-Author", "in": "header", "required": True,
                        "schema": {"type": "string", "minLength": 1}}],
        "requestBody": {"required": True,
                        "content": {"text/plain": {"schema": {"type": "string"}}}},
        "responses": {**_ok({"type": "object"}), **_problems(413, 422)}}}
    paths["/v1/strategy/publish"] = {"post": {
        "operationId": "publish", "summary": "Store the running version and record its release",
        "requestBody": _json_body({"type": "object", "required": ["actor"], "properties": {
            "actor": {"type": "string", "minLength": 1}, "note": {"type": "string"}}}),
        "responses": {**_ok({"type": "object"}), **_problems(400, 413, 422)}}}
    paths["/v1/strategy/releases"] = {"get": {
        "operationId": "list_releases", "summary": "Published versions, newest first",
        "responses": _ok({"type": "object"})}}
    paths["/healthz"] = {"get": {"operationId": "healthz", "summary": "Liveness",
                                 "responses": _ok({"type": "object"})}}
    paths["/metrics"] = {"get": {"operationId": "metrics", "summary": "Prometheus metrics",
                                 "responses": {"200": {"description": "OK", "content": {
                                     "text/plain": {"schema": {"type": "string"}}}}}}}
    return {"openapi": "3.1.0",
            "info": {"title": f"fengkong decision service: {project.name}",
                     "version": FENGKONG_VERSION,
                     "description": f"Strategy {project.name}, version {project.version}"},
            "paths": paths, "components": {"schemas": _SCHEMAS}}


_DECISION_PROPERTIES: dict[str, Any] = {
    "decisionId": {"type": "string"},
    "applicationId": {"type": ["string", "null"]},
    "flow": {"type": "string"},
    "outcome": {"type": "string", "enum": ["APPROVE", "REJECT", "REVIEW"]},
    "strategyVersion": {"type": "string"},
    "decidedAt": {"type": "string", "format": "date-time"},
    "result": {},
}
_SCHEMAS: dict[str, Any] = {
    "Problem": {"type": "object", "required": ["type", "title", "status"], "properties": {
        "type": {"type": "string"}, "title": {"type": "string"},
        "status": {"type": "integer"}, "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}}}},
    "Decision": {"type": "object", "properties": _DECISION_PROPERTIES,
                 "required": ["decisionId", "flow", "outcome", "strategyVersion",
                              "decidedAt"]},
    "DecisionDetail": {"type": "object", "properties": {
        **_DECISION_PROPERTIES, "request": {"type": "object"}, "trace": {},
        "features": {}, "record": {"type": "object"}},
        "required": ["decisionId", "flow", "outcome", "request", "record"]},
    "EventBatch": {"type": "object", "required": ["events"], "properties": {
        "events": {"type": "array", "maxItems": 10_000, "items": {
            "type": "object", "required": ["id", "type", "data"], "properties": {
                "id": {"type": "string", "minLength": 1},
                "type": {"type": "string", "minLength": 1},
                "data": {"type": "object"}}}}}},
    "EventReport": {"type": "object", "required": ["accepted", "duplicates", "rejected"],
                    "properties": {"accepted": {"type": "integer"},
                                   "duplicates": {"type": "integer"},
                                   "rejected": {"type": "array"}}},
}
