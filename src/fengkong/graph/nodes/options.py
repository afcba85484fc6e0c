"""Node options: ``inputField``, ``executionMode``, ``outputPath`` and ``passThrough``.

Decision tables, expression nodes and sub-decision nodes accept these keys in their
``content`` (Zen calls them transform attributes). Applied in this order:

1. ``inputField`` — an expression; its value becomes the node's input instead of the whole
   input (``applicant``, ``loans``, ``filter(loans, #.open)``...);
2. ``executionMode: "loop"`` — the input must be an array; the node runs once per element and
   outputs the array of results (with ``passThrough``, each result merged into its element);
3. ``outputPath`` — the output is placed at that dotted path (``{"risk": {"band": ...}}``);
4. ``passThrough`` — the output is merged into the node's (whole) input, so the fields
   received flow on to the next node.

A node without options runs its evaluation function directly, with no wrapper.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fengkong.errors import ExpressionEvaluationError
from fengkong.expr import CompiledExpression
from fengkong.expr.values import type_name
from fengkong.graph.merge import merge, nest, split_path
from fengkong.graph.model import NodeSpec
from fengkong.graph.nodes.compiling import compile_standard, mentions_nodes, scope_for
from fengkong.graph.registry import NodeFunction, TracedNodeFunction
from fengkong.graph.runtime import Run

_MODES = ("single", "loop")


@dataclass(frozen=True, slots=True)
class NodeOptions:
    """A node's parsed options."""

    input_field: CompiledExpression | None = None
    output_path: tuple[str, ...] | None = None
    loop: bool = False
    pass_through: bool = False

    @property
    def plain(self) -> bool:
        return (self.input_field is None and self.output_path is None and not self.loop
                and not self.pass_through)


def parse_options(spec: NodeSpec, content: dict[str, Any]) -> NodeOptions:
    """Read the options from a node's content (empty strings count as absent, as in Zen)."""
    input_field = content.get("inputField")
    output_path = content.get("outputPath")
    mode = content.get("executionMode") or "single"
    pass_through = content.get("passThrough", False)
    for key, value in (("inputField", input_field), ("outputPath", output_path)):
        if value is not None and not isinstance(value, str):
            raise spec.error(f"{key} must be a string")
    if mode not in _MODES:
        raise spec.error(f"executionMode must be 'single' or 'loop', got {mode!r}")
    if not isinstance(pass_through, bool):
        raise spec.error("passThrough must be true or false")
    return NodeOptions(
        input_field=compile_standard(spec, input_field) if input_field and input_field.strip()
        else None,
        output_path=split_path(output_path.strip()) if output_path and output_path.strip()
        else None,
        loop=mode == "loop",
        pass_through=pass_through,
    )


def apply_options(
    options: NodeOptions, run: NodeFunction, run_traced: TracedNodeFunction
) -> tuple[NodeFunction, TracedNodeFunction]:
    """Wrap a node's evaluation functions (``run(input)``) with its options."""
    if options.plain:
        return run, run_traced
    select = _selector(options.input_field)
    loop, output_path, pass_through = options.loop, options.output_path, options.pass_through
    source = options.input_field.source if options.input_field is not None else None

    def items(selected: Any) -> list[Any]:
        if type(selected) is not list:
            raise ExpressionEvaluationError(
                f"executionMode 'loop' needs an array as input, got {type_name(selected)}",
                expression=source,
            )
        return selected

    def finish(node_input: Any, output: Any) -> Any:
        if output_path is not None:
            output = nest(output_path, output)
        if pass_through:
            output = merge(node_input, output)
        return output

    def run_with_options(node_input: Any, context: Run) -> Any:
        selected = select(node_input, context)
        if not loop:
            return finish(node_input, run(selected, context))
        outputs = [run(item, context) for item in items(selected)]
        if pass_through:
            outputs = [merge(item, output)
                       for item, output in zip(selected, outputs, strict=True)]
        return finish(node_input, outputs)

    def run_traced_with_options(node_input: Any, context: Run) -> tuple[Any, Any]:
        selected = select(node_input, context)
        if not loop:
            output, trace_data = run_traced(selected, context)
            return finish(node_input, output), trace_data
        outputs = []
        trace_items = []
        for item in items(selected):
            output, trace_data = run_traced(item, context)
            outputs.append(merge(item, output) if pass_through else output)
            if trace_data is not None:
                trace_items.append(trace_data)
        return finish(node_input, outputs), trace_items

    return run_with_options, run_traced_with_options


def _selector(input_field: CompiledExpression | None) -> Callable[[Any, Run], Any]:
    if input_field is None:
        return lambda node_input, context: node_input
    scope = scope_for(mentions_nodes(input_field.source))
    return lambda node_input, context: input_field(scope(node_input, context))
