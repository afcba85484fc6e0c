"""The Python API: load a decision, evaluate it; an engine for many decisions.

>>> import fengkong
>>> decision = fengkong.load({"nodes": [
...     {"id": "in", "name": "Request", "type": "inputNode"},
...     {"id": "calc", "name": "Calc", "type": "expressionNode", "content": {"expressions": [
...         {"id": "1", "key": "dti", "value": "debt / income"}]}},
...     {"id": "out", "name": "Response", "type": "outputNode"}],
...   "edges": [{"id": "a", "sourceId": "in", "targetId": "calc"},
...             {"id": "b", "sourceId": "calc", "targetId": "out"}]})
>>> decision.evaluate({"debt": 1500, "income": 6000})["result"]
{'dti': 0.25}

:func:`load` reads one decision (a path, a dict or JSON text); sub-decisions of a file
resolve relative to its directory. :class:`Engine` serves many decisions from a loader
(directory, mapping, callable), compiles each once and caches it. Evaluation returns Zen's
response shape: ``{"performance": "12.3µs", "result": ..., "trace": {...}}`` (``trace`` only
when asked for).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from time import perf_counter_ns
from typing import TYPE_CHECKING, Any

from fengkong.errors import (
    DecisionNotFoundError,
    FengkongError,
    GraphLoadError,
    InputValidationError,
)
from fengkong.graph.executor import CompiledGraph, compile_graph
from fengkong.graph.loaders import DirectoryLoader, Document, LoaderSource, as_loader
from fengkong.graph.model import parse_graph, read_json
from fengkong.graph.registry import CompileContext
from fengkong.graph.runtime import Run, TraceMode
from fengkong.graph.trace import format_duration

if TYPE_CHECKING:
    from fengkong.graph.batch import BatchEvaluator, BatchResult

DEFAULT_MAX_DEPTH = 5  # nesting of sub-decisions, as in zen-engine


class Decision:
    """A compiled decision graph; evaluate it as many times as needed, from any thread."""

    __slots__ = ("_batch", "engine", "graph", "key")

    def __init__(self, graph: CompiledGraph, engine: Engine, key: str | None = None) -> None:
        self.graph = graph
        self.engine = engine
        self.key = key
        self._batch: BatchEvaluator | None = None  # built on the first evaluate_batch

    def evaluate(self, context: Mapping[str, Any] | str | bytes, trace: TraceMode = False, *,
                 max_depth: int | None = None) -> dict[str, Any]:
        """Evaluate on ``context`` (an object, or JSON text of one).

        Returns ``{"performance": ..., "result": ...}`` plus ``"trace"`` when ``trace`` is
        true (zen-engine's trace) or ``"steps"`` (each node's name, time, trace data and
        output object, without JSON copies: what a decision log keeps). Raises a :class:`fengkong.errors.FengkongError` subclass for bad input.
        """
        started = perf_counter_ns()
        if type(context) is not dict:
            context = _context_object(context)
        run = Run(self.engine, trace, 0, max_depth or self.engine.max_depth)
        result, node_trace = self.graph.execute(context, run)
        performance = format_duration(perf_counter_ns() - started)
        if trace:
            return {"performance": performance, "result": result, "trace": node_trace}
        return {"performance": performance, "result": result}

    def evaluate_batch(self, data: Any) -> BatchResult:
        """Evaluate many applications at once, column by column (for backtests).

        ``data`` is a list of context dicts, or columns: a mapping of dotted path
        (``"applicant.age"``) to a sequence or NumPy array of values. Every row gets the
        decision :meth:`evaluate` would give it (see :mod:`fengkong.graph.batch`); rows that
        fail carry their error message in :attr:`BatchResult.errors` instead of stopping
        the batch.
        """
        from fengkong.graph.batch import BatchEvaluator

        evaluator = self._batch
        if evaluator is None:
            evaluator = self._batch = BatchEvaluator(self)
        return evaluator.evaluate(data)

    def __repr__(self) -> str:
        return f"Decision({self.key!r}, {len(self.graph.nodes)} nodes)"


def _context_object(context: Any) -> dict[str, Any]:
    if isinstance(context, str | bytes):
        try:
            context = read_json(context, origin="the context")
        except GraphLoadError as error:
            raise InputValidationError(error.message, position=error.position) from None
    if isinstance(context, Mapping):
        return dict(context)
    raise InputValidationError(f"the context must be a JSON object, got {type(context).__name__}")


class Engine:
    """Many decisions, loaded by key from a loader, compiled once and cached.

    ``loader`` is a directory, a mapping of key to JDM document, or a callable (see
    :mod:`fengkong.graph.loaders`). ``services`` is handed to custom node compilers (feature
    stores, model registries...). ``max_depth`` bounds sub-decision nesting.
    """

    def __init__(self, loader: LoaderSource = None, *, max_depth: int = DEFAULT_MAX_DEPTH,
                 services: Mapping[str, Any] | None = None) -> None:
        self.loader = as_loader(loader)
        self.max_depth = max_depth
        self.compile_context = CompileContext(dict(services or {}), loader=self.loader)
        self._decisions: dict[str, Decision] = {}
        self._lock = threading.Lock()

    def get_decision(self, key: str) -> Decision:
        """The decision stored under ``key`` (loaded and compiled on first use)."""
        decision = self._decisions.get(key)
        if decision is None:
            document = self.loader(key)
            if document is None:
                raise DecisionNotFoundError(f"no decision {key!r} in {self.loader!r}")
            decision = self.create_decision(document, key=key)
            with self._lock:
                decision = self._decisions.setdefault(key, decision)
        return decision

    def create_decision(self, document: Document | Path, *, key: str | None = None) -> Decision:
        """Compile a JDM document (dict, JSON text or path) into a decision of this engine."""
        try:
            model = parse_graph(document)
            context = replace(self.compile_context, directory=self._directory_of(document, key))
            graph = compile_graph(model, context)
        except FengkongError as error:
            if key is not None:
                error.message = f"decision {key!r}: {error.message}"
            raise
        return Decision(graph, self, key)

    def _directory_of(self, document: Document | Path, key: str | None) -> Path | None:
        """The folder of the decision's file, against which node configs resolve paths."""
        if isinstance(document, Path):
            return document.resolve().parent
        if key is not None and isinstance(self.loader, DirectoryLoader):
            return (self.loader.root / key).parent
        return None

    def evaluate(self, key: str, context: Mapping[str, Any] | str | bytes,
                 trace: TraceMode = False) -> dict[str, Any]:
        """Evaluate the decision stored under ``key`` (see :meth:`Decision.evaluate`)."""
        return self.get_decision(key).evaluate(context, trace)

    def forget(self, key: str | None = None) -> None:
        """Drop a cached decision (or all), e.g. after its file changed."""
        with self._lock:
            if key is None:
                self._decisions.clear()
            else:
                self._decisions.pop(key, None)


def load(source: Mapping[str, Any] | str | bytes | Path, *, loader: LoaderSource = None,
         services: Mapping[str, Any] | None = None) -> Decision:
    """Load one decision from a path, a dict or JSON text.

    Sub-decisions resolve through ``loader``; by default, for a file, through the file's
    directory.
    """
    document: Mapping[str, Any] | str | bytes | Path = source
    # JSON text starts with an object or array bracket; anything else names a file.
    if isinstance(source, str) and not source.lstrip().startswith(("{", "[")):
        document = Path(source)
    key = None
    if isinstance(document, Path):
        key = document.name
        if loader is None:
            loader = DirectoryLoader(document.parent)
        try:
            found = document.is_file()
        except (OSError, ValueError) as error:  # a name too long, a NUL byte...
            raise DecisionNotFoundError(f"no decision file {str(document)[:200]!r}: "
                                        f"{getattr(error, 'strerror', None) or error}") from None
        if not found:
            raise DecisionNotFoundError(f"no decision file {str(document)!r}")
    engine = Engine(loader, services=services)
    decision = engine.create_decision(document)
    decision.key = key
    return decision
