"""Helpers of the service tests: the scaffold's applicant, a test client that closes its
store, and uvicorn serving an app in a thread. (A module of its own, not ``conftest``:
several test folders have a ``conftest`` and only one can be imported by that name.)"""

from __future__ import annotations

import contextlib
import copy
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn
from starlette.testclient import TestClient

from fengkong.service import ServiceSettings, create_app

APPLICATION: dict[str, Any] = {
    "applicationId": "APP-0001",
    "appliedAt": "2026-11-25T10:00:00+08:00",
    "applicant": {"idNumber": "110101199001011234", "phone": "13800000001", "age": 35,
                  "monthlyIncome": 15000},
    "device": {"id": "DEV-1"},
    "loan": {"amount": 20000},
    "bureau": {"monthlyRepayments": 1500},
}


def application(number: int, **changes: Any) -> dict[str, Any]:
    """The scaffold's approvable applicant under application id ``APP-<number>``, applying
    ``number`` minutes after 10:00, with a phone and ID number of their own unless
    ``changes`` (``applicant__phone="..."``) say otherwise."""
    body = copy.deepcopy(APPLICATION)
    body["applicationId"] = f"APP-{number:04d}"
    body["applicant"]["phone"] = f"139{number:08d}"
    body["applicant"]["idNumber"] = f"1101011990{number:08d}"
    # A minute apart: features count only what happened strictly before an application.
    body["appliedAt"] = f"2026-11-25T{10 + number // 60:02d}:{number % 60:02d}:00+08:00"
    for path, value in changes.items():
        *parents, last = path.split("__")
        target = body
        for parent in parents:
            target = target[parent]
        target[last] = value
    return body


@contextlib.contextmanager
def serving(settings: ServiceSettings) -> Iterator[TestClient]:
    """A test client of a new app over ``settings``; the app's store is closed after."""
    app = create_app(settings)
    try:
        with TestClient(app, raise_server_exceptions=False) as test_client:
            yield test_client
    finally:
        app.state.service.close()


class LiveServer:
    """uvicorn serving the app on a free port, in a thread of this process."""

    def __init__(self, settings: ServiceSettings) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = create_app(settings)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port,
                                log_level="warning", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)
        self.app.state.service.close()
