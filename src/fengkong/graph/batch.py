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

Columns know where a field is absent rather than null, so node outputs merge as JSON merge
patches exactly as in single evaluation (a null output erases the field upstream). Only the
result differs in form: :meth:`BatchResult.records` leaves null fields out. See
docs/graphs.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from fengkong.errors import FengkongError
from fengkong.expr.vector import (
    BOOL,
    NULL,
    NUMBER,
    OBJECT,
    TEXT,
    Column,
    Frame,
    column_from_values,
    set_nested,
    values_of,
)
from fengkong.graph.batch_nodes import VectorNode, fallback_node, vector_node
from fengkong.graph.plan import Segment
from fengkong.graph.runtime import Run

if TYPE_CHECKING:
    from fengkong.graph.engine import Decision


class BatchResult:
    """Decisions for a batch: result columns by dotted path, plus one error per row."""

    def __init__(self, length: int, columns: dict[str, Column], errors: list[str | None],
                 whole: dict[int, Any] | None = None) -> None:
        self.length = length
        self.columns = columns
        self.errors = errors
        # Rows whose result is not an object (a collect table's array): kept as they are.
        self.whole = whole or {}

    def __len__(self) -> int:
        return self.length

    @property
    def paths(self) -> list[str]:
        """The dotted paths of the result fields, e.g. ``["offer.apr", "status"]``."""
        return list(self.columns)

    def column(self, path: str) -> list[Any]:
        """The values of one result field (``None`` where absent), e.g. ``"offer.apr"``."""
        column = self.columns.get(path)
        return values_of(column, self.length) if column is not None else [None] * self.length

    def array(self, path: str) -> np.ndarray:
        """One result field as a NumPy array: float64 (NaN where absent), bool or object."""
        column = self.columns.get(path)
        if column is None or column.kind == NULL:
            return np.full(self.length, np.nan)
        data = np.broadcast_to(column.data, (self.length,))
        if column.null is None:
            return np.array(data)
        if data.dtype == np.float64:
            return np.where(column.null, np.nan, data)
        return np.array(self.column(path), dtype=object)

    def records(self) -> list[dict[str, Any] | None]:
        """Each row's result as a nested dict (``None`` for rows that failed)."""
        records: list[dict[str, Any] | None] = []
        paths = [(path.split("."), self.column(path)) for path in self.columns]
        for row in range(self.length):
            if self.errors[row] is not None:
                records.append(None)
                continue
            if row in self.whole:
                records.append(self.whole[row])
                continue
            record: dict[str, Any] = {}
            for keys, values in paths:
                value = values[row]
                if value is None:
                    continue
                set_nested(record, keys, value)
            records.append(record)
        return records


def to_frame(data: Sequence[Mapping[str, Any]] | Mapping[str, Sequence[Any]] | Frame) -> Frame:
    """A frame from rows (a list of dicts), columns (dotted path -> values) or a frame."""
    if isinstance(data, Frame):
        return data
    if isinstance(data, Mapping):
        return Frame.from_columns(dict(data))
    return Frame.from_rows([row if type(row) is dict else dict(row) for row in data])


class _Collector:
    """Gathers the result frames of row groups into whole-batch columns."""

    def __init__(self, length: int) -> None:
        self.length = length
        self.pieces: list[tuple[np.ndarray, Frame]] = []
        self.errors: list[str | None] = [None] * length
        self.whole: dict[int, Any] = {}
        self.rerun = np.zeros(length, dtype=bool)

    def store(self, positions: np.ndarray, result: Frame) -> None:
        self.pieces.append((positions, result))

    def columns(self) -> dict[str, Column]:
        """One column per result path, absent (null) where a row group lacks it."""
        by_path: dict[str, list[tuple[np.ndarray, Column]]] = {}
        for positions, frame in self.pieces:
            for path, column in frame.columns.items():
                by_path.setdefault(path, []).append((positions, column))
        return {path: _assemble(pieces, self.length) for path, pieces in by_path.items()}


def _assemble(pieces: list[tuple[np.ndarray, Column]], length: int) -> Column:
    passed_on = _passed_on(pieces, length)
    if passed_on is not None:
        return passed_on
    kinds = {column.kind for _, column in pieces} - {NULL}
    null = np.ones(length, dtype=bool)
    if len(kinds) == 1 and next(iter(kinds)) in (NUMBER, BOOL, TEXT):
        kind = next(iter(kinds))
        data = np.zeros(length, dtype={NUMBER: np.float64, BOOL: bool, TEXT: object}[kind])
        integral = True
        for positions, column in pieces:
            if column.kind == NULL:
                continue
            data[positions] = column.data
            null[positions] = column.null if column.null is not None else False
            integral = integral and column.integral
        return Column(kind, data, null if null.any() else None, integral and kind == NUMBER)
    values: list[Any] = [None] * length
    for positions, column in pieces:
        for position, value in zip(positions.tolist(), values_of(column, len(positions)),
                                   strict=True):
            values[position] = value
    return column_from_values(values)


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
        return BatchResult(frame.length, collector.columns(), collector.errors, collector.whole)

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
            kept = np.flatnonzero(~failed)
            collector.store(positions[kept], result if len(kept) == frame.length
                            else result.take(kept))
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
            if len(selected) == frame.length:
                self._walk(following, frame, positions, dict(outputs), collector)
                continue
            taken: dict[int, Column] = {}  # node outputs share columns: take each once
            subset = {key: _take(value, selected, taken) for key, value in outputs.items()}
            self._walk(following, _take(frame, selected, taken), positions[selected], subset,
                       collector)

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
        results: list[dict[str, Any]] = []
        for row in rows.tolist():
            try:
                result = self.decision.evaluate(records[row])["result"]
            except FengkongError as error:
                collector.errors[row] = str(error)
                result = {}
            if type(result) is not dict:
                collector.whole[row] = result
                result = {}
            results.append(result)
        # Stored last, so these rows' exact results override anything the group stored.
        collector.store(rows, Frame.from_rows(results) if results else Frame({}, 0))


def _passed_on(pieces: list[tuple[np.ndarray, Column]], length: int) -> Column | None:
    """An input column that reached the result untouched in every row group: reuse it."""
    source = pieces[0][1].origin[0]
    if len(source.data if np.ndim(source.data) else ()) != length:
        return None
    covered = np.zeros(length, dtype=bool)
    for positions, column in pieces:
        base, rows = column.origin
        if base is not source:
            return None
        if rows is None:
            if len(positions) != length:
                return None
        elif len(rows) != len(positions) or not np.array_equal(rows, positions):
            return None
        covered[positions] = True
    if covered.all():
        return source
    null = ~covered if source.null is None else source.null | ~covered
    return Column(source.kind, source.data, null, source.integral)


def _take(frame: Frame, rows: np.ndarray, taken: dict[int, Column]) -> Frame:
    columns = {}
    for path, column in frame.columns.items():
        done = taken.get(id(column))
        if done is None:
            done = taken[id(column)] = column.take(rows)
        columns[path] = done
    return Frame(columns, len(rows))


def merge_frames(frames: list[Frame], length: int, *, into_empty: bool) -> Frame:
    """Node outputs combined as the single-row engine merges them (see merge.py).

    Per row, a field present with a value overwrites (and drops values at its ancestors and
    descendants), a field present as null deletes itself and its descendants, an absent
    field changes nothing.
    """
    if not frames:
        return Frame({}, length)
    if len(frames) == 1 and not into_empty:
        return frames[0]
    columns: dict[str, Column] = {}
    for frame in frames:
        for path, column in frame.columns.items():
            null = _null(column, length)
            absent = column.absent_rows(length)
            written = ~null
            deleted = null & ~absent
            if not written.any() and not deleted.any():
                continue
            _clear_related(columns, path, written, deleted, length)
            existing = columns.get(path)
            if existing is None or (written | deleted).all():
                columns[path] = column if not deleted.any() else _with_absent(column, deleted)
            else:
                columns[path] = _overlay(existing, column, written, deleted, length)
    return Frame(columns, length)


def _with_absent(column: Column, rows: np.ndarray) -> Column:
    absent = column.absent | rows if column.absent is not None else rows
    null = _null(column, len(rows)) | rows
    return Column(column.kind, column.data, null, column.integral, absent)


def _clear_related(columns: dict[str, Column], path: str, written: np.ndarray,
                   deleted: np.ndarray, length: int) -> None:
    """A value written at ``path`` replaces values at its ancestors and descendants; a
    deletion at ``path`` removes its descendants."""
    prefix = path + "."
    for other in list(columns):
        if other == path:
            continue
        if other.startswith(prefix):
            rows = written | deleted
        elif path.startswith(other + "."):
            rows = written
        else:
            continue
        if rows.any():
            columns[other] = _with_absent(columns[other], rows)


def _overlay(base: Column, patch: Column, written: np.ndarray, deleted: np.ndarray,
             length: int) -> Column:
    """``base`` with ``patch``'s values where ``written`` and removed where ``deleted``."""
    removed = base.absent_rows(length) & ~written | deleted
    if base.kind == patch.kind and base.kind not in (NULL, OBJECT) and np.ndim(base.data) and \
            np.ndim(patch.data):
        data = np.where(written, patch.data, base.data)
        null = np.where(written, _null(patch, length), _null(base, length)) | deleted
        return Column(base.kind, data, null if null.any() else None,
                      base.integral and patch.integral, removed if removed.any() else None)
    base_values, patch_values = values_of(base, length), values_of(patch, length)
    merged = [None if gone else p if take else b for b, p, take, gone in
              zip(base_values, patch_values, written.tolist(), deleted.tolist(), strict=True)]
    column = column_from_values(merged)
    column.absent = removed if removed.any() else None
    return column


def _null(column: Column, length: int) -> np.ndarray:
    if column.kind == NULL:
        return np.ones(length, dtype=bool)
    return column.null if column.null is not None else np.zeros(length, dtype=bool)
