"""The two databases behind one small interface: how to connect, begin a write, lock a
chain, pass a time, and tell "the database cannot write" from "this row is refused".

SQL is written once with ``?`` placeholders (SQLite's) and translated for psycopg.
SQLite runs in WAL mode with ``synchronous=FULL``: a commit returns after the log is
fsynced. PostgreSQL's defaults (``synchronous_commit=on``, ``fsync=on``) give the same.
psycopg is imported only here, and only when a PostgreSQL URL is opened.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fengkong.store.errors import StoreError, StoreUnavailable
from fengkong.store.model import iso

#: Parameters per multi-row INSERT on SQLite: well under its limit (32,766), large enough
#: that a full batch of decisions takes a few statements.
SQLITE_INSERT_PARAMETERS = 10_000


class Backend:
    """What differs between SQLite and PostgreSQL."""

    dialect = ""

    def connect(self) -> Any:
        raise NotImplementedError

    def sql(self, text: str) -> str:
        return text

    def begin_write(self, connection: Any) -> None:
        connection.execute("BEGIN")

    def begin_snapshot(self, connection: Any) -> None:
        """A read transaction that sees one consistent state (for verification)."""
        connection.execute("BEGIN")

    def insert(self, connection: Any, table: str, columns: Sequence[str],
               rows: Sequence[Sequence[Any]]) -> None:
        """Insert ``rows`` into ``table`` with one ``executemany`` (psycopg pipelines it:
        one round trip, the statement prepared once)."""
        sql = self.sql(f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
                       f"({', '.join('?' * len(columns))})")
        if len(rows) == 1:
            # Entering and leaving the pipeline costs more client CPU than one execute
            # (about 130 against 65 us); from two rows on, the pipeline is cheaper.
            connection.execute(sql, rows[0])
        else:
            connection.cursor().executemany(sql, rows)

    def lock_chains(self, connection: Any, tenants: Sequence[str]) -> None:
        """Serialize appends to these tenants' chains with every other writer."""

    def lock_migrations(self, connection: Any) -> None:
        """Serialize schema migration with every other process opening the store."""

    def time(self, moment: datetime | None) -> Any:
        """A time as this database takes it as a parameter."""
        return moment

    def read_time(self, value: Any) -> datetime:
        assert isinstance(value, datetime)
        return value.astimezone(UTC)

    def unavailable(self, error: BaseException) -> bool:
        """True for errors that mean the database cannot be used right now (as opposed to
        a row it refuses or a bug)."""
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


class SQLiteBackend(Backend):
    """A file, WAL, ``synchronous=FULL``; writers serialize on ``BEGIN IMMEDIATE``."""

    dialect = "sqlite"

    def __init__(self, path: Path, busy_timeout_ms: int = 5000, create: bool = True) -> None:
        self.path = path
        self.busy_timeout_ms = busy_timeout_ms
        self.create = create

    def _use_wal(self, connection: sqlite3.Connection) -> None:
        """Switch the file to WAL. Switching takes an exclusive lock and SQLite answers
        "database is locked" at once, without waiting the busy timeout, when another
        process opens the same new file at that moment: try again until the timeout."""
        deadline = time.monotonic() + self.busy_timeout_ms / 1000
        while True:
            try:
                connection.execute("PRAGMA journal_mode=WAL").fetchone()
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def connect(self) -> sqlite3.Connection:
        try:
            if self.create:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            elif not self.path.exists():
                raise StoreError(f"no database at {self.path}")
            connection = sqlite3.connect(self.path, isolation_level=None,
                                         check_same_thread=False,
                                         timeout=self.busy_timeout_ms / 1000)
            try:
                self._use_wal(connection)
                # FULL: the WAL is fsynced at every commit (NORMAL would lose the last
                # commits on power loss, which an acknowledged decision must survive).
                connection.execute("PRAGMA synchronous=FULL")
                connection.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_ms)}")
            except BaseException:
                connection.close()
                raise
            return connection
        except (sqlite3.Error, OSError) as error:
            raise StoreUnavailable(f"cannot open {self.path}: {error}") from error

    def begin_write(self, connection: Any) -> None:
        # IMMEDIATE takes the write lock now, so the chain head read next is the head.
        connection.execute("BEGIN IMMEDIATE")

    def lock_migrations(self, connection: Any) -> None:
        pass  # BEGIN IMMEDIATE already excludes every other writer

    def insert(self, connection: Any, table: str, columns: Sequence[str],
               rows: Sequence[Sequence[Any]]) -> None:
        # Multi-row VALUES, not executemany: the sqlite3 module lets go of the GIL for
        # every step, and executemany steps once per row. With a busy thread competing
        # (the server's event loop), winning the GIL back row by row made a batch of 64
        # decisions 4-5 times slower (benchmarks/RESULTS.md, "Decision store").
        per_statement = max(1, SQLITE_INSERT_PARAMETERS // len(columns))
        row_text = "(" + ", ".join("?" * len(columns)) + ")"
        for start in range(0, len(rows), per_statement):
            chunk = rows[start:start + per_statement]
            connection.execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
                               + ", ".join([row_text] * len(chunk)),
                               [value for row in chunk for value in row])

    def time(self, moment: datetime | None) -> Any:
        return iso(moment)  # fixed-width UTC text sorts in time order

    def read_time(self, value: Any) -> datetime:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)

    def unavailable(self, error: BaseException) -> bool:
        return isinstance(error, sqlite3.OperationalError | sqlite3.InterfaceError
                          | OSError | StoreUnavailable) or (
            isinstance(error, sqlite3.DatabaseError)
            and not isinstance(error, sqlite3.IntegrityError | sqlite3.ProgrammingError))

    def describe(self) -> str:
        return f"sqlite:///{self.path}"


class PostgresBackend(Backend):
    """psycopg 3 in autocommit mode with explicit BEGIN/COMMIT; chain appends serialize on
    a transaction-scoped advisory lock per (schema, tenant)."""

    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        try:
            import psycopg
        except ImportError:
            raise StoreError("a PostgreSQL store needs psycopg: "
                             "pip install 'fengkong[postgres]'") from None
        self.psycopg = psycopg
        self.url = url

    def connect(self) -> Any:
        options: dict[str, Any] = {"autocommit": True}
        if "connect_timeout" not in self.url:
            options["connect_timeout"] = 5
        try:
            return self.psycopg.connect(self.url, **options)
        except self.psycopg.Error as error:
            raise StoreUnavailable(f"cannot connect to {self.describe()}: "
                                   f"{' '.join(str(error).split())}") from error

    def sql(self, text: str) -> str:
        return text.replace("?", "%s")

    def begin_snapshot(self, connection: Any) -> None:
        connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")

    def lock_chains(self, connection: Any, tenants: Sequence[str]) -> None:
        # Sorted by the caller, so two writers never wait on each other in a cycle. The
        # schema is part of the key: stores in other schemas of the database do not queue
        # behind this one.
        for tenant in tenants:
            connection.execute("SELECT pg_advisory_xact_lock(hashtext(current_schema()), "
                               "hashtext(%s))", (tenant,))

    def lock_migrations(self, connection: Any) -> None:
        connection.execute("SELECT pg_advisory_xact_lock(hashtext('fengkong.migrate:' "
                           "|| current_schema()))")

    def unavailable(self, error: BaseException) -> bool:
        errors = self.psycopg
        return isinstance(error, errors.OperationalError | errors.InterfaceError
                          | errors.InternalError | StoreUnavailable | OSError)

    def describe(self) -> str:
        parts = urlsplit(self.url)
        host = parts.hostname or "localhost"
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{host}{port}{parts.path}"


def backend_for(url: str, create: bool = True) -> Backend:
    """The backend a store URL names: ``sqlite:///relative/path.db``,
    ``sqlite:////absolute/path.db`` (an optional ``?busy_timeout=MS``), a bare file path,
    or ``postgresql://user@host:port/db?options=-csearch_path%3Dschema``."""
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresBackend(url)
    path_text, timeout = url, 5000
    if url.startswith("sqlite:"):
        if not url.startswith("sqlite:///"):
            raise StoreError(f"a SQLite URL is sqlite:///PATH, not {url!r}")
        parts = urlsplit(url)
        path_text = url[len("sqlite:///"):].split("?", 1)[0]
        query = parse_qs(parts.query)
        unknown = set(query) - {"busy_timeout"}
        if unknown:
            raise StoreError(f"unknown SQLite URL option {sorted(unknown)[0]!r} "
                             "(known: busy_timeout)")
        if "busy_timeout" in query:
            try:
                timeout = int(query["busy_timeout"][0])
            except ValueError:
                raise StoreError("busy_timeout must be milliseconds") from None
    elif "://" in url:
        raise StoreError(f"unknown store URL {url!r}: use sqlite:///PATH or postgresql://...")
    if not path_text or path_text == ":memory:":
        raise StoreError("the store needs a database file (an in-memory database is not "
                         "durable)")
    return SQLiteBackend(Path(path_text), timeout, create)
