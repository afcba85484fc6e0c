"""Columnar rule matching: the decision-table index applied to a whole batch at once.

:class:`~fengkong.graph.table_index.RuleMatcher` keeps, per input column, a bit set of
candidate rules for every numeric segment, string, boolean and null. Here those Python
integers become tables of 64-bit words, one row per mask. For a batch, each column's values
are mapped to mask rows (``searchsorted`` for numbers, a dict for strings) and the gathered
words are ANDed across columns — a few NumPy operations per column, whatever the number of
rules. General cells (those that are not comparisons with constants) are evaluated as
columns for the rules that have them and clear their rule's bit where they fail. The first
hit of each row is its lowest set bit.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fengkong.errors import FengkongError
from fengkong.expr import CompiledExpression
from fengkong.expr.vector import (
    BOOL,
    NULL,
    NUMBER,
    OBJECT,
    TEXT,
    Batch,
    Column,
    Frame,
    Unsupported,
    VectorFn,
    column_from_values,
    compile_vector,
    values_of,
)
from fengkong.graph.table_index import ColumnIndex, RuleMatcher

_WORD = 64


def _words(mask: int, width: int) -> np.ndarray:
    """A Python-int bit set as ``width`` little-endian uint64 words."""
    return np.frombuffer(mask.to_bytes(width * 8, "little"), dtype="<u8").astype(np.uint64)


class _ColumnTable:
    """Mask words of one column: rows 0..2m are numeric segments, then null/true/false/base,
    then one row per string that some cell names."""

    def __init__(self, column: ColumnIndex, width: int) -> None:
        numeric = column.numeric
        masks: list[int] = list(numeric.masks) if numeric is not None else [column.base]
        self.endpoints = np.array(numeric.endpoints if numeric is not None else [], dtype=np.float64)
        self.indexed_numbers = numeric is not None
        self.null_row = len(masks)
        self.true_row, self.false_row, self.base_row = self.null_row + 1, self.null_row + 2, \
            self.null_row + 3
        self.any_row = self.null_row + 4
        masks += [column.null_mask, column.true_mask, column.false_mask, column.base,
                  column.any_mask]
        self.string_rows: dict[str, int] = {}
        for text, mask in column.strings.items():
            self.string_rows[text] = len(masks)
            masks.append(mask)
        self.table = np.stack([_words(mask, width) for mask in masks])
        self.column = column

    def rows_for(self, values: Column, length: int) -> np.ndarray:
        """The mask row of every value in the batch."""
        kind = values.kind
        if kind == NULL:
            return np.full(length, self.null_row, dtype=np.intp)
        if kind == NUMBER:
            data = np.broadcast_to(np.asarray(values.data, dtype=np.float64), (length,))
            if self.indexed_numbers:
                index = np.searchsorted(self.endpoints, data, side="left")
                clipped = np.minimum(index, max(len(self.endpoints) - 1, 0))
                exact = (index < len(self.endpoints)) & (self.endpoints[clipped] == data) \
                    if len(self.endpoints) else np.zeros(length, dtype=bool)
                rows = 2 * index + exact
            else:
                rows = np.full(length, 0, dtype=np.intp)
        elif kind == BOOL:
            data = np.broadcast_to(np.asarray(values.data, dtype=bool), (length,))
            rows = np.where(data, self.true_row, self.false_row)
        elif kind == TEXT:
            lookup = self.string_rows.get
            base = self.base_row
            texts = values.data if np.ndim(values.data) else [values.data] * length
            rows = np.fromiter((lookup(item, base) for item in texts), dtype=np.intp,
                               count=length)
        else:
            raise Unsupported("mixed values in a decision-table column")
        if values.null is not None:
            rows = np.where(values.null, self.null_row, rows)
        return rows.astype(np.intp, copy=False)


class VectorMatcher:
    """First-hit and collect matching of a :class:`RuleMatcher` over a :class:`Frame`."""

    def __init__(self, matcher: RuleMatcher) -> None:
        self.matcher = matcher
        self.width = max(1, (matcher.rule_count + _WORD - 1) // _WORD)
        self.tables = [_ColumnTable(column, self.width) for column in matcher.columns]
        self.all_words = _words(matcher.all_rules, self.width)
        # Per column: the field expression and its columnar form (None: row by row).
        self.getters: list[tuple[CompiledExpression | None, VectorFn | None]] = [
            (getter, _vector_or_none(getter.tree) if getter is not None else None)
            for getter in matcher.getters
        ]
        self.general = [
            [(slot, _vector_or_none(test.tree), test) for slot, test in tests]
            for tests in matcher.general_tests
        ]

    def _values_of(self, frame: Frame) -> list[tuple[Column | None, np.ndarray]]:
        """Each column's values and its 'unreadable' rows (field expression failed)."""
        values: list[tuple[Column | None, np.ndarray]] = []
        for getter, vector in self.getters:
            if getter is None:
                values.append((None, np.zeros(frame.length, dtype=bool)))
                continue
            if vector is not None:
                batch = Batch(frame)
                try:
                    column = vector(batch)
                    if column.kind != OBJECT:
                        values.append((column, batch.errors))
                        continue
                except Unsupported:
                    pass
            values.append(_row_by_row(getter, frame))
        return values

    def candidate_words(self, frame: Frame) -> tuple[np.ndarray, list[Any]]:
        length = frame.length
        words = np.broadcast_to(self.all_words, (length, self.width)).copy()
        values = self._values_of(frame)
        for table, (column, unreadable) in zip(self.tables, values, strict=True):
            if column is None:
                words &= table.table[table.base_row]
                continue
            try:
                rows = table.rows_for(column, length)
            except Unsupported:
                rows = _rows_by_python(table, column, length)
            rows = np.where(unreadable, table.any_row, rows)
            words &= table.table[rows]
        return words, values

    def _apply_general(self, frame: Frame, words: np.ndarray, values: list[Any]) -> None:
        for rule, tests in enumerate(self.general):
            if not tests:
                continue
            word, bit = divmod(rule, _WORD)
            flag = np.uint64(1 << bit)
            live = (words[:, word] & flag) != 0
            if not live.any():
                continue
            passed = live.copy()
            for slot, vector_test, test in tests:
                passed &= _cell_passes(frame, values[slot][0], vector_test, test, passed)
            failed = live & ~passed
            words[failed, word] &= ~flag

    def first(self, frame: Frame) -> np.ndarray:
        """Index of the first matching rule per row (-1 where none matches)."""
        words, values = self.candidate_words(frame)
        self._apply_general(frame, words, values)
        result = np.full(frame.length, -1, dtype=np.int64)
        for index in range(self.width):
            word = words[:, index]
            pending = (result < 0) & (word != 0)
            if not pending.any():
                continue
            chosen = word[pending]
            lowest = chosen & (~chosen + np.uint64(1))
            result[pending] = index * _WORD + np.log2(lowest.astype(np.float64)).astype(np.int64)
        return result

    def all(self, frame: Frame) -> list[list[int]]:
        """Indices of all matching rules per row, in table order."""
        words, values = self.candidate_words(frame)
        self._apply_general(frame, words, values)
        bits = np.unpackbits(words.view(np.uint8), axis=1, bitorder="little")
        return [np.flatnonzero(row).tolist() for row in bits]


def _vector_or_none(tree: Any) -> VectorFn | None:
    try:
        return compile_vector(tree)
    except Unsupported:
        return None


def _cell_passes(frame: Frame, column: Column | None, vector_test: Any, test: Any,
                 rows: np.ndarray) -> np.ndarray:
    """Where a general cell holds (evaluation errors mean no match, as in the row engine)."""
    if vector_test is not None:
        columns = dict(frame.columns)
        if column is not None:
            columns["$"] = column
        batch = Batch(Frame(columns, frame.length), rows)
        try:
            result = vector_test(batch)
            if result.kind == BOOL:
                data = np.broadcast_to(np.asarray(result.data, dtype=bool), (frame.length,))
                passed = data & ~batch.errors
                return passed & ~result.null if result.null is not None else passed
        except Unsupported:
            pass
    passes = np.zeros(frame.length, dtype=bool)
    records = frame_rows(frame, np.flatnonzero(rows))
    dollar = values_of(column, frame.length) if column is not None else None
    for position, record in records:
        try:
            value = dollar[position] if dollar is not None else None
            passes[position] = test.fn(record, value, None) is True
        except (FengkongError, TypeError, ValueError, ArithmeticError, RecursionError):
            passes[position] = False
    return passes


def _rows_by_python(table: _ColumnTable, column: Column, length: int) -> np.ndarray:
    """Mask rows for a column of mixed values, one value at a time."""
    rows = np.empty(length, dtype=np.intp)
    values = values_of(column, length)
    for position, value in enumerate(values):
        kind = type(value)
        if value is None:
            rows[position] = table.null_row
        elif kind is bool:
            rows[position] = table.true_row if value else table.false_row
        elif kind is str:
            rows[position] = table.string_rows.get(value, table.base_row)
        elif kind in (int, float) and table.indexed_numbers:
            one = table.rows_for(Column(NUMBER, np.array([float(value)])), 1)
            rows[position] = one[0]
        elif kind in (int, float):
            rows[position] = 0
        else:
            rows[position] = table.base_row
    return rows


def _row_by_row(getter: CompiledExpression, frame: Frame) -> tuple[Column, np.ndarray]:
    unreadable = np.zeros(frame.length, dtype=bool)
    values: list[Any] = []
    for position, record in frame_rows(frame, np.arange(frame.length)):
        try:
            values.append(getter.fn(record, None, None))
        except (FengkongError, TypeError, ValueError, ArithmeticError, RecursionError):
            values.append(None)
            unreadable[position] = True
    return column_from_values(values), unreadable


def frame_rows(frame: Frame, positions: np.ndarray) -> list[tuple[int, dict[str, Any]]]:
    """Nested records for the given rows (for row-by-row fallbacks), built once per frame."""
    records = frame.records()
    return [(position, records[position]) for position in positions.tolist()]


__all__ = ["VectorMatcher", "frame_rows"]
