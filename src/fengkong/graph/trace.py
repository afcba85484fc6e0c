"""The evaluation trace and timings, in zen-engine's format.

A traced evaluation returns ``trace``: one entry per node that ran, keyed by node id::

    {"input": ..., "output": ..., "name": "Risk rules", "id": "b2...", "performance": "3.1µs",
     "traceData": ..., "order": 1}

``order`` counts the nodes in the order they ran, from 0 (the input node). The input node's
``input`` and the output node's ``output`` are ``null``, as in Zen. ``traceData`` is
node-specific (the matched rule of a decision table, each expression's result, the switch
statements taken, a sub-decision's own trace...). ``performance`` strings are formatted like
Rust's ``{:.1?}`` for durations (``"663.0ns"``, ``"11.4µs"``, ``"2.3ms"``, ``"1.0s"``).

A *steps* trace (``evaluate(..., trace="steps")``, fengkong's own) is what a decision log
keeps of every decision: each entry without ``input``, and with ``output`` as the node's
own object, not a JSON copy. Copying every node's input and output — each holding the
whole context, with a thousand features in it — would cost more than the decision.
"""

from __future__ import annotations

from typing import Any

from fengkong.expr.values import to_json


def format_duration(nanoseconds: int) -> str:
    """A duration as Zen prints it: one decimal, unit chosen by magnitude, half rounded up."""
    if nanoseconds < 1_000:
        return f"{nanoseconds}.0ns"
    if nanoseconds < 1_000_000:
        unit, suffix = 1_000, "µs"
    elif nanoseconds < 1_000_000_000:
        unit, suffix = 1_000_000, "ms"
    else:
        unit, suffix = 1_000_000_000, "s"
    tenths = (nanoseconds * 20 + unit) // (2 * unit)  # tenths of the unit, half rounded up
    return f"{tenths // 10}.{tenths % 10}{suffix}"


def trace_entry(node_id: str, name: str, node_input: Any, output: Any, trace_data: Any,
                nanoseconds: int, order: int) -> dict[str, Any]:
    """One node's trace entry (values converted to JSON-ready form)."""
    return {
        "input": to_json(node_input),
        "output": to_json(output),
        "name": name,
        "id": node_id,
        "performance": format_duration(nanoseconds),
        "traceData": to_json(trace_data),
        "order": order,
    }


def step_entry(node_id: str, name: str, node_input: Any, output: Any, trace_data: Any,
               nanoseconds: int, order: int) -> dict[str, Any]:
    """One node's entry of a steps trace: no input; the output as the node gave it (share
    it, do not change it)."""
    return {
        "output": output,
        "name": name,
        "id": node_id,
        "performance": format_duration(nanoseconds),
        "traceData": to_json(trace_data),
        "order": order,
    }
