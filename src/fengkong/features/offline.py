"""Offline tables for the backfill: event logs and applications in, features out.

Reading goes through DuckDB (Parquet or CSV, chosen by the file's extension) and checks
every column against the feature spec before any arithmetic runs: a missing column, a
column of the wrong type or a value that cannot be read (an unparsable timestamp, ``abc``
in a number column) is an :class:`OfflineInputError` naming the file, the column and,
where one value is at fault, its row (Parquet) or line (CSV). Nothing is silently read as
null.

Formats (``docs/feature-backfill.md``):

* **events**: one file per event type, as the synthetic generator writes its tables, one
  column per field the selected features read (the event type's timestamp field
  included), plus an optional ``event_id`` column: a repeated id is a duplicate, and only
  its first row counts, as online.
* **applications**: an id column, an "as of" time column and one column per entity key.
* **timestamps**: epoch milliseconds (integers), ``TIMESTAMP WITH TIME ZONE``, or ISO 8601
  text with a UTC offset (``2026-05-01T09:30:00+08:00``); a time without a zone is refused,
  as online, because guessing the zone would shift every window.

Writing uses pyarrow's Parquet writer, one row group per chunk of applications, so a
million rows by a thousand features never sit in memory at once. A feature without a value
(a mean over no event) is written as null, never as NaN.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from fengkong.errors import FengkongError
from fengkong.features.spec import EventType

__all__ = ["ApplicationTable", "EventColumns", "FeatureWriter", "OfflineInputError",
           "count_rows", "filter_fields", "read_applications", "read_events"]

EVENT_ID = "event_id"

# DuckDB type names (as DESCRIBE prints them) accepted for each field type of a spec.
_INTEGERS = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
             "UINTEGER", "UBIGINT")
_NUMBERS = (*_INTEGERS, "FLOAT", "DOUBLE", "DECIMAL")
# Text that is a time with a zone: a date, a time, and Z or an offset (a bare date such as
# 2026-05-01 must not pass for "2026-05 at offset -01").
_ZONED_TIME = r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?" \
              r"(Z|[+-][0-9]{2}(:?[0-9]{2})?)"


class OfflineInputError(FengkongError):
    """An input file of the backfill that cannot be read as the spec declares it."""

    kind = "offline_input"


@dataclass(frozen=True)
class EventColumns:
    """Events of one type as columns, in the order they arrived (file order).

    Numbers are float64 (NaN: missing), text and ids are object arrays (None: missing),
    booleans are bool arrays (object arrays when some are missing), timestamps are int64
    epoch milliseconds.
    """

    timestamps: np.ndarray
    columns: Mapping[str, np.ndarray]
    event_ids: np.ndarray | None = None
    source: str = "events"  # where they come from, for error messages

    def __len__(self) -> int:
        return len(self.timestamps)


@dataclass(frozen=True)
class ApplicationTable:
    """The applications to backfill: ids (an Arrow array, written back as read), "as of"
    times (int64 epoch ms) and the entity key values of each."""

    id_column: str
    ids: Any  # pyarrow.Array
    as_of: np.ndarray
    keys: Mapping[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.as_of)


def read_events(path: str | Path, event_type: EventType, fields: Iterable[str]
                ) -> EventColumns:
    """The events of ``event_type`` (declared in the spec) in ``path``: its timestamp, the
    given ``fields`` and ``event_id`` when the file has one."""
    fields = list(fields)
    source = _Source(Path(path), f"events file for {event_type.name!r}")
    wanted = {name: event_type.fields[name] for name in fields}
    wanted.pop(event_type.timestamp, None)
    read = source.read({event_type.timestamp: ("timestamp", True), **{
        name: (kind, False) for name, kind in wanted.items()}},
        optional={EVENT_ID: ("id", False)})
    ids = read.pop(EVENT_ID, None)
    timestamps = read[event_type.timestamp].astype(np.int64)
    if event_type.timestamp not in fields:  # else a feature aggregates it (max, last)
        del read[event_type.timestamp]
    return EventColumns(timestamps, read, ids, f"{source.what} {source.path}")


def read_applications(path: str | Path, keys: Mapping[str, str], id_column: str,
                      time_column: str) -> ApplicationTable:
    """The applications in ``path``: ``id_column``, ``time_column`` (the "as of" time) and
    one column per entity key (``keys`` maps each key to its field type)."""
    source = _Source(Path(path), "applications file")
    columns = {id_column: ("id", True), time_column: ("timestamp", True),
               **{key: (kind, False) for key, kind in keys.items()}}
    read = source.read(columns, arrow={id_column})
    return ApplicationTable(id_column, read.pop(id_column), read.pop(time_column).astype(np.int64),
                            read)


def count_rows(path: str | Path) -> int:
    """How many rows a Parquet or CSV file has (Parquet: from its metadata)."""
    source = _Source(Path(path), "events file")
    found = source.connection.execute(f"SELECT count(*) FROM {source.relation}").fetchone()
    return int(found[0]) if found is not None else 0


def _require_offline_extra() -> None:
    """DuckDB and pyarrow are an optional extra (the decision service does not need them):
    without them, say how to get them rather than fail on an import."""
    missing = [name for name in ("duckdb", "pyarrow") if importlib.util.find_spec(name) is None]
    if missing:
        raise FengkongError(f"reading and writing files for the backfill needs "
                            f"{' and '.join(missing)}: pip install 'fengkong[offline]'")


class _Source:
    """One input file, seen through DuckDB."""

    def __init__(self, path: Path, what: str) -> None:
        _require_offline_extra()
        import duckdb

        self.path = path
        self.what = what
        if not path.is_file():
            raise OfflineInputError(f"{what} not found: {path}")
        name = path.name.lower()
        self.csv = name.endswith((".csv", ".csv.gz"))
        if not self.csv and not name.endswith((".parquet", ".pq")):
            raise OfflineInputError(f"{what} {path}: unknown format (expected .parquet or "
                                    ".csv)")
        literal = "'" + str(path).replace("'", "''") + "'"
        # CSV is read as text and converted here, so that a bad value is reported with its
        # line instead of DuckDB guessing a column type (phone numbers as BIGINT) or failing.
        self.relation = (f"read_csv({literal}, all_varchar=true, header=true)" if self.csv
                         else f"read_parquet({literal})")
        self.connection = duckdb.connect()
        try:
            described = self.connection.sql(f"DESCRIBE SELECT * FROM {self.relation}").fetchall()
        except duckdb.Error as error:
            raise OfflineInputError(f"cannot read {what} {path}: "
                                    f"{str(error).splitlines()[0]}") from None
        self.types = {row[0]: str(row[1]) for row in described}

    def read(self, columns: Mapping[str, tuple[str, bool]],
             optional: Mapping[str, tuple[str, bool]] | None = None,
             arrow: Iterable[str] = ()) -> dict[str, Any]:
        """Each column converted to its kind (``number``, ``string``, ``bool``,
        ``timestamp`` or ``id``); ``True`` in the pair means null is refused."""
        missing = [name for name in columns if name not in self.types]
        if missing:
            raise OfflineInputError(
                f"{self.what} {self.path} has no column {missing[0]!r} (columns: "
                f"{', '.join(self.types) or 'none'})", field=missing[0])
        chosen = dict(columns)
        chosen.update({name: kind for name, kind in (optional or {}).items()
                       if name in self.types})
        selects = []
        checks = []
        for name, (kind, required) in chosen.items():
            value, bad = self._conversion(name, kind, required)
            selects.append(f"{value} AS {_quote(name)}")
            checks.append(f"{bad} AS {_quote('bad ' + name)}")
        table = self.connection.sql(f"SELECT {', '.join(selects + checks)} "
                                    f"FROM {self.relation}").to_arrow_table()
        for name, (kind, _) in chosen.items():
            bad = table[f"bad {name}"].to_numpy(zero_copy_only=False)
            if bad.any():
                self._refuse(name, kind, int(np.argmax(bad)))
        arrow = set(arrow)
        return {name: table[name].combine_chunks() if name in arrow
                else _texts(table[name]) if kind == "string"
                else table[name].to_numpy(zero_copy_only=False)
                for name, (kind, _) in chosen.items()}

    def _conversion(self, name: str, kind: str, required: bool) -> tuple[str, str]:
        """SQL for the column's converted value and for "this row's value is bad"."""
        column = _quote(name)
        found = self.types[name]
        base = found.split("(")[0]
        null = f"{column} IS NULL" if required else "false"
        if kind == "id":
            return column, null
        if base == "VARCHAR" and kind != "string":
            # Text to convert (CSV, or text in Parquet): bad where present but unreadable.
            value = {"number": f"TRY_CAST({column} AS DOUBLE)",
                     "bool": f"TRY_CAST({column} AS BOOLEAN)",
                     "timestamp": f"CASE WHEN regexp_full_match({column}, '-?[0-9]+') "
                                  f"THEN TRY_CAST({column} AS BIGINT) "
                                  f"WHEN regexp_full_match({column}, '{_ZONED_TIME}') "
                                  f"THEN epoch_ms(TRY_CAST({column} AS TIMESTAMPTZ)) END"}[kind]
            finite = f" OR NOT isfinite({value})" if kind == "number" else ""
            return value, f"({null} OR ({column} IS NOT NULL AND ({value} IS NULL{finite})))"
        accepted = {"number": _NUMBERS, "string": ("VARCHAR",), "bool": ("BOOLEAN",),
                    "timestamp": (*_INTEGERS, "TIMESTAMP WITH TIME ZONE")}[kind]
        if base not in accepted:
            hint = " (a time without a zone: store UTC with the zone, or epoch milliseconds)" \
                if base.startswith("TIMESTAMP") else ""
            raise OfflineInputError(f"{self.what} {self.path}, column {name!r}: expected "
                                    f"{_KIND_WORDS[kind]}, found {found}{hint}", field=name)
        if kind == "number":
            value = f"CAST({column} AS DOUBLE)"
            return value, f"({null} OR NOT isfinite({value}))"
        if kind == "timestamp":
            value = column if base in _INTEGERS else f"epoch_ms({column})"
            return f"CAST({value} AS BIGINT)", null
        return column, null

    def _refuse(self, name: str, kind: str, row: int) -> None:
        raw = self.connection.execute(f"SELECT {_quote(name)} FROM {self.relation} "
                                      f"LIMIT 1 OFFSET {row}").fetchone()
        value = None if raw is None else raw[0]
        # Rows count from 1; a CSV line also counts its header.
        where = f"line {row + 2}" if self.csv else f"row {row + 1}"
        problem = "is missing" if value is None else \
            f"{value!r} is not {_KIND_WORDS[kind]}"
        raise OfflineInputError(f"{self.what} {self.path}, column {name!r}, {where}: "
                                f"{problem}", field=name)


def _texts(column: Any) -> np.ndarray:
    """A text column as an object array whose equal values share one Python string: a key
    repeats across millions of events, and one string object per row would cost both the
    conversion and gigabytes."""
    import pyarrow as pa

    encoded = column.combine_chunks().dictionary_encode()
    distinct = np.empty(len(encoded.dictionary) + 1, dtype=object)
    distinct[:-1] = encoded.dictionary.to_pylist()  # the last slot, None, stands for null
    codes = encoded.indices.fill_null(pa.scalar(len(distinct) - 1, encoded.indices.type))
    return distinct[codes.to_numpy()]


_KIND_WORDS = {"number": "a finite number", "string": "text", "bool": "true or false",
               "id": "an id",
               "timestamp": "a timestamp (epoch milliseconds, or ISO 8601 with a UTC offset "
                            "such as 2026-05-01T09:30:00+08:00)"}


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def filter_fields(sources: Iterable[str | None], fields: Iterable[str]) -> set[str]:
    """The fields (of ``fields``) that the filter expressions ``sources`` may read.

    A field counts when its name appears as a word in a filter: at worst (the name inside a
    string literal) a column more is read, never one fewer.
    """
    text = " ".join(source for source in sources if source is not None)
    return {name for name in fields if re.search(rf"(?<![\w.]){re.escape(name)}\b", text)}


class FeatureWriter:
    """Writes backfilled features to Parquet, one row group per chunk of applications:
    the application id (as read), ``as_of`` (int64 epoch ms) and one float64 column per
    feature, null where a feature has no value."""

    def __init__(self, path: str | Path, id_column: str, id_type: Any,
                 names: Sequence[str]) -> None:
        _require_offline_extra()
        import pyarrow as pa
        import pyarrow.parquet as pq

        clash = {id_column, "as_of"} & set(names)
        if clash or id_column == "as_of":
            raise OfflineInputError(f"the output would have two columns named "
                                    f"{(clash or {'as_of'}).pop()!r}: rename the id column")
        self._pa = pa
        self.names = list(names)
        schema = pa.schema([(id_column, id_type), ("as_of", pa.int64()),
                            *((name, pa.float64()) for name in self.names)])
        try:
            # Dictionary encoding pays on ids and counts but costs more than it saves over a
            # thousand float columns with many distinct values each.
            self._writer = pq.ParquetWriter(str(path), schema, use_dictionary=False)
        except OSError as error:
            raise OfflineInputError(f"cannot write {path}: {error}") from None
        self.rows = 0

    def write(self, ids: Any, as_of: np.ndarray, values: np.ndarray) -> None:
        """One chunk: ``values`` has one row per application and one column per feature."""
        pa = self._pa
        columns = np.ascontiguousarray(values.T)  # a contiguous run per feature
        arrays = [ids, pa.array(as_of, pa.int64())]
        arrays += [pa.array(column, pa.float64(), mask=np.isnan(column)) for column in columns]
        self._writer.write_table(pa.Table.from_arrays(arrays, schema=self._writer.schema))
        self.rows += len(as_of)

    def close(self) -> None:
        self._writer.close()

    def __enter__(self) -> FeatureWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()
