"""How stored records look to API callers: camelCase JSON, the flow's result lifted up.

The loan-origination system reads the outcome, limit, APR, reasons and scores of a decision
without knowing the flow's internals, so those five are lifted to the top of the answer by
convention (a flow's result names them ``decision``, ``limit``, ``apr``, ``reasons`` and
``scores``); the full result is there too. Audit reads one decision in detail: the
application, the trace, the features used, the strategy version and the chain position.
"""

from __future__ import annotations

from typing import Any

from fengkong.store import StoredDecision

_LIFTED = ("limit", "apr", "reasons", "scores")


def decision_view(stored: StoredDecision, detail: bool = False) -> dict[str, Any]:
    """The JSON of one decision; ``detail`` adds what audit needs to replay it."""
    result = stored.response.get("result")
    view: dict[str, Any] = {
        "decisionId": stored.decision_id,
        "applicationId": stored.application_id,
        "flow": stored.flow,
        "outcome": stored.outcome,
    }
    if isinstance(result, dict):
        view.update({key: result[key] for key in _LIFTED if key in result})
    view.update({"strategyVersion": stored.strategy_version,
                 "decidedAt": stored.decided_at.isoformat(),
                 "result": result})
    if detail:
        view.update({"request": stored.request, "trace": stored.trace,
                     "features": stored.features, "latencyMs": stored.latency_ms,
                     "idempotencyKey": stored.idempotency_key,
                     "record": {"seq": stored.seq, "hash": stored.hash,
                                "prevHash": stored.prev_hash,
                                "recordedAt": stored.recorded_at.isoformat()}})
    return view
