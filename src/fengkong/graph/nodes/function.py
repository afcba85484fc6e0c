"""Function nodes: a JavaScript ``handler(input)`` run in an embedded V8 isolate.

JDM content is the source text itself (Zen's first format) or ``{"source": ...,
"omitNodes": bool}``. The script is compiled when the graph loads by
:class:`fengkong.graph.function_node.JavaScriptFunction`, which also enforces the time limit;
errors come out as :class:`~fengkong.errors.FunctionNodeError`. The handler receives the
node's input (with ``$nodes`` when the script mentions it and ``omitNodes`` is not set) and
its return value is the node's output. Trace data: ``{"log": [...]}``, the console lines.
"""

from __future__ import annotations

from typing import Any

from fengkong.graph.model import NodeSpec
from fengkong.graph.nodes.compiling import mentions_nodes, scope_for, text
from fengkong.graph.registry import CompileContext, CompiledNode, register_node_type
from fengkong.graph.runtime import Run


def compile_function_node(spec: NodeSpec, context: CompileContext) -> CompiledNode:
    content = spec.content
    omit_nodes = False
    if isinstance(content, dict):
        source = text(spec, content.get("source"), "source")
        omit_nodes = content.get("omitNodes") is True
    else:
        source = text(spec, content, "content (the function source)")
    # Imported here: the JavaScript runtime is only loaded by graphs that use it.
    from fengkong.graph.function_node import JavaScriptFunction

    function = JavaScriptFunction(source, node_id=spec.id, node_name=spec.name)
    scope_of = scope_for(not omit_nodes and mentions_nodes(source))

    def evaluate_traced(node_input: Any, run: Run) -> tuple[Any, Any]:
        output, logs = function(scope_of(node_input, run))
        return output, {"log": logs}

    def evaluate(node_input: Any, run: Run) -> Any:
        return function(scope_of(node_input, run))[0]

    return CompiledNode(spec.id, spec.name, spec.type, evaluate, evaluate_traced)


register_node_type("functionNode", compile_function_node)
