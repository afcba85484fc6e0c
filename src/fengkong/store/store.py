"""The store: the decision log, events, the review queue and strategy documents.

Writes go through one :class:`~fengkong.store.writer.Writer` thread (group commit); every
write method blocks until its transaction is durable, except :meth:`Store.submit_decision`,
which returns the future. Reads run on a connection per calling thread (WAL readers never
wait for the writer on SQLite; PostgreSQL reads in autocommit). The store knows no
business rule: an outcome is a string, a request a JSON object.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from fengkong.store.backends import Backend, backend_for
from fengkong.store.chain import (
    LogRow,
    canonical_json,
    entry_hash,
    to_json_text,
    verify_tenant,
)
from fengkong.store.decisions import (
    LOG_COLUMNS,
    append_decisions,
    open_reviews,
    prepare,
)
from fengkong.store.errors import (
    ReviewClosed,
    ReviewNotFound,
    StoreError,
    StoreUnavailable,
    VersionConflict,
)
from fengkong.store.model import (
    ChainHead,
    ChainReport,
    DecisionQuery,
    DecisionRecord,
    DocumentDraft,
    EventRecord,
    Page,
    Release,
    ReviewItem,
    ReviewStatus,
    StoredDecision,
    StoredEvent,
    StrategyVersion,
    aware,
    iso,
)
from fengkong.store.schema import MIGRATIONS, MIGRATIONS_TABLE
from fengkong.store.writer import MAX_BATCH, Transaction, Writer

MAX_PAGE = 1000

_LOG_COLUMNS = ", ".join(LOG_COLUMNS)
_REVIEW_COLUMNS = ("tenant, decision_id, application_id, flow, queue, reason, status, "
                   "opened_at, resolved_at, action, reviewer, comment, resolution_seq")
_EVENT_COLUMNS = "seq, tenant, event_id, event_type, occurred_at, payload, received_at"
_RELEASE_COLUMNS = "tenant, seq, target, version_hash, action, actor, note, released_at"


def open_store(url: str, *, create: bool = True, max_batch: int = MAX_BATCH) -> Store:
    """Open the store at ``url`` and bring its schema up to date.

    ``url`` is ``sqlite:///relative.db``, ``sqlite:////absolute.db`` (a bare path means
    SQLite too) or ``postgresql://user@host:port/db`` (``?options=-csearch_path%3Dname``
    picks a schema). ``create=False`` refuses a SQLite file that does not exist yet.
    Raises :class:`StoreUnavailable` when the database cannot be reached.
    """
    store = Store(backend_for(url, create=create), max_batch=max_batch)
    try:
        store.migrate()
    except BaseException:
        store.close()
        raise
    return store


class Store:
    """One database's fengkong tables. Use :func:`open_store`; close it (or use ``with``)."""

    def __init__(self, backend: Backend, max_batch: int = MAX_BATCH) -> None:
        self.backend = backend
        self.url = backend.describe()
        self._local = threading.local()
        self._readers: list[Any] = []
        self._readers_lock = threading.Lock()
        self._writer = Writer(backend, max_batch)
        # One object for the writer to batch consecutive decisions by.
        self._append_decisions = functools.partial(append_decisions, read=self._decision)
        self._closed = False

    # -- life cycle --------------------------------------------------------------------------

    def migrate(self) -> list[int]:
        """Apply the migrations not yet applied (in one transaction, under a lock, so two
        processes opening at once apply each step once); returns the versions applied."""
        backend = self.backend
        with self._connection() as connection:
            try:
                backend.begin_write(connection)
                try:
                    backend.lock_migrations(connection)
                    connection.execute(MIGRATIONS_TABLE[backend.dialect])
                    done = {row[0] for row in connection.execute(
                        "SELECT version FROM schema_migrations").fetchall()}
                    applied = []
                    for migration in MIGRATIONS:
                        if migration.version in done:
                            continue
                        for statement in migration.statements(backend.dialect):
                            connection.execute(statement)
                        connection.execute(backend.sql(
                            "INSERT INTO schema_migrations (version, name, applied_at) "
                            "VALUES (?, ?, ?)"),
                            (migration.version, migration.name,
                             backend.time(datetime.now(UTC))))
                        applied.append(migration.version)
                    connection.execute("COMMIT")
                except BaseException:
                    with contextlib.suppress(Exception):
                        connection.execute("ROLLBACK")
                    raise
            except Exception as error:
                if backend.unavailable(error):
                    raise StoreUnavailable(f"cannot migrate {self.url}: "
                                           f"{' '.join(str(error).split())}") from error
                raise
        return applied

    def schema_version(self) -> int:
        row = self._read_one("SELECT MAX(version) FROM schema_migrations")
        return int(row[0]) if row and row[0] is not None else 0

    def close(self) -> None:
        """Finish the queued writes, then close every connection."""
        if self._closed:
            return
        self._closed = True
        self._writer.close()
        with self._readers_lock:
            for connection in self._readers:
                with contextlib.suppress(Exception):
                    connection.close()
            self._readers.clear()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- decisions -----------------------------------------------------------------------------

    def submit_decision(self, record: DecisionRecord) -> Future[StoredDecision]:
        """Queue ``record`` for the decision log; the future resolves once it is durable.

        The future gives the :class:`StoredDecision` (``replayed=True`` if the application
        id or idempotency key already had one: nothing was written), or raises
        :class:`StoreUnavailable` (nothing written) or :class:`DuplicateDecision`. A
        record that is not valid raises :class:`StoreError` here, before queueing.
        """
        future: Future[StoredDecision] = self._writer.submit_batched(
            self._append_decisions, prepare(record), (record.tenant,))
        return future

    def record_decision(self, record: DecisionRecord) -> StoredDecision:
        """:meth:`submit_decision` and wait: returns once the decision is durable."""
        return self.submit_decision(record).result()

    def get_decision(self, decision_id: str, tenant: str = "default") -> StoredDecision | None:
        row = self._read_one(f"SELECT {_LOG_COLUMNS} FROM decision_log WHERE tenant = ? "
                             "AND kind = 'decision' AND decision_id = ?", (tenant, decision_id))
        return self._decision(row) if row else None

    def find_decision(self, application_id: str | None = None,
                      idempotency_key: str | None = None,
                      tenant: str = "default") -> StoredDecision | None:
        """The decision of this application id, else of this idempotency key, else None.
        (A read outside the writer: a concurrent submit may still be writing — the writer's
        own check is the one that prevents a second decision.)"""
        for column, value in (("application_id", application_id),
                              ("idempotency_key", idempotency_key)):
            if value is not None:
                row = self._read_one(f"SELECT {_LOG_COLUMNS} FROM decision_log WHERE "
                                     f"tenant = ? AND kind = 'decision' AND {column} = ?",
                                     (tenant, value))
                if row:
                    return self._decision(row)
        return None

    def list_decisions(self, query: DecisionQuery) -> Page[StoredDecision]:
        """Decisions newest first (by chain position), filtered; page with ``cursor``."""
        _check_limit(query.limit)
        where: list[str] = ["tenant = ?", "kind = 'decision'"]
        parameters: list[Any] = [query.tenant]
        for column, value in (("flow", query.flow), ("outcome", query.outcome),
                              ("application_id", query.application_id)):
            if value is not None:
                where.append(f"{column} = ?")
                parameters.append(value)
        if query.decided_from is not None:
            where.append("decided_at >= ?")
            parameters.append(self.backend.time(aware(query.decided_from, "decided_from")))
        if query.decided_to is not None:
            where.append("decided_at < ?")
            parameters.append(self.backend.time(aware(query.decided_to, "decided_to")))
        if query.cursor is not None:
            where.append("seq < ?")
            parameters.append(_read_cursor(query.cursor, "d"))
        rows = self._read_all(f"SELECT {_LOG_COLUMNS} FROM decision_log WHERE "
                              f"{' AND '.join(where)} ORDER BY seq DESC LIMIT ?",
                              (*parameters, query.limit + 1))
        items = [self._decision(row) for row in rows[:query.limit]]
        more = len(rows) > query.limit
        return Page(items, _cursor("d", items[-1].seq) if more else None)

    def read_decisions(self, after_seq: int = 0, limit: int = 10_000,
                       tenant: str = "default") -> list[StoredDecision]:
        """The tenant's decisions in chain order after position ``after_seq`` (pass the
        last ``seq`` read to page on), e.g. to replay decided applications into the feature
        state after a restart. Review entries are skipped, so seqs may jump."""
        rows = self._read_all(f"SELECT {_LOG_COLUMNS} FROM decision_log WHERE tenant = ? "
                              "AND kind = 'decision' AND seq > ? ORDER BY seq LIMIT ?",
                              (tenant, after_seq, limit))
        return [self._decision(row) for row in rows]

    def count_decisions(self, tenant: str | None = None) -> int:
        sql = "SELECT COUNT(*) FROM decision_log WHERE kind = 'decision'"
        row = (self._read_one(sql + " AND tenant = ?", (tenant,)) if tenant is not None
               else self._read_one(sql))
        return int(row[0]) if row else 0

    # -- the manual-review queue ------------------------------------------------------------

    def open_review(self, decision_id: str, tenant: str = "default", queue: str | None = None,
                    reason: str | None = None) -> ReviewItem:
        """Put a decision in the review queue (``queue`` defaults to its flow). A REVIEW
        decision is queued by :meth:`submit_decision` itself, in its own transaction; this
        is for other decisions sent to review. Opening an open item again returns it."""

        def run(transaction: Transaction) -> ReviewItem:
            item = self._review(transaction, tenant, decision_id)
            if item is not None:
                return item
            row = transaction.execute(
                "SELECT seq, application_id, flow FROM decision_log WHERE tenant = ? AND "
                "kind = 'decision' AND decision_id = ?", (tenant, decision_id)).fetchone()
            if row is None:
                raise StoreError(f"no decision {decision_id!r} to review")
            open_reviews(transaction, [(tenant, decision_id, int(row[0]), row[1], row[2],
                                        queue or row[2], reason)])
            found = self._review(transaction, tenant, decision_id)
            assert found is not None
            return found

        return self._write(run)

    def list_reviews(self, status: str | None = "open", limit: int = 100,
                     cursor: str | None = None, tenant: str = "default") -> Page[ReviewItem]:
        """Review items oldest first (a work queue); ``status`` None lists all."""
        _check_limit(limit)
        where: list[str] = ["tenant = ?"]
        parameters: list[Any] = [tenant]
        if status is not None:
            if status not in ("open", "approved", "rejected"):
                raise StoreError(f"review status is open, approved or rejected, not {status!r}")
            where.append("status = ?")
            parameters.append(status)
        if cursor is not None:
            where.append("decision_seq > ?")
            parameters.append(_read_cursor(cursor, "r"))
        rows = self._read_all(f"SELECT {_REVIEW_COLUMNS}, decision_seq FROM review_items "
                              f"WHERE {' AND '.join(where)} ORDER BY decision_seq LIMIT ?",
                              (*parameters, limit + 1))
        items = [self._review_item(row) for row in rows[:limit]]
        more = len(rows) > limit
        return Page(items, _cursor("r", int(rows[limit - 1][-1])) if more else None)

    def get_review(self, decision_id: str, tenant: str = "default") -> ReviewItem | None:
        row = self._read_one(f"SELECT {_REVIEW_COLUMNS} FROM review_items WHERE tenant = ? "
                             "AND decision_id = ?", (tenant, decision_id))
        return self._review_item(row) if row else None

    def resolve_review(self, decision_id: str, action: str, reviewer: str, comment: str = "",
                       tenant: str = "default") -> ReviewItem:
        """Close a review: append a ``review`` entry (outcome APPROVE or REJECT) to the
        chain and mark the item. Raises :class:`ReviewNotFound` (also a KeyError) or
        :class:`ReviewClosed` when it was already resolved."""
        if action not in ("approve", "reject"):
            raise StoreError(f"a review action is approve or reject, not {action!r}",
                             field="action")
        if not isinstance(reviewer, str) or not reviewer.strip():
            raise StoreError("a review needs the reviewer's name", field="reviewer")

        def run(transaction: Transaction) -> ReviewItem:
            item = self._review(transaction, tenant, decision_id)
            if item is None:
                raise ReviewNotFound(f"decision {decision_id!r} is not in the review queue")
            if item.status != "open":
                raise ReviewClosed(f"the review of decision {decision_id} was already "
                                   f"{item.status} by {item.reviewer} at {iso(item.resolved_at)}")
            row = transaction.execute(
                "SELECT strategy_version FROM decision_log WHERE tenant = ? AND "
                "kind = 'decision' AND decision_id = ?", (tenant, decision_id)).fetchone()
            strategy_version = row[0] if row else ""
            outcome = "APPROVE" if action == "approve" else "REJECT"
            response = {"action": action, "reviewer": reviewer, "comment": comment,
                        "queue": item.queue}
            seq, prev_hash = transaction.head(tenant)
            seq += 1
            now = transaction.now
            digest = entry_hash({
                "kind": '"review"', "seq": str(seq), "prev_hash": canonical_json(prev_hash),
                "decision_id": canonical_json(decision_id), "tenant": canonical_json(tenant),
                "flow": canonical_json(item.flow),
                "strategy_version": canonical_json(strategy_version),
                "application_id": canonical_json(item.application_id),
                "idempotency_key": "null", "request": "null",
                "response": canonical_json(response), "outcome": canonical_json(outcome),
                "trace": "null", "features": "null", "latency_ms": "null",
                "decided_at": canonical_json(iso(now))})
            backend = self.backend
            transaction.execute(
                f"INSERT INTO decision_log ({_LOG_COLUMNS}) VALUES "
                "(?, ?, 'review', ?, ?, ?, ?, NULL, NULL, ?, ?, NULL, NULL, NULL, ?, ?, ?, ?)",
                (tenant, seq, decision_id, item.flow, strategy_version, item.application_id,
                 to_json_text(response), outcome, backend.time(now), backend.time(now),
                 prev_hash, digest))
            transaction.advance(tenant, seq, digest)
            status: ReviewStatus = "approved" if action == "approve" else "rejected"
            transaction.execute(
                "UPDATE review_items SET status = ?, resolved_at = ?, action = ?, reviewer = ?, "
                "comment = ?, resolution_seq = ? WHERE tenant = ? AND decision_id = ?",
                (status, backend.time(now), action, reviewer, comment, seq, tenant,
                 decision_id))
            return replace(item, status=status, resolved_at=now,
                           action="approve" if action == "approve" else "reject",
                           reviewer=reviewer, comment=comment, resolution_seq=seq)

        return self._write(run, (tenant,))

    def _review(self, transaction: Transaction, tenant: str,
                decision_id: str) -> ReviewItem | None:
        row = transaction.execute(f"SELECT {_REVIEW_COLUMNS} FROM review_items WHERE "
                                  "tenant = ? AND decision_id = ?",
                                  (tenant, decision_id)).fetchone()
        return self._review_item(row) if row else None

    # -- events ------------------------------------------------------------------------------

    def append_events(self, records: Sequence[EventRecord]) -> list[bool]:
        """Log events, durable when this returns (one transaction through the group-commit
        writer); True for each new event, False for an event id already logged for its
        tenant (also earlier in the same call). Raises :class:`StoreUnavailable`."""
        rows = [_event_row(record, index) for index, record in enumerate(records)]
        if not rows:
            return []
        backend = self.backend

        def run(transaction: Transaction) -> list[bool]:
            fresh = []
            received = backend.time(transaction.now)
            for tenant, event_id, event_type, occurred_at, payload, received_at in rows:
                inserted = transaction.execute(
                    "INSERT INTO events (tenant, event_id, event_type, occurred_at, payload, "
                    "received_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (tenant, event_id) "
                    "DO NOTHING RETURNING seq",
                    (tenant, event_id, event_type, backend.time(occurred_at), payload,
                     backend.time(received_at) if received_at else received)).fetchone()
                fresh.append(inserted is not None)
            return fresh

        result: list[bool] = self._write(run)
        return result

    def read_events(self, after_seq: int = 0, limit: int = 10_000,
                    tenant: str | None = None) -> list[StoredEvent]:
        """Events in arrival order after ``after_seq`` (pass the last ``seq`` read to page
        on), to replay into the feature state after a restart."""
        where: list[str] = ["seq > ?"]
        parameters: list[Any] = [after_seq]
        if tenant is not None:
            where.append("tenant = ?")
            parameters.append(tenant)
        rows = self._read_all(f"SELECT {_EVENT_COLUMNS} FROM events WHERE "
                              f"{' AND '.join(where)} ORDER BY seq LIMIT ?", (*parameters, limit))
        read_time = self.backend.read_time
        return [StoredEvent(seq=int(row[0]), tenant=row[1], event_id=row[2],
                            event_type=row[3], occurred_at=read_time(row[4]),
                            payload=json.loads(row[5]), received_at=read_time(row[6]))
                for row in rows]

    def count_events(self, tenant: str | None = None) -> int:
        row = (self._read_one("SELECT COUNT(*) FROM events WHERE tenant = ?", (tenant,))
               if tenant is not None else self._read_one("SELECT COUNT(*) FROM events"))
        return int(row[0]) if row else 0

    # -- strategy documents ------------------------------------------------------------------

    def save_draft(self, tenant: str, kind: str, name: str, content: str,
                   author: str) -> DocumentDraft:
        """Save a new revision of a draft document (earlier revisions are kept)."""
        if not isinstance(content, str):
            raise StoreError("a draft's content is text", field="content")

        def run(transaction: Transaction) -> DocumentDraft:
            row = transaction.execute(
                "SELECT MAX(revision) FROM strategy_drafts WHERE tenant = ? AND kind = ? AND "
                "name = ?", (tenant, kind, name)).fetchone()
            revision = (int(row[0]) if row and row[0] is not None else 0) + 1
            transaction.execute(
                "INSERT INTO strategy_drafts (tenant, kind, name, revision, content, author, "
                "saved_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (tenant, kind, name, revision, content, author,
                 self.backend.time(transaction.now)))
            return DocumentDraft(tenant=tenant, kind=kind, name=name, revision=revision,
                                 content=content, author=author,
                                 saved_at=transaction.now)

        return self._write(run)

    def get_draft(self, tenant: str, kind: str, name: str,
                  revision: int | None = None) -> DocumentDraft | None:
        """The latest revision of a draft (or the given one), None if never saved."""
        sql = ("SELECT tenant, kind, name, revision, content, author, saved_at FROM "
               "strategy_drafts WHERE tenant = ? AND kind = ? AND name = ?")
        if revision is None:
            row = self._read_one(sql + " ORDER BY revision DESC LIMIT 1", (tenant, kind, name))
        else:
            row = self._read_one(sql + " AND revision = ?", (tenant, kind, name, revision))
        return self._draft(row) if row else None

    def list_drafts(self, tenant: str = "default", kind: str | None = None
                    ) -> list[DocumentDraft]:
        """The latest revision of every draft, by kind and name."""
        where, parameters = "d.tenant = ?", [tenant]
        if kind is not None:
            where += " AND d.kind = ?"
            parameters.append(kind)
        rows = self._read_all(
            "SELECT d.tenant, d.kind, d.name, d.revision, d.content, d.author, d.saved_at "
            f"FROM strategy_drafts d WHERE {where} AND d.revision = (SELECT MAX(e.revision) "
            "FROM strategy_drafts e WHERE e.tenant = d.tenant AND e.kind = d.kind AND "
            "e.name = d.name) ORDER BY d.kind, d.name", parameters)
        return [self._draft(row) for row in rows]

    def store_version(self, tenant: str, version_hash: str, manifest: Mapping[str, Any],
                      files: Mapping[str, str], author: str) -> None:
        """Store a strategy version, immutable and named by its hash. Storing the same hash
        again with the same content does nothing; with other content raises
        :class:`VersionConflict`."""
        manifest_text, files_text = to_json_text(dict(manifest)), to_json_text(dict(files))
        manifest_value, files_value = json.loads(manifest_text), json.loads(files_text)

        def run(transaction: Transaction) -> None:
            row = transaction.execute(
                "SELECT manifest, files FROM strategy_versions WHERE tenant = ? AND "
                "version_hash = ?", (tenant, version_hash)).fetchone()
            if row is not None:
                if json.loads(row[0]) != manifest_value or json.loads(row[1]) != files_value:
                    raise VersionConflict(f"version {version_hash} is already stored with "
                                          "other content; a version never changes")
                return
            transaction.execute(
                "INSERT INTO strategy_versions (tenant, version_hash, manifest, files, author, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (tenant, version_hash, manifest_text, files_text, author,
                 self.backend.time(transaction.now)))

        self._write(run)

    def get_version(self, tenant: str, version_hash: str) -> StrategyVersion | None:
        row = self._read_one("SELECT tenant, version_hash, manifest, files, author, created_at "
                             "FROM strategy_versions WHERE tenant = ? AND version_hash = ?",
                             (tenant, version_hash))
        return self._version(row) if row else None

    def list_versions(self, tenant: str = "default") -> list[StrategyVersion]:
        """Every stored version of the tenant, newest first."""
        rows = self._read_all("SELECT tenant, version_hash, manifest, files, author, "
                              "created_at FROM strategy_versions WHERE tenant = ? "
                              "ORDER BY created_at DESC, version_hash", (tenant,))
        return [self._version(row) for row in rows]

    def append_release(self, tenant: str, target: str, version_hash: str, action: str,
                       actor: str, note: str = "") -> Release:
        """Append to the release log of ``target`` (a flow or project): ``publish`` or
        ``rollback`` to a stored version. The last entry is the current release."""
        if action not in ("publish", "rollback"):
            raise StoreError(f"a release action is publish or rollback, not {action!r}",
                             field="action")

        def run(transaction: Transaction) -> Release:
            if transaction.execute("SELECT 1 FROM strategy_versions WHERE tenant = ? AND "
                                   "version_hash = ?", (tenant, version_hash)).fetchone() is None:
                raise StoreError(f"version {version_hash} is not stored; store_version first")
            row = transaction.execute(
                "INSERT INTO releases (tenant, target, version_hash, action, actor, note, "
                "released_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING seq",
                (tenant, target, version_hash, action, actor, note,
                 self.backend.time(transaction.now))).fetchone()
            return Release(tenant=tenant, seq=int(row[0]), target=target,
                           version_hash=version_hash, action=action,  # type: ignore[arg-type]
                           actor=actor, note=note, released_at=transaction.now)

        return self._write(run)

    def current_release(self, tenant: str, target: str) -> Release | None:
        row = self._read_one(f"SELECT {_RELEASE_COLUMNS} FROM releases WHERE tenant = ? AND "
                             "target = ? ORDER BY seq DESC LIMIT 1", (tenant, target))
        return self._release(row) if row else None

    def list_releases(self, tenant: str = "default", target: str | None = None
                      ) -> list[Release]:
        """The release log, newest first (of one target, or all)."""
        if target is None:
            rows = self._read_all(f"SELECT {_RELEASE_COLUMNS} FROM releases WHERE tenant = ? "
                                  "ORDER BY seq DESC", (tenant,))
        else:
            rows = self._read_all(f"SELECT {_RELEASE_COLUMNS} FROM releases WHERE tenant = ? "
                                  "AND target = ? ORDER BY seq DESC", (tenant, target))
        return [self._release(row) for row in rows]

    # -- verification ------------------------------------------------------------------------

    def verify_chain(self, tenant: str | None = None) -> ChainReport:
        """Recompute every entry's hash and link, tenant by tenant, in one consistent
        snapshot of the database; see :func:`fengkong.store.chain.verify_tenant` for what
        each problem means. Tail truncation is detected against ``chain_heads``; a head
        rewound together with the tail needs a head anchored outside the database."""
        backend = self.backend
        checked, heads, problems = 0, {}, []
        with self._connection() as connection:
            def select(sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
                rows: list[Any] = connection.execute(backend.sql(sql),
                                                     tuple(parameters)).fetchall()
                return rows

            try:
                backend.begin_snapshot(connection)
                try:
                    if tenant is None:
                        tenants = sorted({row[0] for row in select(
                            "SELECT tenant FROM chain_heads UNION "
                            "SELECT DISTINCT tenant FROM decision_log")})
                    else:
                        tenants = [tenant]
                    for name in tenants:
                        row = select("SELECT seq, hash FROM chain_heads WHERE tenant = ?",
                                     (name,))
                        head = (int(row[0][0]), row[0][1]) if row else None
                        result = verify_tenant(
                            name, self._log_rows(select, name), head,
                            functools.partial(self._rows_with_hashes, select, name))
                        checked += result.checked
                        problems.extend(result.problems)
                        if result.last is not None:
                            heads[name] = ChainHead(name, result.last.seq, result.last.hash)
                finally:
                    with contextlib.suppress(Exception):
                        connection.execute("ROLLBACK")
            except Exception as error:
                if backend.unavailable(error):
                    raise StoreUnavailable(f"cannot read {self.url}: {error}") from error
                raise
        return ChainReport(checked, heads, problems)

    def _log_rows(self, select: Any, tenant: str, chunk: int = 5000) -> Iterator[LogRow]:
        after = None
        while True:
            if after is None:
                rows = select(f"SELECT {_LOG_COLUMNS} FROM decision_log WHERE tenant = ? "
                              "ORDER BY seq LIMIT ?", (tenant, chunk))
            else:
                rows = select(f"SELECT {_LOG_COLUMNS} FROM decision_log WHERE tenant = ? "
                              "AND seq > ? ORDER BY seq LIMIT ?", (tenant, after, chunk))
            for row in rows:
                yield self._log_row(row)
            if len(rows) < chunk:
                return
            after = rows[-1][1]

    def _rows_with_hashes(self, select: Any, tenant: str, hashes: set[str]) -> list[LogRow]:
        wanted, found = sorted(hashes), list[LogRow]()
        for start in range(0, len(wanted), 500):
            part = wanted[start:start + 500]
            rows = select(f"SELECT {_LOG_COLUMNS} FROM decision_log WHERE tenant = ? AND "
                          f"hash IN ({', '.join('?' * len(part))})", (tenant, *part))
            found.extend(self._log_row(row) for row in rows)
        return found

    # -- plumbing ----------------------------------------------------------------------------

    def _write(self, run: Any, tenants: Sequence[str] = ()) -> Any:
        return self._writer.submit(run, tenants).result()

    @contextlib.contextmanager
    def _connection(self) -> Iterator[Any]:
        """A private connection, closed afterwards (migrations, verification)."""
        connection = self.backend.connect()
        try:
            yield connection
        finally:
            with contextlib.suppress(Exception):
                connection.close()

    def _reader(self) -> Any:
        if self._closed:
            raise StoreError("the store is closed")
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self.backend.connect()
            self._local.connection = connection
            with self._readers_lock:
                self._readers.append(connection)
        return connection

    def _read(self, sql: str, parameters: Sequence[Any], one: bool) -> Any:
        connection = self._reader()
        try:
            cursor = connection.execute(self.backend.sql(sql), tuple(parameters))
            return cursor.fetchone() if one else cursor.fetchall()
        except Exception as error:
            if not self.backend.unavailable(error):
                raise
            # A broken connection is replaced on the next read.
            self._local.connection = None
            with self._readers_lock, contextlib.suppress(ValueError):
                self._readers.remove(connection)
            with contextlib.suppress(Exception):
                connection.close()
            raise StoreUnavailable(f"cannot read {self.url}: "
                                   f"{' '.join(str(error).split())}") from error

    def _read_one(self, sql: str, parameters: Sequence[Any] = ()) -> Any:
        return self._read(sql, parameters, one=True)

    def _read_all(self, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
        rows: list[Any] = self._read(sql, parameters, one=False)
        return rows

    def _log_row(self, row: Sequence[Any]) -> LogRow:
        read_time = self.backend.read_time
        return LogRow(
            tenant=row[0], seq=int(row[1]), kind=row[2], decision_id=row[3], flow=row[4],
            strategy_version=row[5], application_id=row[6], idempotency_key=row[7],
            request=_parse(row[8]), response=_parse(row[9]), outcome=row[10],
            trace=_parse(row[11]), features=_parse(row[12]),
            latency_ms=None if row[13] is None else float(row[13]),
            decided_at=read_time(row[14]), prev_hash=row[16], hash=row[17])

    def _decision(self, row: Sequence[Any]) -> StoredDecision:
        entry = self._log_row(row)
        return StoredDecision(
            decision_id=entry.decision_id, tenant=entry.tenant, seq=entry.seq,
            flow=entry.flow, strategy_version=entry.strategy_version,
            application_id=entry.application_id, idempotency_key=entry.idempotency_key,
            request=entry.request, response=entry.response, outcome=entry.outcome,
            trace=entry.trace, features=entry.features, latency_ms=entry.latency_ms or 0.0,
            decided_at=entry.decided_at, recorded_at=self.backend.read_time(row[15]),
            prev_hash=entry.prev_hash, hash=entry.hash)

    def _review_item(self, row: Sequence[Any]) -> ReviewItem:
        read_time = self.backend.read_time
        return ReviewItem(
            tenant=row[0], decision_id=row[1], application_id=row[2], flow=row[3],
            queue=row[4], reason=row[5], status=row[6], opened_at=read_time(row[7]),
            resolved_at=None if row[8] is None else read_time(row[8]), action=row[9],
            reviewer=row[10], comment=row[11],
            resolution_seq=None if row[12] is None else int(row[12]))

    def _draft(self, row: Sequence[Any]) -> DocumentDraft:
        return DocumentDraft(tenant=row[0], kind=row[1], name=row[2], revision=int(row[3]),
                             content=row[4], author=row[5],
                             saved_at=self.backend.read_time(row[6]))

    def _version(self, row: Sequence[Any]) -> StrategyVersion:
        return StrategyVersion(tenant=row[0], version_hash=row[1], manifest=json.loads(row[2]),
                               files=json.loads(row[3]), author=row[4],
                               created_at=self.backend.read_time(row[5]))

    def _release(self, row: Sequence[Any]) -> Release:
        return Release(tenant=row[0], seq=int(row[1]), target=row[2], version_hash=row[3],
                       action=row[4], actor=row[5], note=row[6],
                       released_at=self.backend.read_time(row[7]))


# -- checking and serializing records --------------------------------------------------------


def _event_row(record: EventRecord, index: int) -> tuple[Any, ...]:
    if not isinstance(record, EventRecord):
        raise StoreError(f"append_events takes EventRecords (item {index} is "
                         f"{type(record).__name__})")
    for name in ("tenant", "event_id", "event_type"):
        if not isinstance(getattr(record, name), str) or not getattr(record, name):
            raise StoreError(f"event {index}: {name} must be non-empty text", field=name)
    try:
        payload = to_json_text(record.payload)
    except (TypeError, ValueError) as error:
        raise StoreError(f"event {index}: payload is not JSON: {error}",
                         field="payload") from None
    received = None if record.received_at is None else aware(record.received_at,
                                                              "received_at")
    return (record.tenant, record.event_id, record.event_type,
            aware(record.occurred_at, "occurred_at"), payload, received)


def _parse(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _check_limit(limit: int) -> None:
    if not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise StoreError(f"limit must be between 1 and {MAX_PAGE}, not {limit!r}",
                         field="limit")


def _cursor(kind: str, seq: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{seq}".encode()).decode().rstrip("=")


def _read_cursor(cursor: str, kind: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        found, _, seq = text.partition(":")
        if found == kind and seq.isdigit():
            return int(seq)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise StoreError(f"not a cursor of this listing: {cursor!r}", field="cursor")
