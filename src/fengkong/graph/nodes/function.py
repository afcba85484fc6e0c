"""Function nodes: a JavaScript ``handler(input)`` run in a sandboxed JavaScript engine.

JDM content is ``{"source": ..., "omitNodes": bool}`` (an ES module exporting ``handler``)
or, in Zen's first format, the script text itself.
:class:`fengkong.graph.function_node.JavaScriptFunction` compiles it when the graph loads and
enforces the time limit; a failing handler raises
:class:`~fengkong.errors.FunctionNodeError`. The handler receives the node's input (with
``$nodes`` when the script mentions it and ``omitNodes`` is not set) and its return value is
the node's output. Trace data: ``{"log": [{"lines": [...], "msSinceRun": n}, ...]}``, the
``console.log`` calls, as in Zen.
"""

from __future__ import annotations

from typing import Any

from fengkong.expr.values import to_json
from fengkong.graph.model import NodeSpec
from fengkong.graph.nodes.compiling import mentions_nodes, scope_for
from fengkong.graph.registry import CompileContext, CompiledNode, register_node_type
from fengkong.graph.runtime import Run


def compile_function_node(spec: NodeSpec, context: CompileContext) -> CompiledNode:
    # Imported here: the JavaScript engine is only loaded by graphs that use it.
    from fengkong.graph.function_node import JavaScriptFunction

    content = spec.content
    function = JavaScriptFunction.from_content(content, node_id=spec.id, node_name=spec.name)
    omit_nodes = isinstance(content, dict) and content.get("omitNodes") is True
    scope_of = scope_for(not omit_nodes and mentions_nodes(function.source))

    def evaluate_traced(node_input: Any, run: Run) -> tuple[Any, Any]:
        # to_json: expression results (dates) become JSON before they cross into JavaScript.
        result = function.run(to_json(scope_of(node_input, run)))
        return result.output, {"log": [entry.to_dict() for entry in result.logs]}

    def evaluate(node_input: Any, run: Run) -> Any:
        return function.run(to_json(scope_of(node_input, run))).output

    return CompiledNode(spec.id, spec.name, spec.type, evaluate, evaluate_traced)


register_node_type("functionNode", compile_function_node)
