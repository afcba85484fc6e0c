"""Every store test runs twice: on SQLite in a temporary folder and on the real PostgreSQL
(the ``postgres`` fixture of ``tests/conftest.py``: a schema of its own per test)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from storekit import Raw


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store URL of an empty database, one per dialect."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fengkong.db'}"
    schemas: Any = request.getfixturevalue("postgres")
    return schemas.new_url()


@pytest.fixture
def raw(url: str) -> Iterator[Raw]:
    connection = Raw(url)
    yield connection
    connection.close()
