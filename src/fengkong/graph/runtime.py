"""The state of one evaluation, shared by the nodes it runs.

A :class:`Run` is created per ``evaluate`` call (and per sub-decision call) and is the only
mutable thing during an evaluation: compiled graphs and nodes are immutable and shared
between threads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from fengkong.graph.engine import Engine

# False: no trace; True: zen-engine's trace (JSON copies of every node's input and output);
# "steps": each node's name, time, trace data and output object (see fengkong.graph.trace).
TraceMode = bool | Literal["steps"]


class Run:
    """One evaluation: the engine (for sub-decisions), trace flag, depth, ``$nodes``."""

    __slots__ = ("depth", "engine", "max_depth", "nodes", "trace")

    def __init__(self, engine: Engine, trace: TraceMode, depth: int, max_depth: int) -> None:
        self.engine = engine
        self.trace = trace
        self.depth = depth
        self.max_depth = max_depth
        # ``$nodes`` in expressions: the outputs of the nodes run so far, by node name.
        self.nodes: dict[str, Any] = {}

    def child(self) -> Run:
        """The run of a sub-decision called from this one (one level deeper)."""
        return Run(self.engine, self.trace, self.depth + 1, self.max_depth)
