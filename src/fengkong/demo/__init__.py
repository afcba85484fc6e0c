"""The consumer-loan demo: ``fengkong demo`` from a fresh machine to a summary of decisions.

* :mod:`fengkong.demo.prepare` — data, the scorecard (credit_data), the fraud model
  (synthetic history, backfilled velocity features) and the project, cached by input hash;
* :mod:`fengkong.demo.history` — the synthetic generator's tables as the project's events;
* :mod:`fengkong.demo.stream` — the applications to replay and their histories;
* :mod:`fengkong.demo.replay` — the decision server as a subprocess, the replay over HTTP,
  the summary.

See ``docs/demo.md``.
"""

from __future__ import annotations

from fengkong.demo.prepare import DemoSettings, PreparedDemo, example_project, prepare

__all__ = ["DemoSettings", "PreparedDemo", "example_project", "prepare"]
