"""The store's schema, as numbered migrations with SQL for each dialect.

A migration is applied once, in one transaction with its row in ``schema_migrations``
(both SQLite and PostgreSQL run DDL inside transactions), so a crash mid-way leaves the
schema at the previous step. To change the schema, append a :class:`Migration`; never edit
one that has shipped.

Every table has a ``tenant`` column (tenants and roles come later and must fit without a
rewrite). JSON is stored as text on both dialects — exactly the bytes the store wrote, so
the hash chain re-verifies from them, and so a column such as ``request`` can later be
encrypted in place. The append-only tables refuse UPDATE and DELETE with triggers: a
second line of defence after the application itself. A database superuser can still drop a
trigger; the hash chain is what detects that.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    """One numbered schema step: a name and the statements for each dialect."""

    version: int
    name: str
    sqlite: tuple[str, ...]
    postgresql: tuple[str, ...]

    def statements(self, dialect: str) -> tuple[str, ...]:
        return self.sqlite if dialect == "sqlite" else self.postgresql


#: Tables that nobody may UPDATE or DELETE (the decision log, versions, releases).
APPEND_ONLY = ("decision_log", "strategy_versions", "releases")

_SQLITE_TABLES = (
    """CREATE TABLE decision_log (
        tenant TEXT NOT NULL DEFAULT 'default',
        seq INTEGER NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('decision', 'review')),
        decision_id TEXT NOT NULL,
        flow TEXT NOT NULL,
        strategy_version TEXT NOT NULL,
        application_id TEXT,
        idempotency_key TEXT,
        request TEXT,
        response TEXT NOT NULL,
        outcome TEXT NOT NULL,
        trace TEXT,
        features TEXT,
        latency_ms REAL,
        decided_at TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL,
        PRIMARY KEY (tenant, seq)
    )""",
    """CREATE TABLE chain_heads (
        tenant TEXT NOT NULL DEFAULT 'default' PRIMARY KEY,
        seq INTEGER NOT NULL,
        hash TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    """CREATE TABLE review_items (
        tenant TEXT NOT NULL DEFAULT 'default',
        decision_id TEXT NOT NULL,
        decision_seq INTEGER NOT NULL,
        application_id TEXT,
        flow TEXT NOT NULL,
        queue TEXT NOT NULL,
        reason TEXT,
        status TEXT NOT NULL CHECK (status IN ('open', 'approved', 'rejected')),
        opened_at TEXT NOT NULL,
        resolved_at TEXT,
        action TEXT,
        reviewer TEXT,
        comment TEXT,
        resolution_seq INTEGER,
        PRIMARY KEY (tenant, decision_id)
    )""",
    """CREATE TABLE events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        tenant TEXT NOT NULL DEFAULT 'default',
        event_id TEXT NOT NULL,
        event_type TEXT NOT NULL,
        occurred_at TEXT NOT NULL,
        payload TEXT NOT NULL,
        received_at TEXT NOT NULL,
        UNIQUE (tenant, event_id)
    )""",
    """CREATE TABLE strategy_drafts (
        tenant TEXT NOT NULL DEFAULT 'default',
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        revision INTEGER NOT NULL,
        content TEXT NOT NULL,
        author TEXT NOT NULL,
        saved_at TEXT NOT NULL,
        PRIMARY KEY (tenant, kind, name, revision)
    )""",
    """CREATE TABLE strategy_versions (
        tenant TEXT NOT NULL DEFAULT 'default',
        version_hash TEXT NOT NULL,
        manifest TEXT NOT NULL,
        files TEXT NOT NULL,
        author TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (tenant, version_hash)
    )""",
    """CREATE TABLE releases (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        tenant TEXT NOT NULL DEFAULT 'default',
        target TEXT NOT NULL,
        version_hash TEXT NOT NULL,
        action TEXT NOT NULL CHECK (action IN ('publish', 'rollback')),
        actor TEXT NOT NULL,
        note TEXT NOT NULL,
        released_at TEXT NOT NULL
    )""",
)

_POSTGRESQL_TABLES = tuple(
    statement.replace("INTEGER PRIMARY KEY AUTOINCREMENT",
                      "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY")
    .replace("seq INTEGER", "seq BIGINT").replace("resolution_seq INTEGER",
                                                  "resolution_seq BIGINT")
    .replace("latency_ms REAL", "latency_ms DOUBLE PRECISION")
    .replace("_at TEXT", "_at TIMESTAMPTZ")
    for statement in _SQLITE_TABLES
)

_INDEXES = (
    # One decision per application id and per idempotency key (the store checks first,
    # under the chain lock; these are the last word).
    "CREATE UNIQUE INDEX decision_log_decision ON decision_log (tenant, decision_id) "
    "WHERE kind = 'decision'",
    "CREATE UNIQUE INDEX decision_log_application ON decision_log (tenant, application_id) "
    "WHERE kind = 'decision' AND application_id IS NOT NULL",
    "CREATE UNIQUE INDEX decision_log_idempotency ON decision_log (tenant, idempotency_key) "
    "WHERE kind = 'decision' AND idempotency_key IS NOT NULL",
    "CREATE INDEX decision_log_decided ON decision_log (tenant, decided_at)",
    "CREATE INDEX review_items_queue ON review_items (tenant, status, decision_seq)",
    "CREATE INDEX strategy_drafts_latest ON strategy_drafts (tenant, kind, name, revision)",
    "CREATE INDEX releases_target ON releases (tenant, target, seq)",
)


def _sqlite_guards() -> tuple[str, ...]:
    statements = []
    for table in APPEND_ONLY:
        for verb in ("UPDATE", "DELETE"):
            statements.append(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {verb} refused'); END")
    # The head only moves forward: a truncated tail cannot be hidden by rewinding it
    # without first dropping this trigger.
    statements.append(
        "CREATE TRIGGER chain_heads_forward BEFORE UPDATE ON chain_heads "
        "WHEN NEW.seq <= OLD.seq OR NEW.tenant <> OLD.tenant "
        "BEGIN SELECT RAISE(ABORT, 'chain_heads only moves forward'); END")
    statements.append(
        "CREATE TRIGGER chain_heads_no_delete BEFORE DELETE ON chain_heads "
        "BEGIN SELECT RAISE(ABORT, 'chain_heads rows are never deleted'); END")
    return tuple(statements)


def _postgresql_guards() -> tuple[str, ...]:
    statements = [
        """CREATE FUNCTION fengkong_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END $$""",
        """CREATE FUNCTION fengkong_head_forward() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' OR NEW.seq <= OLD.seq OR NEW.tenant <> OLD.tenant THEN
                RAISE EXCEPTION 'chain_heads only moves forward'
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
            RETURN NEW;
        END $$""",
    ]
    for table in APPEND_ONLY:
        statements.append(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION fengkong_append_only()")
        statements.append(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION fengkong_append_only()")
    statements.append(
        "CREATE TRIGGER chain_heads_forward BEFORE UPDATE OR DELETE ON chain_heads "
        "FOR EACH ROW EXECUTE FUNCTION fengkong_head_forward()")
    return tuple(statements)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "decision log, chain heads, reviews, events, strategy documents",
              _SQLITE_TABLES + _INDEXES + _sqlite_guards(),
              _POSTGRESQL_TABLES + _INDEXES + _postgresql_guards()),
)

#: Created before any migration runs, in the same transaction as the first one.
MIGRATIONS_TABLE = {
    "sqlite": "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
              "name TEXT NOT NULL, applied_at TEXT NOT NULL)",
    "postgresql": "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                  "name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL)",
}
