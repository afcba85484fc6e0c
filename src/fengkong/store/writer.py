"""Group commit: one thread writes everything, many callers wait on futures.

Callers put a *job* (a function of a :class:`Transaction`) on a queue and get a
``Future``. The writer thread takes every job waiting, runs them all in ONE transaction
and commits — one fsync for the whole batch — and only then resolves the futures. So a
future resolves only once its write is durable, and the throughput is the batch size
times the commit rate rather than one commit per decision.

One job must not fail the others:

* a refusal the job decides itself (:class:`StoreError`: a duplicate key, a closed review)
  is raised before the job writes anything, so the transaction goes on without it;
* any other error of one job (a constraint the job did not foresee, a bug) rolls the
  transaction back, fails that job's future and runs the batch again without it;
* an error of the database itself (disk full, read-only file, lock timeout, PostgreSQL
  gone) fails every future of the batch with :class:`StoreUnavailable` — nothing of it was
  written — and the writer drops its connection and goes on with the next batch.

If the connection dies after COMMIT was sent but before its answer came back, the batch is
reported unavailable although it may have been committed; a retry then finds the decision
by its application id (idempotency) rather than deciding twice.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fengkong.store.backends import Backend
from fengkong.store.chain import ZERO_HASH
from fengkong.store.errors import StoreError, StoreUnavailable

log = logging.getLogger("fengkong.store")

#: The most jobs one transaction takes; more waiting simply makes the next batch.
MAX_BATCH = 2000


class Transaction:
    """What a job sees: the open write transaction and the chain heads within it.

    Jobs read a tenant's head with :meth:`head` and move it with :meth:`advance`; the heads
    are written to ``chain_heads`` once, just before COMMIT. A job must raise its own
    :class:`StoreError` refusals before its first write.
    """

    def __init__(self, backend: Backend, connection: Any, now: datetime) -> None:
        self.backend = backend
        self.connection = connection
        self.now = now
        self._heads: dict[str, tuple[int, str]] = {}
        self._moved: set[str] = set()

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Any:
        return self.connection.execute(self.backend.sql(sql), tuple(parameters))

    def head(self, tenant: str) -> tuple[int, str]:
        """(seq, hash) of the tenant's last entry; (0, zeros) for an empty chain."""
        if tenant not in self._heads:
            row = self.execute("SELECT seq, hash FROM chain_heads WHERE tenant = ?",
                               (tenant,)).fetchone()
            self._heads[tenant] = (int(row[0]), row[1]) if row else (0, ZERO_HASH)
        return self._heads[tenant]

    def advance(self, tenant: str, seq: int, entry_hash: str) -> None:
        self._heads[tenant] = (seq, entry_hash)
        self._moved.add(tenant)

    def write_heads(self) -> None:
        for tenant in sorted(self._moved):
            seq, entry_hash = self._heads[tenant]
            self.execute(
                "INSERT INTO chain_heads (tenant, seq, hash, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (tenant) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, "
                "updated_at = excluded.updated_at",
                (tenant, seq, entry_hash, self.backend.time(self.now)))


Job = Callable[[Transaction], Any]


@dataclass(eq=False)
class _Work:
    run: Job
    tenants: tuple[str, ...]
    future: Future[Any] = field(default_factory=Future)


class _JobFailed(Exception):
    def __init__(self, work: _Work, error: BaseException) -> None:
        super().__init__(str(error))
        self.work = work
        self.error = error


class Writer:
    """The single writer thread of one store."""

    def __init__(self, backend: Backend, max_batch: int = MAX_BATCH) -> None:
        self.backend = backend
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[_Work | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._closed = False
        self._connection: Any = None
        self.batches = 0  # committed transactions, for tests and benchmarks
        self._thread = threading.Thread(target=self._run, name="fengkong-store-writer",
                                         daemon=True)
        self._thread.start()

    def submit(self, run: Job, tenants: Sequence[str] = ()) -> Future[Any]:
        """Queue ``run``; ``tenants`` are the chains it appends to (locked for the batch)."""
        work = _Work(run, tuple(tenants))
        with self._lock:
            if self._closed:
                raise StoreError("the store is closed")
            self._queue.put(work)
        return work.future

    def close(self) -> None:
        """Write what is queued, then stop the thread and close the connection."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(None)
        self._thread.join()
        self._drop_connection()

    # -- the thread ----------------------------------------------------------------------

    def _run(self) -> None:
        stop = False
        while not stop:
            first = self._queue.get()
            if first is None:
                break
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    work = self._queue.get_nowait()
                except queue.Empty:
                    break
                if work is None:
                    stop = True
                    break
                batch.append(work)
            try:
                self._commit(batch)
            except BaseException as error:  # never leave a caller waiting forever
                log.exception("store writer failed")
                for work in batch:
                    if not work.future.done():
                        work.future.set_exception(_unavailable(error))

    def _commit(self, batch: list[_Work]) -> None:
        works = [work for work in batch if work.future.set_running_or_notify_cancel()]
        while works:
            try:
                outcomes = self._attempt(works)
            except _JobFailed as failed:
                failed.work.future.set_exception(failed.error)
                works.remove(failed.work)
                continue
            except BaseException as error:
                log.error("store write failed, %d waiting writes refused: %s", len(works),
                          " ".join(str(error).split()))
                self._drop_connection()
                for work in works:
                    work.future.set_exception(_unavailable(error))
                return
            self.batches += 1
            for work, ok, value in outcomes:
                if ok:
                    work.future.set_result(value)
                else:
                    work.future.set_exception(value)
            return

    def _attempt(self, works: list[_Work]) -> list[tuple[_Work, bool, Any]]:
        connection = self._connect()
        backend = self.backend
        backend.begin_write(connection)
        try:
            backend.lock_chains(connection, sorted({t for work in works for t in work.tenants}))
            transaction = Transaction(backend, connection, datetime.now(UTC))
            outcomes: list[tuple[_Work, bool, Any]] = []
            for work in works:
                try:
                    outcomes.append((work, True, work.run(transaction)))
                except StoreUnavailable:
                    raise
                except StoreError as refusal:
                    outcomes.append((work, False, refusal))
                except Exception as error:
                    if backend.unavailable(error):
                        raise
                    raise _JobFailed(work, error) from error
            transaction.write_heads()
            connection.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(Exception):
                connection.execute("ROLLBACK")
            raise
        return outcomes

    def _connect(self) -> Any:
        if self._connection is None:
            self._connection = self.backend.connect()
        return self._connection

    def _drop_connection(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.close()
            self._connection = None


def _unavailable(error: BaseException) -> StoreUnavailable:
    """A fresh error per waiting caller (futures are read from many threads)."""
    cause = error.message if isinstance(error, StoreUnavailable) else str(error)
    failure = StoreUnavailable("the store could not write (nothing was recorded): "
                               + " ".join(cause.split()))
    failure.__cause__ = error
    return failure
