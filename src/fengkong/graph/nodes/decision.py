"""Sub-decision nodes: run another decision graph as one node.

JDM content: ``{"key": "scorecards/thin_file.json"}`` plus node options. The key is resolved
through the engine's loader when the node first runs (as Zen does), then cached by the
engine. The sub-decision receives the node's input as its context and outputs its result;
its trace becomes the node's ``traceData``. Nesting deeper than the evaluation's
``max_depth`` (5 by default, as in Zen) raises
:class:`~fengkong.errors.EvaluationLimitError`, which also stops a decision that calls
itself.
"""

from __future__ import annotations

from typing import Any

from fengkong.errors import EvaluationLimitError
from fengkong.graph.model import NodeSpec
from fengkong.graph.nodes.compiling import text
from fengkong.graph.nodes.options import apply_options, parse_options
from fengkong.graph.registry import CompileContext, CompiledNode, register_node_type
from fengkong.graph.runtime import Run


def compile_decision_node(spec: NodeSpec, context: CompileContext) -> CompiledNode:
    content = spec.content_object()
    key = text(spec, content.get("key"), "key")
    if not key.strip():
        raise spec.error("key (the sub-decision to run) is empty")

    def evaluate_traced(node_input: Any, run: Run) -> tuple[Any, Any]:
        decision = run.engine.get_decision(key)
        child = run.child()
        if child.depth >= child.max_depth:
            raise EvaluationLimitError(
                f"sub-decision {key!r} would nest deeper than max_depth={child.max_depth}")
        return decision.graph.execute(node_input, child)

    def evaluate(node_input: Any, run: Run) -> Any:
        return evaluate_traced(node_input, run)[0]

    run, run_traced = apply_options(parse_options(spec, content), evaluate, evaluate_traced)
    return CompiledNode(spec.id, spec.name, spec.type, run, run_traced)


register_node_type("decisionNode", compile_decision_node)
