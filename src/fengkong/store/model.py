"""The values the store takes and gives back: plain frozen dataclasses, no database types.

Records the caller builds (:class:`DecisionRecord`, :class:`EventRecord`) are keyword-only
so that adding a field later breaks nobody. Values the store returns carry what it added:
the decision id, the position in the hash chain, the time it was recorded. ``to_dict``
gives the JSON shape the HTTP API serves (camelCase keys, times in RFC 3339 UTC).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar

from fengkong.store.errors import StoreError

T = TypeVar("T")

ReviewStatus = Literal["open", "approved", "rejected"]
ReviewAction = Literal["approve", "reject"]
ReleaseAction = Literal["publish", "rollback"]


def iso(moment: datetime | None) -> str | None:
    """RFC 3339 in UTC with microseconds and ``Z``: the one text form of a time the store
    writes (also inside the hash chain, so it must never vary)."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def aware(moment: Any, name: str) -> datetime:
    """``moment`` in UTC; refuses anything but a timezone-aware datetime, naming ``name``."""
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        raise StoreError(f"{name} must be a timezone-aware datetime, not {moment!r}",
                         field=name)
    return moment.astimezone(UTC)


@dataclass(frozen=True, kw_only=True)
class DecisionRecord:
    """One decision as the service made it, before the store gives it an id and a place in
    the chain. ``request``, ``response``, ``trace`` and ``features`` must be JSON (a
    ``Decimal`` is accepted and stored as a JSON number); ``decided_at`` must be aware."""

    tenant: str = "default"
    flow: str
    strategy_version: str
    application_id: str | None = None
    idempotency_key: str | None = None
    request: dict[str, Any]
    response: dict[str, Any]
    outcome: str
    trace: dict[str, Any] | None = None
    features: dict[str, Any] | None = None
    latency_ms: float
    decided_at: datetime


@dataclass(frozen=True, kw_only=True)
class StoredDecision:
    """A decision as recorded: the record's fields plus its id and chain position.

    ``replayed`` is True when the call that returned it wrote nothing because the
    application id (or idempotency key) already had this decision. JSON fields are as
    stored (parsed back from the stored text), so a replay equals the original answer.
    """

    decision_id: str
    tenant: str
    seq: int
    flow: str
    strategy_version: str
    application_id: str | None
    idempotency_key: str | None
    request: dict[str, Any]
    response: dict[str, Any]
    outcome: str
    trace: dict[str, Any] | None
    features: dict[str, Any] | None
    latency_ms: float
    decided_at: datetime
    recorded_at: datetime
    prev_hash: str
    hash: str
    replayed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "decisionId": self.decision_id, "tenant": self.tenant, "seq": self.seq,
            "flow": self.flow, "strategyVersion": self.strategy_version,
            "applicationId": self.application_id, "idempotencyKey": self.idempotency_key,
            "request": self.request, "response": self.response, "outcome": self.outcome,
            "trace": self.trace, "features": self.features, "latencyMs": self.latency_ms,
            "decidedAt": iso(self.decided_at), "recordedAt": iso(self.recorded_at),
            "prevHash": self.prev_hash, "hash": self.hash, "replayed": self.replayed,
        }


@dataclass(frozen=True, kw_only=True)
class DecisionQuery:
    """Filters of :meth:`Store.list_decisions`. ``decided_from`` is inclusive,
    ``decided_to`` exclusive; ``cursor`` is the ``next_cursor`` of the previous page."""

    tenant: str = "default"
    flow: str | None = None
    outcome: str | None = None
    application_id: str | None = None
    decided_from: datetime | None = None
    decided_to: datetime | None = None
    limit: int = 100
    cursor: str | None = None


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing; ``next_cursor`` is None on the last page."""

    items: list[T]
    next_cursor: str | None = None


@dataclass(frozen=True, kw_only=True)
class EventRecord:
    """One event to log (an application, a login, a repayment...). ``received_at``
    defaults to the time the store writes it."""

    tenant: str = "default"
    event_id: str
    event_type: str
    occurred_at: datetime
    payload: dict[str, Any]
    received_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class StoredEvent:
    """A logged event with its arrival position ``seq`` (increasing across tenants)."""

    seq: int
    tenant: str
    event_id: str
    event_type: str
    occurred_at: datetime
    payload: dict[str, Any]
    received_at: datetime


@dataclass(frozen=True, kw_only=True)
class ReviewItem:
    """A decision waiting for (or given) a reviewer's verdict.

    The item is the queue's working state; the verdict itself is appended to the hash
    chain as a ``review`` entry, whose position is ``resolution_seq``.
    """

    tenant: str
    decision_id: str
    application_id: str | None
    flow: str
    queue: str
    reason: str | None
    status: ReviewStatus
    opened_at: datetime
    resolved_at: datetime | None = None
    action: ReviewAction | None = None
    reviewer: str | None = None
    comment: str | None = None
    resolution_seq: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "decisionId": self.decision_id, "tenant": self.tenant,
            "applicationId": self.application_id, "flow": self.flow, "queue": self.queue,
            "reason": self.reason, "status": self.status, "openedAt": iso(self.opened_at),
            "resolvedAt": iso(self.resolved_at), "action": self.action,
            "reviewer": self.reviewer, "comment": self.comment,
            "resolutionSeq": self.resolution_seq,
        }


@dataclass(frozen=True, kw_only=True)
class DocumentDraft:
    """One saved revision of a strategy document being edited (every save is kept)."""

    tenant: str
    kind: str
    name: str
    revision: int
    content: str
    author: str
    saved_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"tenant": self.tenant, "kind": self.kind, "name": self.name,
                "revision": self.revision, "content": self.content, "author": self.author,
                "savedAt": iso(self.saved_at)}


@dataclass(frozen=True, kw_only=True)
class StrategyVersion:
    """An immutable strategy version, named by the hash of its content."""

    tenant: str
    version_hash: str
    manifest: dict[str, Any]
    files: dict[str, str]
    author: str
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"tenant": self.tenant, "versionHash": self.version_hash,
                "manifest": self.manifest, "files": self.files, "author": self.author,
                "createdAt": iso(self.created_at)}


@dataclass(frozen=True, kw_only=True)
class Release:
    """One entry of the append-only release log of a flow or project."""

    tenant: str
    seq: int
    target: str
    version_hash: str
    action: ReleaseAction
    actor: str
    note: str
    released_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"tenant": self.tenant, "seq": self.seq, "target": self.target,
                "versionHash": self.version_hash, "action": self.action,
                "actor": self.actor, "note": self.note, "releasedAt": iso(self.released_at)}


@dataclass(frozen=True)
class ChainHead:
    """The last entry of one tenant's chain: anchor ``hash`` outside the database."""

    tenant: str
    seq: int
    hash: str


@dataclass(frozen=True)
class ChainProblem:
    """One thing wrong with a chain. ``kind`` is ``altered``, ``removed``, ``reordered``,
    ``broken_link``, ``truncated`` or ``head_mismatch``; ``seq`` the position it is at."""

    tenant: str
    seq: int
    kind: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"tenant": self.tenant, "seq": self.seq, "kind": self.kind,
                "message": self.message}

    def __str__(self) -> str:
        return f"{self.tenant}#{self.seq} {self.kind}: {self.message}"


@dataclass(frozen=True)
class ChainReport:
    """What :meth:`Store.verify_chain` found: entries checked, each tenant's head and
    every problem."""

    checked: int
    heads: dict[str, ChainHead] = field(default_factory=dict)
    problems: list[ChainProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def head_hash(self, tenant: str = "default") -> str | None:
        head = self.heads.get(tenant)
        return head.hash if head is not None else None

    def summary(self) -> str:
        """One line: intact or not, how much was checked, the head(s) to anchor."""
        chains = len(self.heads)
        count = len(self.problems)
        state = "intact" if self.ok else f"NOT intact ({count} problem{'' if count == 1 else 's'})"
        heads = ", ".join(f"{head.tenant}#{head.seq} {head.hash}"
                          for head in self.heads.values())
        text = (f"{state}: {self.checked} entries checked in {chains} "
                f"chain{'' if chains == 1 else 's'}")
        return f"{text}; head {heads}" if heads else text

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": self.checked,
                "heads": {tenant: {"seq": head.seq, "hash": head.hash}
                          for tenant, head in self.heads.items()},
                "problems": [problem.to_dict() for problem in self.problems]}
