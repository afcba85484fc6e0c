"""Problem documents (RFC 9457): every error the HTTP API returns, in one shape.

A caller of a decision API must be able to tell, without parsing prose, *what* went wrong
(``type``, ``status``) and *where* (``errors[].field``, the node and the position in an
expression). A :class:`Problem` is raised anywhere in a request handler and turned into an
``application/problem+json`` response by the app's exception handler; a
:class:`~fengkong.errors.FengkongError` carries its location and becomes a problem through
:func:`from_error`. No handler ever lets a traceback reach the caller.
"""

from __future__ import annotations

from typing import Any

from fengkong.errors import (
    DecisionNotFoundError,
    ExpressionEvaluationError,
    FengkongError,
    InputValidationError,
    ModelInputError,
    PricingError,
)

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://fengkong.dev/problems/"  # stable identifiers, documented in docs/service.md

# HTTP status of each kind of input error raised while deciding: the caller's fault (422)
# or a missing flow (404). Anything else raised by the engine is a strategy bug (500).
_STATUS = {
    InputValidationError: 422,
    ModelInputError: 422,
    PricingError: 422,
    ExpressionEvaluationError: 422,
    DecisionNotFoundError: 404,
}


class Problem(Exception):
    """An HTTP error with an RFC 9457 body.

    ``kind`` is the last part of the ``type`` URI (``invalid-json``, ``validation``...);
    ``errors`` lists the individual problems, each with the ``field`` path where known.
    """

    def __init__(self, status: int, kind: str, title: str, detail: str | None = None, *,
                 errors: list[dict[str, Any]] | None = None,
                 headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail or title)
        self.status = status
        self.kind = kind
        self.title = title
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra

    def to_dict(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"type": TYPE_BASE + self.kind, "title": self.title,
                                "status": self.status}
        if self.detail:
            body["detail"] = self.detail
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


def from_error(error: FengkongError, status: int | None = None) -> Problem:
    """The problem for an error raised while deciding, keeping where it happened."""
    if status is None:
        status = next((code for kind, code in _STATUS.items() if isinstance(error, kind)), 500)
    detail = str(error)
    entry = error.to_dict()
    entry.pop("type", None)
    if status == 404:
        return Problem(404, "not-found", "Not found", detail, errors=[entry])
    if status >= 500:
        return Problem(status, "strategy-error", "The strategy failed on this application",
                       detail, errors=[entry])
    return Problem(status, "validation", "The application is not valid", detail,
                   errors=[entry])


def invalid_json(message: str, line: int, column: int, position: int) -> Problem:
    """400 for a body that is not JSON, with where the parser stopped."""
    return Problem(400, "invalid-json", "The request body is not valid JSON",
                   f"{message} at line {line} column {column} (character {position})",
                   errors=[{"message": message, "line": line, "column": column,
                            "position": position}])
