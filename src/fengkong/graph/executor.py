"""Compiled graphs and their execution.

:func:`compile_graph` compiles every node of a validated :class:`GraphModel` (so every
expression is parsed once, at load time) and prepares the walk plan
(:mod:`fengkong.graph.plan`). :meth:`CompiledGraph.execute` then only runs prepared steps:
gather a node's input from its predecessors' outputs, call the node, store its output. The
traced variant does the same and also records each node's input, output, trace data and
time; nothing is done for the trace unless it was asked for.

Node outputs are never copied or modified in place: merges copy what they change (see
:mod:`fengkong.graph.merge`). The result is converted to JSON-ready values at the end.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from time import perf_counter_ns
from typing import Any

from fengkong.errors import FengkongError
from fengkong.expr.values import to_json
from fengkong.graph.merge import merge_all, merge_inputs
from fengkong.graph.model import INPUT_NODE, OUTPUT_NODE, GraphModel
from fengkong.graph.nodes.compiling import NODES_VARIABLE
from fengkong.graph.plan import Step, WalkPlanner
from fengkong.graph.registry import CompileContext, CompiledNode, compile_node
from fengkong.graph.runtime import Run
from fengkong.graph.trace import step_entry, trace_entry

Gather = Callable[[list[Any]], Any]
# A step of the fast path: gathers the node's input, runs the node, stores its output.
FastStep = Callable[[list[Any], Run], None]
PreparedStep = tuple[int, CompiledNode, Gather, FastStep]


def compile_graph(model: GraphModel, context: CompileContext | None = None) -> CompiledGraph:
    """Compile all nodes of ``model``; any error names the node it comes from."""
    context = replace(context or CompileContext(), graph=model)
    nodes = []
    for spec in model.nodes:
        try:
            nodes.append(compile_node(spec, context))
        except FengkongError as error:
            raise error.at_node(spec.id, spec.name) from None
    # Only graphs that mention ``$nodes`` pay for recording each node's output by name.
    records_nodes = any(NODES_VARIABLE in json.dumps(spec.content) for spec in model.nodes)
    return CompiledGraph(model, nodes, records_nodes)


def _gather(predecessors: tuple[int, ...], context_slot: int | None) -> Gather:
    """How a node's input is formed: the context for the input node, else Zen's merge."""
    if context_slot is not None:
        return lambda data: data[context_slot]
    if not predecessors:
        return lambda data: {}
    if len(predecessors) == 1:
        (predecessor,) = predecessors

        def gather_one(data: list[Any]) -> Any:
            value = data[predecessor]
            return value if type(value) is dict or type(value) is list else {}

        return gather_one
    return lambda data: merge_inputs([data[index] for index in predecessors])


def _fast_step(index: int, node: CompiledNode, predecessors: tuple[int, ...],
               context_slot: int | None, records_nodes: bool) -> FastStep:
    """One closure per step, so the common shapes cost a single call per node."""
    run_node, name = node.run, node.name
    if records_nodes:
        gather = _gather(predecessors, context_slot)

        def step_recording(data: list[Any], run: Run) -> None:
            output = data[index] = run_node(gather(data), run)
            run.nodes[name] = output

        return step_recording
    if context_slot is not None:
        def step_input(data: list[Any], run: Run) -> None:
            data[index] = run_node(data[context_slot], run)

        return step_input
    if len(predecessors) == 1:
        (predecessor,) = predecessors

        def step_one(data: list[Any], run: Run) -> None:
            value = data[predecessor]
            if type(value) is not dict and type(value) is not list:
                value = {}
            data[index] = run_node(value, run)

        return step_one
    gather = _gather(predecessors, context_slot)

    def step(data: list[Any], run: Run) -> None:
        data[index] = run_node(gather(data), run)

    return step


def result_of(outputs: list[Any]) -> Any:
    """The decision result from the ending nodes' outputs, as JSON-ready values."""
    if len(outputs) == 1 and type(outputs[0]) is dict:
        # The usual case, one output node: merging into {} only drops top-level nulls.
        return {key: value if type(value) in _JSON_SCALARS else to_json(value)
                for key, value in outputs[0].items() if value is not None}
    return to_json(merge_all(outputs))


_JSON_SCALARS = frozenset((str, int, float, bool))


class CompiledGraph:
    """A decision graph ready to evaluate: compiled nodes plus the walk planner."""

    def __init__(self, model: GraphModel, nodes: list[CompiledNode], records_nodes: bool) -> None:
        self.model = model
        self.nodes = nodes
        self.records_nodes = records_nodes
        self._context_slot = len(nodes)
        self.planner = WalkPlanner(model, self._prepare)

    def _prepare(self, step: Step) -> PreparedStep:
        index, predecessors = step
        node = self.nodes[index]
        context_slot = self._context_slot if node.type == INPUT_NODE else None
        return (index, node, _gather(predecessors, context_slot),
                _fast_step(index, node, predecessors, context_slot, self.records_nodes))

    def execute(self, context: Any, run: Run) -> tuple[Any, dict[str, Any] | None]:
        """Evaluate on ``context``: the result, and the trace when ``run.trace`` is set."""
        if run.trace:
            return self._execute_traced(context, run)
        data: list[Any] = [None] * (self._context_slot + 1)
        data[-1] = context
        segment = self.planner.root
        node = None
        try:
            while True:
                # ``node`` is kept so that an error can name the node it came from.
                for _, node, _, step in segment.prepared_steps:  # noqa: B007
                    step(data, run)
                if segment.prepared_switch is None:
                    break
                index, node, gather, _ = segment.prepared_switch
                node_input = data[index] = gather(data)
                if self.records_nodes:
                    run.nodes[node.name] = node_input
                segment = self.planner.after(segment, node.choose(node_input, run))
        except FengkongError as error:
            if node is not None:
                error.at_node(node.id, node.name)
            raise
        return result_of([data[index] for index in segment.ending]), None

    def _execute_traced(self, context: Any, run: Run) -> tuple[Any, dict[str, Any]]:
        data: list[Any] = [None] * (self._context_slot + 1)
        data[-1] = context
        named = run.nodes if self.records_nodes else None
        entry = trace_entry if run.trace is True else step_entry
        trace: dict[str, Any] = {}
        segment = self.planner.root
        node = None
        try:
            while True:
                for index, node, gather, _ in segment.prepared_steps:
                    started = perf_counter_ns()
                    node_input = gather(data)
                    output, trace_data = node.run_traced(node_input, run)
                    data[index] = output
                    if named is not None:
                        named[node.name] = output
                    trace[node.id] = entry(
                        node.id, node.name,
                        None if node.type == INPUT_NODE else node_input,
                        None if node.type == OUTPUT_NODE else output,
                        trace_data, perf_counter_ns() - started, len(trace))
                if segment.prepared_switch is None:
                    break
                index, node, gather, _ = segment.prepared_switch
                started = perf_counter_ns()
                node_input = data[index] = gather(data)
                if named is not None:
                    named[node.name] = node_input
                choice = node.choose(node_input, run)
                trace[node.id] = entry(
                    node.id, node.name, node_input, node_input,
                    {"statements": [{"id": statement} for statement in choice]},
                    perf_counter_ns() - started, len(trace))
                segment = self.planner.after(segment, choice)
        except FengkongError as error:
            if node is not None:
                error.at_node(node.id, node.name)
            raise
        return result_of([data[index] for index in segment.ending]), trace
