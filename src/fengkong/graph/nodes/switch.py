"""Switch nodes: route the evaluation down the branches whose condition holds.

JDM content: ``{"hitPolicy": "first" | "collect", "statements": [{"id", "condition"}]}``
(``first`` by default). Each statement is a branch: the edges leaving the switch with
``sourceHandle`` equal to the statement id. ``first`` takes the first statement whose
condition is ``true``; ``collect`` takes every such statement. An empty condition is always
true, so a last empty statement is the default branch under ``first``. A condition that
fails to evaluate or is not ``true`` counts as false, as in Zen.

The switch passes its input on unchanged; the branches not taken are pruned from the walk
(see :mod:`fengkong.graph.plan`), so their nodes never run. Switch nodes take no node
options. Trace data: ``{"statements": [{"id": ...}, ...]}``, the statements taken.
"""

from __future__ import annotations

from typing import Any

from fengkong.errors import ExpressionEvaluationError
from fengkong.graph.model import NodeSpec
from fengkong.graph.nodes.compiling import array, compile_standard, mentions_nodes, scope_for, text
from fengkong.graph.registry import CompileContext, CompiledNode, register_node_type
from fengkong.graph.runtime import Run

_HIT_POLICIES = ("first", "collect")


def compile_switch_node(spec: NodeSpec, context: CompileContext) -> CompiledNode:
    content = spec.content_object()
    hit_policy = content.get("hitPolicy") or "first"
    if hit_policy not in _HIT_POLICIES:
        raise spec.error(f"hitPolicy must be 'first' or 'collect', got {hit_policy!r}")
    statements = []
    for position, item in enumerate(array(spec, content.get("statements"), "statements")):
        if not isinstance(item, dict):
            raise spec.error(f"statements[{position}] must be an object")
        statement_id = text(spec, item.get("id"), f"statements[{position}].id")
        condition = text(spec, item.get("condition"), f"statements[{position}].condition",
                         default="")
        statements.append(
            (statement_id, compile_standard(spec, condition) if condition.strip() else None))
    compiled = tuple(statements)
    scope_of = scope_for(mentions_nodes(*(c.source for _, c in compiled if c is not None)))
    first_only = hit_policy == "first"

    def choose(node_input: Any, run: Run) -> tuple[str, ...]:
        scope = scope_of(node_input, run)
        taken = []
        for statement_id, condition in compiled:
            if condition is not None:
                try:
                    if condition(scope) is not True:
                        continue
                except ExpressionEvaluationError:
                    continue
            taken.append(statement_id)
            if first_only:
                break
        return tuple(taken)

    def passes_on(node_input: Any, run: Run) -> Any:
        return node_input

    return CompiledNode(spec.id, spec.name, spec.type, passes_on,
                        lambda node_input, run: (node_input, None), choose=choose)


register_node_type("switchNode", compile_switch_node)
