"""Fixtures of the service tests: a strategy project (``fengkong init``'s scaffold), a
store, a test client and a live server.

The scaffold is a real project: an input schema, velocity features over application
events, a knock-out table, a review rule, pricing. Each test gets its own copy and its own
SQLite store, so decisions and feature state never leak between tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from servicekit import LiveServer, serving
from starlette.testclient import TestClient

from fengkong.project import init_project
from fengkong.service import ServiceSettings


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "strategy"
    init_project(folder, name="service-test")
    return folder


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'decisions.db'}"


@pytest.fixture
def client(project: Path, db: str) -> Iterator[TestClient]:
    with serving(ServiceSettings(project=project, db=db)) as test_client:
        yield test_client


@pytest.fixture
def live_server(project: Path, db: str) -> Iterator[LiveServer]:
    with LiveServer(ServiceSettings(project=project, db=db)) as server:
        yield server
