"""Running the decision service: uvicorn, one worker process, settings stated.

One process serves on purpose: the embedded feature state lives in it, so two workers
would each see half of the applications. Throughput comes from the request path being a
millisecond and from the store's group commit, not from processes; several servers share
features through Redis and decisions through PostgreSQL (see ``docs/service.md``).
"""

from __future__ import annotations

import logging
import sys

from fengkong.service.app import ServiceSettings, create_app


def serve(settings: ServiceSettings, host: str = "127.0.0.1", port: int = 8000,
          log_level: str = "warning") -> None:
    """Serve until interrupted. uvloop and httptools are used when installed."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(settings)
    try:
        uvicorn.run(app, host=host, port=port, workers=1, loop="auto", http="auto",
                    access_log=False, log_level=log_level,
                    # Keep connections from the loan-origination system's pool open.
                    timeout_keep_alive=30, backlog=2048)
    finally:
        app.state.service.close()
