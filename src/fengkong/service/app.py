"""The decision service's HTTP API: one ASGI app per strategy project and store.

Routes (the OpenAPI document at ``/openapi.json`` describes each, with the flows' own
input schemas):

* ``POST /v1/decisions/{flow}``: decide one application (:mod:`fengkong.service.decisions`);
* ``GET /v1/decisions/{id}``, ``GET /v1/decisions``: read the decision log;
* ``POST /v1/events``: event batches into the log and the features
  (:mod:`fengkong.service.events`);
* ``GET /v1/reviews``, ``POST /v1/reviews/{id}``: the manual-review queue;
* ``GET /v1/strategy``, ``GET /v1/strategy/files/{path}``, ``PUT /v1/strategy/drafts/{path}``,
  ``POST /v1/strategy/validate``, ``POST /v1/strategy/publish``, ``GET /v1/strategy/releases``;
* ``GET /healthz``, ``GET /metrics``.

Every error is an RFC 9457 problem document (:mod:`fengkong.service.problems`); bodies
over ``max_body_bytes`` are refused with 413 before they are read in full.
"""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fengkong.errors import FengkongError
from fengkong.service.decisions import DecisionDesk, parse_application
from fengkong.service.events import EventIntake
from fengkong.service.metrics import CONTENT_TYPE, ServiceMetrics
from fengkong.service.openapi import openapi_document
from fengkong.service.problems import MEDIA_TYPE, Problem, from_error
from fengkong.service.recovery import restore_feature_state
from fengkong.service.views import decision_view
from fengkong.store import DecisionQuery, StoreError, open_store

log = logging.getLogger("fengkong.service")

DEFAULT_MAX_BODY = 1024 * 1024  # an application is a few kilobytes; an event batch < 1 MB


@dataclass(frozen=True)
class ServiceSettings:
    """What one server runs: a strategy project, a store, limits."""

    project: Path
    db: str | None = None  # default: SQLite in the project's .fengkong/ folder
    max_body_bytes: int = DEFAULT_MAX_BODY
    tenant: str = "default"

    def store_url(self) -> str:
        if self.db:
            return self.db
        folder = self.project / ".fengkong"
        folder.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{folder / 'fengkong.db'}"


class Service:
    """The running parts behind the routes, made with the app."""

    def __init__(self, settings: ServiceSettings) -> None:
        from fengkong.project import Project

        self.settings = settings
        self.metrics = ServiceMetrics()
        self.project = Project.load(settings.project)
        self.store = open_store(settings.store_url())
        self.state = self.project.feature_state()
        self.restored = restore_feature_state(self.project, self.store, self.state,
                                              settings.tenant)
        # Every flow compiled now: no slow first request, and a broken one is an error
        # before the port is bound.
        self.engine = self.project.check(services={"features": self.state})
        self.desk = DecisionDesk(self.project, self.engine, self.store, self.state,
                                 self.metrics, settings.tenant)
        self.events = EventIntake(self.state, self.store, self.metrics, settings.tenant)
        self.openapi = openapi_document(self.project)

    def close(self) -> None:
        self.store.close()


def create_app(settings: ServiceSettings) -> Starlette:
    """The ASGI app. The project, store and feature state are opened here, not when the
    server starts, so that a broken project or an unreachable store is an error before the
    port is bound. Whoever made the app closes its store (``app.state.service.close()``)
    when done with it: not the ASGI lifespan, which a test client may run many times."""
    service = Service(settings)
    log.info("serving strategy %s version %s (%d events restored)",
             service.project.name, service.project.version[:12], service.restored)
    routes = [
        Route("/v1/decisions/{flow}", post_decision, methods=["POST"]),
        Route("/v1/decisions/{decision_id}", get_decision, methods=["GET"]),
        Route("/v1/decisions", list_decisions, methods=["GET"]),
        Route("/v1/events", post_events, methods=["POST"]),
        Route("/v1/reviews", list_reviews, methods=["GET"]),
        Route("/v1/reviews/{decision_id}", resolve_review, methods=["POST"]),
        Route("/v1/strategy", strategy_info, methods=["GET"]),
        Route("/v1/strategy/files/{path:path}", strategy_file, methods=["GET"]),
        Route("/v1/strategy/drafts/{path:path}", save_draft, methods=["PUT"]),
        Route("/v1/strategy/validate", validate_flow, methods=["POST"]),
        Route("/v1/strategy/publish", publish, methods=["POST"]),
        Route("/v1/strategy/releases", list_releases, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
    ]
    app = Starlette(routes=routes, exception_handlers={
        Problem: _problem_response, HTTPException: _http_error, Exception: _internal_error})
    app.state.settings = settings
    app.state.service = service
    return app


# -- decisions -----------------------------------------------------------------------------


async def post_decision(request: Request) -> Response:
    service = _service(request)
    body = await read_body(request)
    stored, replayed = await service.desk.decide(
        request.path_params["flow"], body, request.headers.get("idempotency-key"))
    return _json(decision_view(stored), headers={"Idempotent-Replayed": "true"} if replayed
                 else None)


async def get_decision(request: Request) -> Response:
    service = _service(request)
    stored = service.store.get_decision(request.path_params["decision_id"],
                                        tenant=service.settings.tenant)
    if stored is None:
        raise Problem(404, "not-found", "No such decision",
                      f"no decision {request.path_params['decision_id']!r}")
    return _json(decision_view(stored, detail=True))


_QUERY = {"flow": str, "outcome": str, "applicationId": str, "from": datetime,
          "to": datetime, "limit": int, "cursor": str}


async def list_decisions(request: Request) -> Response:
    service = _service(request)
    params = _query(request, _QUERY)
    limit = params.get("limit", 50)
    if not 1 <= limit <= 1000:
        raise _bad_query("limit", "must be between 1 and 1000")
    query = DecisionQuery(tenant=service.settings.tenant, flow=params.get("flow"),
                          outcome=params.get("outcome"),
                          application_id=params.get("applicationId"),
                          decided_from=params.get("from"), decided_to=params.get("to"),
                          limit=limit, cursor=params.get("cursor"))
    try:
        page = service.store.list_decisions(query)
    except StoreError as error:  # a cursor that is not one of ours
        raise _bad_query("cursor", str(error)) from None
    return _json({"decisions": [decision_view(item) for item in page.items],
                  "nextCursor": page.next_cursor})


# -- events and reviews --------------------------------------------------------------------


async def post_events(request: Request) -> Response:
    service = _service(request)
    body = parse_application(await read_body(request))
    return _json(await service.events.receive(body))


async def list_reviews(request: Request) -> Response:
    service = _service(request)
    params = _query(request, {"status": str, "limit": int, "cursor": str})
    status = params.get("status", "open")
    if status not in ("open", "approved", "rejected", "all"):
        raise _bad_query("status", "must be open, approved, rejected or all")
    limit = params.get("limit", 50)
    if not 1 <= limit <= 1000:
        raise _bad_query("limit", "must be between 1 and 1000")
    try:
        page = service.store.list_reviews(status=None if status == "all" else status,
                                          limit=limit, cursor=params.get("cursor"),
                                          tenant=service.settings.tenant)
    except StoreError as error:  # a cursor that is not one of ours
        raise _bad_query("cursor", str(error)) from None
    return _json({"reviews": [item.to_dict() for item in page.items],
                  "nextCursor": page.next_cursor})


async def resolve_review(request: Request) -> Response:
    service = _service(request)
    body = parse_application(await read_body(request))
    errors = []
    if body.get("action") not in ("approve", "reject"):
        errors.append({"field": "action", "message": "must be 'approve' or 'reject'"})
    if not isinstance(body.get("reviewer"), str) or not body["reviewer"].strip():
        errors.append({"field": "reviewer", "message": "must name the reviewer"})
    if not isinstance(body.get("comment", ""), str):
        errors.append({"field": "comment", "message": "must be text"})
    if errors:
        raise Problem(422, "validation", "The review is not valid", errors=errors)
    try:
        item = service.store.resolve_review(
            request.path_params["decision_id"], body["action"], body["reviewer"].strip(),
            body.get("comment", ""), tenant=service.settings.tenant)
    except KeyError:
        raise Problem(404, "not-found", "No such review",
                      f"decision {request.path_params['decision_id']!r} is not in the "
                      "review queue") from None
    except StoreError as error:
        raise Problem(409, "already-reviewed", "This review is closed", str(error)) from None
    return _json(item.to_dict())


# -- strategy documents ---------------------------------------------------------------------


async def strategy_info(request: Request) -> Response:
    project = _service(request).project
    return _json({"name": project.name, "version": project.version,
                  "flows": sorted(project.flows), "files": project.manifest()})


async def strategy_file(request: Request) -> Response:
    project = _service(request).project
    path = request.path_params["path"]
    if path not in project.manifest():
        raise Problem(404, "not-found", "No such strategy file",
                      f"{path!r} is not a file of strategy {project.name!r}")
    return Response((project.root / path).read_bytes(), media_type=_media_type(path))


async def save_draft(request: Request) -> Response:
    service = _service(request)
    path = request.path_params["path"]
    body = await read_body(request)
    author = request.headers.get("x-author", "").strip()
    if not author:
        raise Problem(422, "validation", "A draft needs an author",
                      "send the author's name in the X-Author header",
                      errors=[{"field": "X-Author", "message": "required"}])
    try:
        content = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Problem(422, "validation", "A strategy document must be UTF-8 text") from None
    draft = service.store.save_draft(service.settings.tenant, _kind_of(path), path, content,
                                     author)
    return _json(draft.to_dict())


async def validate_flow(request: Request) -> Response:
    """Compile a JDM document as the engine would, without running it: as the flow named
    ``?flow=`` (default ``draft``) in the project's flows folder, so that its paths (feature
    specs, models, lists) resolve as they will once it is saved there."""
    service = _service(request)
    name = _query(request, {"flow": str}).get("flow", "draft")
    document = parse_application(await read_body(request))
    try:
        service.engine.create_decision(document, key=name)
    except FengkongError as error:
        return _json({"valid": False, "errors": [error.to_dict()]})
    return _json({"valid": True, "errors": []})


async def publish(request: Request) -> Response:
    """Record the running strategy version as published (immutable, by content hash)."""
    service = _service(request)
    body = parse_application(await read_body(request))
    actor = body.get("actor")
    if not isinstance(actor, str) or not actor.strip():
        raise Problem(422, "validation", "Publishing needs an actor",
                      errors=[{"field": "actor", "message": "must name who publishes"}])
    project = service.project
    files = {path: _stored_text((project.root / path).read_bytes())
             for path in project.manifest()}
    service.store.store_version(service.settings.tenant, project.version, project.manifest(),
                                files, actor)
    release = service.store.append_release(service.settings.tenant, project.name,
                                           project.version, "publish", actor,
                                           str(body.get("note", "")))
    return _json(release.to_dict())


async def list_releases(request: Request) -> Response:
    service = _service(request)
    releases = service.store.list_releases(service.settings.tenant, service.project.name)
    return _json({"releases": [release.to_dict() for release in releases]})


# -- operations ----------------------------------------------------------------------------


async def healthz(request: Request) -> Response:
    service = _service(request)
    return _json({"status": "ok", "strategy": service.project.name,
                  "version": service.project.version})


async def metrics(request: Request) -> Response:
    return Response(_service(request).metrics.render(), media_type=CONTENT_TYPE)


async def openapi(request: Request) -> Response:
    return _json(_service(request).openapi)


# -- plumbing ------------------------------------------------------------------------------


def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


async def read_body(request: Request) -> bytes:
    """The body, refused with 413 as soon as it exceeds the limit (never read in full)."""
    limit = request.app.state.settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> Problem:
    return Problem(413, "too-large", "The request body is too large",
                   f"bodies are limited to {limit:,} bytes")


def _query(request: Request, allowed: dict[str, type]) -> dict[str, Any]:
    """The query parameters, typed; unknown or malformed ones are a 422 naming them."""
    values: dict[str, Any] = {}
    for name, text in request.query_params.items():
        kind = allowed.get(name)
        if kind is None:
            raise _bad_query(name, f"unknown parameter (known: {', '.join(allowed)})")
        try:
            if kind is int:
                values[name] = int(text)
            elif kind is datetime:
                moment = datetime.fromisoformat(text)
                if moment.tzinfo is None:
                    raise ValueError("a time needs its UTC offset")
                values[name] = moment
            else:
                values[name] = text
        except ValueError as error:
            raise _bad_query(name, f"{text!r} is not valid: {error}") from None
    return values


def _bad_query(name: str, message: str) -> Problem:
    return Problem(422, "validation", "Bad query parameter", f"{name}: {message}",
                   errors=[{"field": name, "message": message}])


def _stored_text(content: bytes) -> str:
    """A strategy file as the version store keeps it: UTF-8 text as it is, anything else
    (a model card's PNG plots) as ``base64:`` and its Base64, so no byte is lost."""
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return "base64:" + base64.b64encode(content).decode("ascii")


def _kind_of(path: str) -> str:
    return path.split("/", 1)[0] if "/" in path else "project"


def _media_type(path: str) -> str:
    suffix = Path(path).suffix
    return {".json": "application/json", ".yaml": "application/yaml",
            ".yml": "application/yaml", ".csv": "text/csv", ".md": "text/markdown"
            }.get(suffix, "application/octet-stream")


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    # orjson: several times faster than json.dumps, and the answer is on the request path.
    return Response(orjson.dumps(body), status_code=status, media_type="application/json",
                    headers=headers)


async def _problem_response(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    service = getattr(request.app.state, "service", None)
    if service is not None:
        service.metrics.errors.labels(str(exc.status), exc.kind).inc()
    return Response(json.dumps(exc.to_dict(request.url.path), ensure_ascii=False),
                    status_code=exc.status, media_type=MEDIA_TYPE, headers=exc.headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    kinds = {404: ("not-found", "Not found"), 405: ("method-not-allowed", "Method not allowed")}
    kind, title = kinds.get(exc.status_code, ("http-error", "HTTP error"))
    return await _problem_response(request, Problem(exc.status_code, kind, title, exc.detail,
                                                    headers=dict(exc.headers or {})))


async def _internal_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, FengkongError):
        return await _problem_response(request, from_error(exc))
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return await _problem_response(request, Problem(
        500, "internal", "Internal error", "the server failed; the error is logged"))
