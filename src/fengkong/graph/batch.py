"""Batch evaluation of a decision over many applications at once, for backtests.

``Decision.evaluate_batch(rows)`` gives, for every row, the same decision as ``evaluate``
— only much faster, because the work is done column by column with NumPy:

* The input becomes a :class:`~fengkong.expr.vector.Frame` (one column per dotted path).
* The graph is walked with the same walk plans as single evaluation
  (:mod:`fengkong.graph.plan`). At a switch, the rows are grouped by the branches they take
  and each group continues down its own plan.
* Decision tables, expression nodes and switches run as columns
  (:mod:`fengkong.graph.batch_nodes`). Any other node — functions, sub-decisions, custom
  nodes, nodes with ``inputField``/``loop`` — runs row by row on the rows that reach it, so
  every graph can be batch-evaluated.
* Rows that hit an error in columnar code (a wrong type, a failing output cell) are re-run
  through the single-row engine, which gives their exact result or error message.

Columns do not distinguish a missing field from a null one: :meth:`BatchResult.records`
leaves out null fields, and a node output of null does not erase a field produced upstream
(single evaluation deletes it, following JSON merge patch). See docs/graphs.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from fengkong.errors import FengkongError
from fengkong.expr.vector import NULL, OBJECT, Column, Frame, column_from_values, values_of
from fengkong.graph.batch_nodes import VectorNode, fallback_node, vector_node
from fengkong.graph.plan import Segment
from fengkong.graph.runtime import Run

if TYPE_CHECKING:
    from fengkong.graph.engine import Decision


class BatchResult:
    """Decisions for a batch: result columns by dotted path, plus one error per row."""

    def __init__(self, length: int, columns: dict[str, list[Any]], errors: list[str | None]
                 ) -> None:
        self.length = length
        self.columns = columns
        self.errors = errors

    def __len__(self) -> int:
        return self.length

    def column(self, path: str) -> list[Any]:
        """The values of one result field (``None`` where absent), e.g. ``"offer.apr"``."""
        return self.columns.get(path, [None] * self.length)

    def records(self) -> list[dict[str, Any] | None]:
        """Each row's result as a nested dict (``None`` for rows that failed)."""
        records: list[dict[str, Any] | None] = []
        paths = [(path, path.split("."), values) for path, values in self.columns.items()]
        for row in range(self.length):
            if self.errors[row] is not None:
                records.append(None)
                continue
            record: dict[str, Any] = {}
            for _, keys, values in paths:
                value = values[row]
                if value is None:
                    continue
                target = record
                for key in keys[:-1]:
                    child = target.get(key)
                    if type(child) is not dict:
                        child = target[key] = {}
                    target = child
                target[keys[-1]] = value
            records.append(record)
        return records


def to_frame(data: Sequence[Mapping[str, Any]] | Mapping[str, Sequence[Any]] | Frame) -> Frame:
    """A frame from rows (a list of dicts), columns (dotted path -> values) or a frame."""
    if isinstance(data, Frame):
        return data
    if isinstance(data, Mapping):
        return Frame.from_columns(dict(data))
    return Frame.from_rows([dict(row) for row in data])


class _Collector:
    """Gathers the result columns and errors of row groups into whole-batch lists."""

    def __init__(self, length: int) -> None:
        self.length = length
        self.columns: dict[str, list[Any]] = {}
        self.errors: list[str | None] = [None] * length
        self.rerun = np.zeros(length, dtype=bool)

    def store(self, positions: np.ndarray, result: Frame) -> None:
        where = positions.tolist()
        for path, column in result.columns.items():
            values = values_of(column, len(where))
            target = self.columns.get(path)
            if target is None:
                target = self.columns[path] = [None] * self.length
            for position, value in zip(where, values, strict=True):
                target[position] = value


class BatchEvaluator:
    """Columnar evaluation of one compiled decision (built once, reused per batch)."""

    def __init__(self, decision: Decision) -> None:
        self.decision = decision
        graph = decision.graph
        self.graph = graph
        self.nodes: list[VectorNode] = []
        self.row_only = graph.records_nodes  # $nodes needs every node's output per row
        for spec, compiled in zip(graph.model.nodes, graph.nodes, strict=True):
            self.nodes.append(vector_node(spec, compiled) or fallback_node(spec, compiled))

    def evaluate(self, data: Any) -> BatchResult:
        frame = to_frame(data)
        collector = _Collector(frame.length)
        if self.row_only:
            collector.rerun[:] = True
        else:
            self._walk(self.graph.planner.root, frame, np.arange(frame.length), {}, collector)
        self._rerun(frame, collector)
        return BatchResult(frame.length, collector.columns, collector.errors)

    def _walk(self, segment: Segment, frame: Frame, positions: np.ndarray,
              outputs: dict[int, Frame], collector: _Collector) -> None:
        if frame.length == 0:
            return
        failed = np.zeros(frame.length, dtype=bool)
        run = Run(self.decision.engine, False, 0, self.decision.engine.max_depth)
        for index, predecessors in segment.steps:
            node_input = self._gather(index, predecessors, frame, outputs)
            outputs[index] = self.nodes[index].run(node_input, failed, run)
        if segment.switch is None:
            result = merge_frames([outputs[index] for index in segment.ending], frame.length,
                                  into_empty=True)
            collector.rerun[positions[failed]] = True
            collector.store(positions[~failed], result.take(np.flatnonzero(~failed)))
            return
        index, predecessors = segment.switch
        node_input = outputs[index] = self._gather(index, predecessors, frame, outputs)
        codes, choices = self.nodes[index].choose(node_input, failed, run)
        collector.rerun[positions[failed]] = True
        for code, choice in enumerate(choices):
            selected = np.flatnonzero((codes == code) & ~failed)
            if not len(selected):
                continue
            following = self.graph.planner.after(segment, choice)
            subset = {key: value.take(selected) for key, value in outputs.items()}
            self._walk(following, frame.take(selected), positions[selected], subset, collector)

    def _gather(self, index: int, predecessors: tuple[int, ...], frame: Frame,
                outputs: dict[int, Frame]) -> Frame:
        if self.graph.nodes[index].type == "inputNode":
            return frame
        if not predecessors:
            return Frame({}, frame.length)
        return merge_frames([outputs[p] for p in predecessors], frame.length, into_empty=False)

    def _rerun(self, frame: Frame, collector: _Collector) -> None:
        """Rows the columnar path could not finish: evaluate them one by one, exactly."""
        rows = np.flatnonzero(collector.rerun)
        if not len(rows):
            return
        records = frame.records()
        for row in rows.tolist():
            for values in collector.columns.values():
                values[row] = None
            try:
                result = self.decision.evaluate(records[row])["result"]
            except FengkongError as error:
                collector.errors[row] = str(error)
                continue
            flat = Frame.from_rows([result] if type(result) is dict else [{}])
            collector.store(np.array([row]), flat)


def merge_frames(frames: list[Frame], length: int, *, into_empty: bool) -> Frame:
    """Node outputs combined as the single-row engine merges them (see merge.py)."""
    if not frames:
        return Frame({}, length)
    if len(frames) == 1 and not into_empty:
        return frames[0]
    columns: dict[str, Column] = {}
    for frame in frames:
        for path, column in frame.columns.items():
            present = _present(column, length)
            if not present.any():
                continue
            _clear_related(columns, path, present, length)
            existing = columns.get(path)
            columns[path] = column if existing is None or present.all() else \
                _overlay(existing, column, present, length)
    return Frame(columns, length)


def _present(column: Column, length: int) -> np.ndarray:
    if column.kind == NULL:
        return np.zeros(length, dtype=bool)
    if column.null is None:
        return np.ones(length, dtype=bool)
    return ~column.null


def _clear_related(columns: dict[str, Column], path: str, rows: np.ndarray, length: int) -> None:
    """A value written at ``path`` replaces values at its ancestors and descendants."""
    prefix = path + "."
    for other in list(columns):
        if other == path:
            continue
        if other.startswith(prefix) or path.startswith(other + "."):
            column = columns[other]
            null = (column.null.copy() if column.null is not None
                    else np.zeros(length, dtype=bool)) if column.kind != NULL else None
            if null is None:
                continue
            null |= rows
            columns[other] = Column(column.kind, column.data, null, column.integral)


def _overlay(base: Column, patch: Column, rows: np.ndarray, length: int) -> Column:
    """``base`` with ``patch``'s values where ``rows``."""
    if base.kind == patch.kind and base.kind not in (NULL, OBJECT) and np.ndim(base.data) and \
            np.ndim(patch.data):
        data = np.where(rows, patch.data, base.data)
        null = np.where(rows, _null(patch, length), _null(base, length))
        return Column(base.kind, data, null if null.any() else None,
                      base.integral and patch.integral)
    base_values, patch_values = values_of(base, length), values_of(patch, length)
    merged = [p if take else b for b, p, take in zip(base_values, patch_values, rows.tolist(),
                                                    strict=True)]
    return column_from_values(merged)


def _null(column: Column, length: int) -> np.ndarray:
    if column.kind == NULL:
        return np.ones(length, dtype=bool)
    return column.null if column.null is not None else np.zeros(length, dtype=bool)
