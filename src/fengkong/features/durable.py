"""Durable feature state in this process: a write-ahead log of accepted events.

:class:`DurableFeatureState` answers like :class:`~fengkong.features.state.MemoryFeatureState`
(it keeps one) and adds a guarantee: when an ingest call returns, the events it accepted
are on disk, so a crash loses no acknowledged event. Each batch is checked and routed in
memory, its accepted events appended to the log as one record and fsynced (group commit:
one fsync per batch, not per event), and only then applied to the series.

The log holds the accepted *events* (their checked field values, timestamps and ids), not
the series batches routed from them: series batches depend on the plan (which fields and
filters each series keeps), so a log of them would not survive a change of spec, while
events replayed through a new plan give exactly the new features. Opening a directory
replays the log through the plan, which restores the series and the memory of event ids
(a duplicate sent after a restart is still a duplicate).

Record format: a file header ``FKWAL1\\n``, then per batch ``length`` (4 bytes, little
endian), ``CRC-32`` of length and payload (4 bytes), and the payload (UTF-8 JSON). A crash
mid-write can only tear the last record — every earlier one was fsynced before the next
was written — so the first record that is short or fails its CRC ends the log: recovery
cuts the file there (the bytes cut are counted in :attr:`DurableFeatureState.recovery`)
and never fails on it.
"""

from __future__ import annotations

import fcntl
import json
import os
import struct
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from fengkong.errors import FengkongError
from fengkong.features.kernels import FeaturePlan
from fengkong.features.state import IngestReport, MemoryFeatureState, Routed, Timestamps

LOG_NAME = "events.wal"
_MAGIC = b"FKWAL1\n"
_HEADER = struct.Struct("<II")  # payload length, CRC-32 of length and payload


class DurableStateError(FengkongError):
    """The feature state's directory cannot be used (locked, not a log, or unwritable)."""

    kind = "durable_state"


@dataclass
class Recovery:
    """What opening the log found."""

    batches: int = 0  # records replayed
    events: int = 0  # events accepted on replay
    rejected: int = 0  # logged events the current spec refuses (a field it no longer has...)
    torn_bytes: int = 0  # bytes of an incomplete or corrupt last record, cut off


class DurableFeatureState:
    """Feature state that survives a crash: ``MemoryFeatureState`` plus a write-ahead log in
    ``directory`` (created if needed; one process at a time, enforced with a lock)."""

    def __init__(self, plan: FeaturePlan, directory: str | Path) -> None:
        self.plan = plan
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.memory = MemoryFeatureState(plan)
        self._broken: str | None = None
        path = self.directory / LOG_NAME
        created = not path.exists()
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            raise DurableStateError(f"{path} is in use by another process") from None
        try:
            if created or os.fstat(self._fd).st_size == 0:
                self._start_log()
            self.recovery = self._replay(path)
        except BaseException:
            os.close(self._fd)
            raise

    # -- the MemoryFeatureState interface --------------------------------------------------

    def ingest(self, event_type: str, event: Mapping[str, Any], timestamp: Any = None,
               event_id: Any = None) -> bool:
        """Add one event (logged and fsynced before this returns); False for a duplicate id;
        a bad event raises :class:`~fengkong.features.spec.EventValidationError`. One fsync
        per call: batch events with :meth:`ingest_many` where throughput matters."""
        return self.ingest_many(event_type, [event], None if timestamp is None else [timestamp],
                                None if event_id is None else [event_id]).single()

    def ingest_many(self, event_type: str, events: Sequence[Any],
                    timestamps: Timestamps | None = None,
                    event_ids: Sequence[Any] | None = None) -> IngestReport:
        """Add a batch of events (see ``MemoryFeatureState.ingest_many``); the accepted ones
        are on disk when this returns."""
        self._check_usable()
        return self._commit(event_type, self.memory.routed(event_type, events, timestamps,
                                                           event_ids))

    def ingest_columns(self, event_type: str, columns: Mapping[str, Any],
                       timestamps: Timestamps | None = None,
                       event_ids: Sequence[Any] | None = None) -> IngestReport:
        """Add a batch of events given as columns (see ``MemoryFeatureState.ingest_columns``);
        the accepted ones are on disk when this returns."""
        self._check_usable()
        return self._commit(event_type, self.memory.routed_columns(event_type, columns,
                                                                   timestamps, event_ids))

    def compute(self, keys: Mapping[str, Any], as_of: int,
                plan: FeaturePlan | None = None) -> np.ndarray:
        """Every feature of ``plan`` (by default the state's) for these key values, as of
        ``as_of`` (epoch ms)."""
        return self.memory.compute(keys, as_of, plan)

    def close(self) -> None:
        """Release the log (and its lock). Everything acknowledged is already on disk."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> DurableFeatureState:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the log ----------------------------------------------------------------------------

    def _commit(self, event_type: str, routed: Routed) -> IngestReport:
        if routed.rows:
            try:
                self._append(_encode(event_type, routed))
            except OSError as error:
                # Not on disk, so not acknowledged: forget the ids, so that the same events
                # sent again are not taken for duplicates.
                if routed.event_ids is not None:
                    self.memory.seen_ids.difference_update(
                        (event_type, routed.event_ids[row]) for row in routed.rows)
                raise DurableStateError(f"could not write the feature log: {error}") from error
        self.memory.apply(routed.batches)
        return routed.report

    def _append(self, payload: bytes) -> None:
        header = _HEADER.pack(len(payload), _checksum(payload))
        end = os.lseek(self._fd, 0, os.SEEK_END)
        try:
            os.write(self._fd, header + payload)
            os.fsync(self._fd)
        except OSError:
            # A partial record would end the log at recovery and hide every later batch:
            # cut it off now; if even that fails, refuse further writes.
            try:
                os.ftruncate(self._fd, end)
            except OSError as error:
                self._broken = f"the log could not be repaired after a failed write: {error}"
            raise

    def _check_usable(self) -> None:
        if self._fd < 0:
            raise DurableStateError("the durable feature state is closed")
        if self._broken is not None:
            raise DurableStateError(self._broken)

    def _start_log(self) -> None:
        os.write(self._fd, _MAGIC)
        os.fsync(self._fd)
        # The new file's directory entry must be durable too.
        directory = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    def _replay(self, path: Path) -> Recovery:
        recovery = Recovery()
        size = os.fstat(self._fd).st_size
        with open(path, "rb") as log:
            if log.read(len(_MAGIC)) != _MAGIC:
                raise DurableStateError(f"{path} is not a fengkong feature log")
            offset = len(_MAGIC)
            while offset < size:
                payload = _read_record(log)
                if payload is None:
                    break
                self._replay_batch(payload, recovery)
                offset += _HEADER.size + len(payload)
        if offset < size:
            recovery.torn_bytes = size - offset
            os.ftruncate(self._fd, offset)
            os.fsync(self._fd)
        return recovery

    def _replay_batch(self, payload: bytes, recovery: Recovery) -> None:
        event_type, columns, timestamps, event_ids = _decode(payload)
        declared = self.plan.events.get(event_type)
        if declared is not None:
            # A field the spec no longer declares is no longer read: dropped, not an error.
            columns = {name: values for name, values in columns.items()
                       if name in declared.fields}
        report = self.memory.ingest_columns(event_type, columns, timestamps, event_ids)
        recovery.batches += 1
        recovery.events += report.accepted
        recovery.rejected += len(report.rejected)


def _read_record(log: BinaryIO) -> bytes | None:
    """The payload of the next record, or None if it is torn or corrupt."""
    header = log.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    length, crc = _HEADER.unpack(header)
    payload = log.read(length)
    if len(payload) < length or _checksum(payload) != crc:
        return None
    return payload


def _checksum(payload: bytes) -> int:
    """CRC-32 of the length and the payload (a torn length field fails it too)."""
    return zlib.crc32(payload, zlib.crc32(struct.pack("<I", len(payload))))


def _encode(event_type: str, routed: Routed) -> bytes:
    rows = routed.rows
    document = {"type": event_type, "columns": routed.accepted_columns(),
                "timestamps": routed.timestamps[rows].tolist(),
                "ids": None if routed.event_ids is None else
                [routed.event_ids[row] for row in rows]}
    return json.dumps(document, default=_decimal_to_json, separators=(",", ":"),
                      allow_nan=False).encode()


def _decode(payload: bytes) -> tuple[str, dict[str, list[Any]], list[int], list[Any] | None]:
    document = json.loads(payload, object_hook=_decimal_from_json)
    return document["type"], document["columns"], document["timestamps"], document["ids"]


# Numbers given as Decimal (JSON read with decimals, as the service reads it) stay Decimal:
# filters compute in decimal, and a float would not replay them exactly.
def _decimal_to_json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    raise TypeError(f"{value!r} cannot be logged")


def _decimal_from_json(document: dict[str, Any]) -> Any:
    if document.keys() == {"$decimal"}:
        return Decimal(document["$decimal"])
    return document


__all__ = ["LOG_NAME", "DurableFeatureState", "DurableStateError", "Recovery"]
