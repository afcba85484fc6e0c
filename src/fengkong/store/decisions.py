"""Appending decisions to the log, a group commit's worth at a time.

A decision record is checked and serialized in the caller's thread (:func:`prepare`), so
the writer thread only looks up, numbers, hashes and inserts. It does that per group of
decisions queued together (:func:`append_decisions`, a batched job of the writer), not per
decision: every statement lets go of the GIL and must win it back from the server's event
loop, so a group costs a fixed handful of statements however many decisions it carries —

* one lookup per tenant and kind of key: the decisions already recorded for the group's
  application ids (``application_id IN (...)``), and for its idempotency keys;
* duplicates within the group are resolved in memory, in queue order: the second submit
  of an application gets the first one's decision, ``replayed=True``;
* the chain (seq, prev_hash, hash) is computed in queue order, then all rows go in with
  one multi-row INSERT, and the review items of REVIEW decisions with another.

All of it runs inside the writer's transaction, after the tenants' chain locks, so the
lookups see every decision committed before, also by other processes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from fengkong.store.chain import canonical, canonical_json, entry_hash
from fengkong.store.errors import DuplicateDecision, StoreError
from fengkong.store.ids import uuid7
from fengkong.store.model import DecisionRecord, StoredDecision, aware, iso
from fengkong.store.writer import Transaction

#: The outcome that puts a decision in the manual-review queue (in the same transaction).
REVIEW_OUTCOME = "REVIEW"

LOG_COLUMNS = ("tenant", "seq", "kind", "decision_id", "flow", "strategy_version",
               "application_id", "idempotency_key", "request", "response", "outcome",
               "trace", "features", "latency_ms", "decided_at", "recorded_at", "prev_hash",
               "hash")
_OPEN_REVIEW_COLUMNS = ("tenant", "decision_id", "decision_seq", "application_id", "flow",
                        "queue", "reason", "status", "opened_at")
#: The columns a decision may be found by: each is unique per tenant when given.
_KEYS = ("application_id", "idempotency_key")

ReadDecision = Callable[[Sequence[Any]], StoredDecision]


@dataclass(frozen=True)
class PreparedDecision:
    """A decision record checked and serialized in the caller's thread, so the writer
    only numbers, hashes and inserts it."""

    record: DecisionRecord
    decided_at: datetime
    latency_ms: float
    texts: dict[str, str | None]  # stored JSON text of request, response, trace, features
    values: dict[str, Any]  # the same, parsed back: what the StoredDecision carries
    fields: dict[str, str]  # canonical text of every hashed field but seq/prev/id


def append_decisions(transaction: Transaction, batch: list[PreparedDecision],
                     read: ReadDecision) -> list[StoredDecision | StoreError]:
    """Append the decisions of ``batch`` in order; for each, the stored (or replayed)
    decision, or the :class:`DuplicateDecision` refusing it. ``read`` makes a decision of
    a ``LOG_COLUMNS`` row."""
    known = _recorded(transaction, batch, read)
    outcomes: list[StoredDecision | StoreError] = []
    log_rows: list[tuple[Any, ...]] = []
    review_rows: list[tuple[Any, ...]] = []
    backend = transaction.backend
    recorded_at = backend.time(transaction.now)
    for prepared in batch:
        record = prepared.record
        try:
            existing = _existing(known, record)
        except DuplicateDecision as refusal:
            outcomes.append(refusal)
            continue
        if existing is not None:
            outcomes.append(replace(existing, replayed=True))
            continue
        seq, prev_hash = transaction.head(record.tenant)
        seq += 1
        decision_id = uuid7()
        digest = entry_hash(dict(prepared.fields, seq=str(seq),
                                 prev_hash=canonical_json(prev_hash),
                                 decision_id=canonical_json(decision_id)))
        transaction.advance(record.tenant, seq, digest)
        texts = prepared.texts
        log_rows.append((
            record.tenant, seq, "decision", decision_id, record.flow,
            record.strategy_version, record.application_id, record.idempotency_key,
            texts["request"], texts["response"], record.outcome, texts["trace"],
            texts["features"], prepared.latency_ms, backend.time(prepared.decided_at),
            recorded_at, prev_hash, digest))
        if record.outcome == REVIEW_OUTCOME:
            review_rows.append((record.tenant, decision_id, seq, record.application_id,
                                record.flow, record.flow, None))
        values = prepared.values
        stored = StoredDecision(
            decision_id=decision_id, tenant=record.tenant, seq=seq, flow=record.flow,
            strategy_version=record.strategy_version, application_id=record.application_id,
            idempotency_key=record.idempotency_key, request=values["request"],
            response=values["response"], outcome=record.outcome, trace=values["trace"],
            features=values["features"], latency_ms=prepared.latency_ms,
            decided_at=prepared.decided_at, recorded_at=transaction.now,
            prev_hash=prev_hash, hash=digest)
        for column in _KEYS:
            if getattr(record, column) is not None:
                known[record.tenant, column, getattr(record, column)] = stored
        outcomes.append(stored)
    if log_rows:
        transaction.insert("decision_log", LOG_COLUMNS, log_rows)
    if review_rows:
        open_reviews(transaction, review_rows)
    return outcomes


def open_reviews(transaction: Transaction, items: list[tuple[Any, ...]]) -> None:
    """Queue review items: (tenant, decision_id, decision_seq, application_id, flow, queue,
    reason) each, opened now."""
    opened_at = transaction.backend.time(transaction.now)
    transaction.insert("review_items", _OPEN_REVIEW_COLUMNS,
                       [(*item, "open", opened_at) for item in items])


def _recorded(transaction: Transaction, batch: list[PreparedDecision],
              read: ReadDecision) -> dict[tuple[str, str, str], StoredDecision]:
    """The decisions already logged for the batch's application ids and idempotency
    keys, by (tenant, column, value): one statement per tenant and column (per 500)."""
    wanted: dict[tuple[str, str], dict[str, None]] = {}
    for prepared in batch:
        record = prepared.record
        for column in _KEYS:
            value = getattr(record, column)
            if value is not None:
                wanted.setdefault((record.tenant, column), {})[value] = None
    known: dict[tuple[str, str, str], StoredDecision] = {}
    columns = ", ".join(LOG_COLUMNS)
    for (tenant, column), values in wanted.items():
        for row in transaction.select_in(
                f"SELECT {columns} FROM decision_log WHERE tenant = ? AND kind = 'decision' "
                f"AND {column}", (tenant,), list(values)):
            decision = read(row)
            known[tenant, column, getattr(decision, column)] = decision
    return known


def _existing(known: dict[tuple[str, str, str], StoredDecision],
              record: DecisionRecord) -> StoredDecision | None:
    """The decision this record repeats, if any (logged before, or earlier in the batch).
    An idempotency key must come back with the application id it was first used with
    (both may be absent)."""
    by_application = by_key = None
    if record.application_id is not None:
        by_application = known.get((record.tenant, "application_id", record.application_id))
    if record.idempotency_key is not None:
        by_key = known.get((record.tenant, "idempotency_key", record.idempotency_key))
    if by_key is not None and by_key.application_id != record.application_id:
        raise DuplicateDecision(
            f"idempotency key {record.idempotency_key!r} was used for application "
            f"{by_key.application_id!r} (decision {by_key.decision_id}); it cannot "
            f"decide application {record.application_id!r}", field="idempotency_key")
    return by_application or by_key


def prepare(record: DecisionRecord) -> PreparedDecision:
    """Check ``record`` and serialize it (in the caller's thread); raises
    :class:`StoreError` naming the field that is wrong."""
    if not isinstance(record, DecisionRecord):
        raise StoreError(f"submit_decision takes a DecisionRecord, not {type(record).__name__}")
    for name in ("tenant", "flow", "strategy_version", "outcome"):
        value = getattr(record, name)
        if not isinstance(value, str) or not value:
            raise StoreError(f"a decision's {name} must be non-empty text, not {value!r}",
                             field=name)
    for name in _KEYS:
        value = getattr(record, name)
        if value is not None and not isinstance(value, str):
            raise StoreError(f"a decision's {name} must be text or None, not {value!r}",
                             field=name)
    decided_at = aware(record.decided_at, "decided_at")
    try:
        latency_ms = float(record.latency_ms)
    except (TypeError, ValueError):
        raise StoreError(f"latency_ms must be a number, not {record.latency_ms!r}",
                         field="latency_ms") from None
    if not math.isfinite(latency_ms):
        raise StoreError("latency_ms must be finite", field="latency_ms")
    texts: dict[str, str | None] = {}
    values: dict[str, Any] = {}
    fields = {"kind": '"decision"', "tenant": canonical_json(record.tenant),
              "flow": canonical_json(record.flow),
              "strategy_version": canonical_json(record.strategy_version),
              "application_id": canonical_json(record.application_id),
              "idempotency_key": canonical_json(record.idempotency_key),
              "outcome": canonical_json(record.outcome),
              "latency_ms": canonical_json(latency_ms),
              "decided_at": canonical_json(iso(decided_at))}
    for name, required in (("request", True), ("response", True), ("trace", False),
                           ("features", False)):
        value = getattr(record, name)
        if value is None and not required:
            texts[name], values[name], fields[name] = None, None, "null"
            continue
        if not isinstance(value, dict):
            raise StoreError(f"a decision's {name} must be a JSON object, not "
                             f"{type(value).__name__}", field=name)
        try:
            # Stored in canonical form: the text the hash covers is the text kept, and it
            # reads back (and re-canonicalizes) to itself. ``plain`` is what reading it
            # back gives, so the decision returned now equals the one a replay returns.
            text, plain = canonical(value)
        except (TypeError, ValueError, RecursionError) as error:
            raise StoreError(f"a decision's {name} is not JSON: {error}", field=name) from None
        texts[name], values[name], fields[name] = text, plain, text
    return PreparedDecision(record, decided_at, latency_ms, texts, values, fields)

