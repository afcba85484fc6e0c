"""Fixtures shared by the test folders: the real PostgreSQL at 127.0.0.1:5432.

``FENGKONG_TEST_POSTGRES`` overrides the URL. Each test that asks gets a schema of its
own, named at random and dropped when the session ends, so runs on a shared server never
meet. An unreachable server fails those tests, unless ``FENGKONG_SKIP_POSTGRES=1``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

POSTGRES = os.environ.get("FENGKONG_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


class PostgresSchemas:
    """Makes a fresh schema per test, drops all of them at the end of the session."""

    def __init__(self, admin: Any) -> None:
        self.admin = admin
        self.prefix = f"fk_store_{secrets.token_hex(4)}"
        self.made: list[str] = []

    def new_url(self) -> str:
        name = f"{self.prefix}_{len(self.made)}"
        self.admin.execute(f"CREATE SCHEMA {name}")
        self.made.append(name)
        separator = "&" if "?" in POSTGRES else "?"
        return f"{POSTGRES}{separator}options={quote(f'-csearch_path={name}')}"

    def drop_all(self) -> None:
        for name in self.made:
            self.admin.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresSchemas]:
    if os.environ.get("FENGKONG_SKIP_POSTGRES") == "1":
        pytest.skip("FENGKONG_SKIP_POSTGRES=1")
    try:
        import psycopg

        admin = psycopg.connect(POSTGRES, autocommit=True, connect_timeout=5)
    except Exception as error:  # ImportError or a connection failure: say which
        pytest.fail(f"the store's PostgreSQL tests need a server at {POSTGRES} and psycopg "
                    f"({type(error).__name__}: {error}); set FENGKONG_SKIP_POSTGRES=1 to "
                    "skip them", pytrace=False)
    schemas = PostgresSchemas(admin)
    try:
        yield schemas
    finally:
        schemas.drop_all()
        admin.close()
