"""fengkong's storage: the decision log, the event log, the review queue, strategy versions.

SQLite (WAL, fsync at every commit) is the embedded default, PostgreSQL (psycopg 3) the
production database; one schema, applied by numbered migrations when a store is opened::

    from fengkong.store import DecisionRecord, open_store

    with open_store("sqlite:///.fengkong/fengkong.db") as store:
        stored = store.record_decision(DecisionRecord(...))   # durable when it returns
        report = store.verify_chain()                          # the hash chain is intact?

Decisions are appended to a hash chain per tenant; one writer thread commits whatever is
waiting in one transaction (group commit) and resolves the callers' futures only after the
commit. See ``docs/store.md``. The store knows no business rules.
"""

from __future__ import annotations

from fengkong.store.chain import ZERO_HASH, canonical_json
from fengkong.store.decisions import REVIEW_OUTCOME
from fengkong.store.errors import (
    DuplicateDecision,
    ReviewClosed,
    ReviewNotFound,
    StoreError,
    StoreUnavailable,
    VersionConflict,
)
from fengkong.store.model import (
    ChainHead,
    ChainProblem,
    ChainReport,
    DecisionQuery,
    DecisionRecord,
    DocumentDraft,
    EventRecord,
    Page,
    Release,
    ReviewItem,
    StoredDecision,
    StoredEvent,
    StrategyVersion,
)
from fengkong.store.store import Store, open_store

__all__ = [
    "REVIEW_OUTCOME",
    "ZERO_HASH",
    "ChainHead",
    "ChainProblem",
    "ChainReport",
    "DecisionQuery",
    "DecisionRecord",
    "DocumentDraft",
    "DuplicateDecision",
    "EventRecord",
    "Page",
    "Release",
    "ReviewClosed",
    "ReviewItem",
    "ReviewNotFound",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "StoredDecision",
    "StoredEvent",
    "StrategyVersion",
    "VersionConflict",
    "canonical_json",
    "open_store",
]
