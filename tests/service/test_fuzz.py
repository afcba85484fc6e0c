"""Fuzz every endpoint from the service's own OpenAPI document (schemathesis): whatever a
caller sends — valid by the schema or not — the server answers without a 5xx, and its
error answers are problem documents.

The app is made when this module is imported (schemathesis reads the document to
parametrize the test), over a fresh ``fengkong init`` project and SQLite store in a
temporary folder removed at exit. CI runs the same examples every time (``CI`` set);
a developer's run explores new ones.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from fengkong.project import init_project
from fengkong.service import ServiceSettings, create_app

_FOLDER = Path(tempfile.mkdtemp(prefix="fengkong-fuzz-"))
atexit.register(shutil.rmtree, _FOLDER, ignore_errors=True)
init_project(_FOLDER / "strategy", name="fuzz")
APP = create_app(ServiceSettings(project=_FOLDER / "strategy",
                                 db=f"sqlite:///{_FOLDER / 'decisions.db'}"))
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@schema.parametrize()
@settings(max_examples=40, deadline=None, derandomize=bool(os.environ.get("CI")),
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
def test_no_input_makes_the_server_fail(case: Any) -> None:
    response = case.call()
    case.validate_response(response, checks=[not_a_server_error])
    if response.status_code >= 400:
        content_type = response.headers["content-type"][0]  # schemathesis: header -> values
        assert content_type.startswith("application/problem+json")
        assert response.json()["status"] == response.status_code
