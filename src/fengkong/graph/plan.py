"""Walk plans: which nodes run, in which order, with which inputs — decided before requests.

zen-engine walks a graph with a stack, from the input node, running a node once all its
predecessors have run. A switch node prunes the edges of the branches it did not take
(recursively: a node left without inputs goes too, and so does a node left without
outputs), then restarts the walk, skipping the nodes that already ran. The walk stops at the
first output node it runs. The decision result merges the outputs of the walked nodes that
have no outgoing edge left, in document order.

That walk depends only on the graph and on what the switches chose, never on other node
outputs. So instead of walking per request, :class:`WalkPlanner` replays Zen's walk once per
combination of switch choices and records it as a :class:`Segment`: the node steps up to the
next switch, then the switch. A graph without switches has a single segment computed at load
time; with switches, the segment after each choice is computed the first time that choice is
made and cached (up to :data:`MAX_CACHED_SEGMENTS`, after which a rare path is replayed per
request rather than cached). Replaying Zen's walk, rather than merely sorting topologically,
keeps the visiting order, the predecessor order of merged inputs and the result identical to
Zen's, including on graphs with several output nodes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fengkong.graph.model import INPUT_NODE, OUTPUT_NODE, SWITCH_NODE, GraphModel

MAX_CACHED_SEGMENTS = 4096

# A step runs node ``index`` on the merged outputs of ``predecessors`` (node indices, in
# Zen's order: the most recently declared edge first).
Step = tuple[int, tuple[int, ...]]
Choice = tuple[str, ...]


@dataclass(slots=True)
class Segment:
    """The steps of a walk up to (and including) the next switch, or to the end."""

    steps: tuple[Step, ...]
    switch: Step | None
    ending: tuple[int, ...]  # when ``switch`` is None: nodes whose outputs form the result
    choices: tuple[Choice, ...]
    steps_before: int
    # The executor's ready-to-run form of ``steps`` and ``switch`` (see ``WalkPlanner``).
    prepared_steps: tuple[Any, ...] = ()
    prepared_switch: Any = None
    branches: dict[Choice, Segment] = field(default_factory=dict)


class _WalkState:
    """A mutable copy of the graph structure, pruned as Zen prunes it."""

    def __init__(self, model: GraphModel) -> None:
        index = {node.id: node.index for node in model.nodes}
        count = len(model.nodes)
        self.types = [node.type for node in model.nodes]
        self.alive_nodes = [True] * count
        self.sources = [index[edge.source_id] for edge in model.edges]
        self.targets = [index[edge.target_id] for edge in model.edges]
        self.handles = [edge.source_handle for edge in model.edges]
        self.alive_edges = [True] * len(model.edges)
        self.outgoing: list[list[int]] = [[] for _ in range(count)]
        self.incoming: list[list[int]] = [[] for _ in range(count)]
        for edge, (source, target) in enumerate(zip(self.sources, self.targets, strict=True)):
            self.outgoing[source].append(edge)
            self.incoming[target].append(edge)

    def out_edges(self, node: int) -> list[int]:
        # petgraph lists a node's edges newest first; Zen's visiting order depends on it.
        return [edge for edge in reversed(self.outgoing[node]) if self.alive_edges[edge]]

    def in_edges(self, node: int) -> list[int]:
        return [edge for edge in reversed(self.incoming[node]) if self.alive_edges[edge]]

    def predecessors(self, node: int) -> tuple[int, ...]:
        return tuple(self.sources[edge] for edge in self.in_edges(node))

    def successors(self, node: int) -> list[int]:
        return [self.targets[edge] for edge in self.out_edges(node)]

    def remove_edge(self, edge: int) -> None:
        """Remove an edge and whatever it alone kept connected (as Zen does, recursively).

        A node left without inputs goes with its outgoing edges; a node left without outputs
        goes with its incoming edges; and so on. Done with a work list rather than recursion
        so that long chains cannot exhaust Python's stack; the nodes removed are the same.
        """
        pending = [edge]
        while pending:
            edge = pending.pop()
            if not self.alive_edges[edge]:
                continue
            self.alive_edges[edge] = False
            source, target = self.sources[edge], self.targets[edge]
            for node, emptied, opposite in ((target, self.in_edges, self.out_edges),
                                            (source, self.out_edges, self.in_edges)):
                if self.alive_nodes[node] and not emptied(node):
                    pending.extend(opposite(node))
                    self.remove_node(node)

    def remove_node(self, node: int) -> None:
        # Its remaining edges are queued by ``remove_edge`` (which then finds them alive and
        # checks their other ends) before the node itself goes.
        self.alive_nodes[node] = False

    def entry_nodes(self) -> list[int]:
        return [node for node, kind in enumerate(self.types)
                if kind == INPUT_NODE and self.alive_nodes[node]]


def replay(model: GraphModel, choices: tuple[Choice, ...]) -> Segment:
    """Replay Zen's walk given the first switches' choices, up to the next open switch."""
    state = _WalkState(model)
    steps: list[Step] = []
    ran: set[int] = set()
    ordered: set[int] = set()
    switched: set[int] = set()
    to_visit = state.entry_nodes()
    pending = list(choices)
    switch: Step | None = None

    def next_node() -> int | None:
        nonlocal to_visit, ordered, switch
        while to_visit:
            node = to_visit.pop()
            if node in ordered:
                continue
            waiting = [p for p in state.predecessors(node) if p not in ordered]
            if waiting:
                to_visit.append(node)
                to_visit.extend(waiting)
                continue
            ordered.add(node)
            if state.types[node] == SWITCH_NODE and node not in switched:
                step = (node, state.predecessors(node))
                if not pending:
                    switch = step
                    return None
                steps.append(step)
                ran.add(node)
                chosen = pending.pop(0)
                switched.add(node)
                dropped = [edge for edge in state.out_edges(node)
                           if state.handles[edge] not in chosen]
                for edge in dropped:
                    state.remove_edge(edge)
                if dropped:
                    ordered = set()
                    to_visit = state.entry_nodes()
                    continue
            to_visit.extend(state.successors(node))
            return node
        return None

    while (node := next_node()) is not None:
        if node in ran:
            continue
        steps.append((node, state.predecessors(node)))
        ran.add(node)
        if state.types[node] == OUTPUT_NODE:
            break
    ending = () if switch is not None else tuple(
        node for node in range(len(state.types))
        if state.alive_nodes[node] and node in ordered and node in ran
        and not state.out_edges(node)
    )
    return Segment(tuple(steps), switch, ending, choices, 0)


class WalkPlanner:
    """The cached walk plans of one graph, extended as new switch choices appear.

    ``prepare(step)`` turns a step into whatever the executor runs (done once per cached
    segment, so per-request work is only running the prepared steps).
    """

    def __init__(self, model: GraphModel, prepare: Callable[[Step], Any]) -> None:
        self.model = model
        self._prepare = prepare
        self.root = self._prepared(replay(model, ()))
        self._segments = 1
        self._lock = threading.Lock()

    def _prepared(self, segment: Segment) -> Segment:
        segment.prepared_steps = tuple(self._prepare(step) for step in segment.steps)
        if segment.switch is not None:
            segment.prepared_switch = self._prepare(segment.switch)
        return segment

    def after(self, segment: Segment, choice: Choice) -> Segment:
        """The segment that follows ``segment`` once its switch made ``choice``."""
        cached = segment.branches.get(choice)
        if cached is not None:
            return cached
        choices = (*segment.choices, choice)
        full = replay(self.model, choices)
        done = segment.steps_before + len(segment.steps) + 1  # + 1: the switch itself
        following = self._prepared(
            Segment(full.steps[done:], full.switch, full.ending, choices, done))
        with self._lock:
            if self._segments < MAX_CACHED_SEGMENTS:
                following = segment.branches.setdefault(choice, following)
                self._segments += 1
        return following
