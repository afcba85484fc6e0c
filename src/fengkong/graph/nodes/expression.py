"""Expression nodes: compute named values, one ZEN expression each.

``content.expressions`` is a list of ``{"id", "key", "value"}``; each ``value`` is evaluated
on the node's input and stored at ``key`` (a dotted key builds nested objects). Later
expressions see the earlier results as ``$`` (``$.score * 2``). An expression that fails —
arithmetic on a missing field, a wrong type — fails the evaluation with an
:class:`~fengkong.errors.ExpressionEvaluationError` naming the node and the expression.
Rows with an empty key or value are skipped, as in Zen. Trace data: ``{key: {"result": v}}``.
"""

from __future__ import annotations

import re
from typing import Any

from fengkong.expr import CompiledExpression
from fengkong.graph.merge import insert_path, split_path
from fengkong.graph.model import NodeSpec
from fengkong.graph.nodes.compiling import (
    array,
    compile_standard,
    mentions_nodes,
    scope_for,
    text,
)
from fengkong.graph.nodes.options import apply_options, parse_options
from fengkong.graph.registry import CompileContext, CompiledNode, register_node_type
from fengkong.graph.runtime import Run

# ``$`` other than ``$nodes``/``$root``: the expression reads the results computed so far.
READS_RESULTS = re.compile(r"\$(?!nodes\b|root\b)")

# One compiled row: key, its dotted path (None when flat), expression, whether it reads ``$``.
Row = tuple[str, tuple[str, ...] | None, CompiledExpression, bool]


def compile_expression_node(spec: NodeSpec, context: CompileContext) -> CompiledNode:
    content = spec.content_object()
    rows: list[Row] = []
    for position, item in enumerate(array(spec, content.get("expressions"), "expressions")):
        if not isinstance(item, dict):
            raise spec.error(f"expressions[{position}] must be an object")
        key = text(spec, item.get("key"), f"expressions[{position}].key", default="")
        value = text(spec, item.get("value"), f"expressions[{position}].value", default="")
        if not key or not value:
            continue
        path = split_path(key) if "." in key else None
        rows.append((key, path, compile_standard(spec, value),
                     READS_RESULTS.search(value) is not None))
    scope_of = scope_for(mentions_nodes(*(row[2].source for row in rows)))
    compiled_rows = tuple(rows)

    def evaluate(node_input: Any, run: Run, trace: dict[str, Any] | None = None) -> Any:
        scope = scope_of(node_input, run)
        result: dict[str, Any] = {}
        for key, path, expression, reads_results in compiled_rows:
            # ``$`` is null until a first result exists, and a snapshot afterwards (a result
            # must never contain the result object itself).
            value = expression(scope, dict(result) if reads_results and result else None)
            if trace is not None:
                trace[key] = {"result": value}
            if path is None:
                result[key] = value
            else:
                insert_path(result, path, value)
        return result

    def evaluate_traced(node_input: Any, run: Run) -> tuple[Any, Any]:
        trace: dict[str, Any] = {}
        return evaluate(node_input, run, trace), trace

    run, run_traced = apply_options(parse_options(spec, content), evaluate, evaluate_traced)
    return CompiledNode(spec.id, spec.name, spec.type, run, run_traced)


register_node_type("expressionNode", compile_expression_node)
