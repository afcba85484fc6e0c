"""The points table: ``points.csv``, one row per bin of every characteristic of a scorecard.

It is two things at once: the table a risk analyst opens in Excel to read (and sign off) the
scorecard, and the only file the request-path scorer loads — no pickles, so what the analyst
read is exactly what scores. Columns:

``characteristic``  the input feature the bin belongs to
``bin_id``          0, 1, ... within the characteristic, in optbinning's order
``bin``             the bin as optbinning prints it: ``[8.50, 11.50)``, ``['A11' 'A12']``,
                    ``Special``, ``Missing``
``kind``            ``bin`` (a range or a set of categories), ``special`` or ``missing``
``lower``/``upper`` a numerical bin's bounds, ``lower <= value < upper`` (optbinning's
                    convention); ``-inf`` and ``inf`` at the ends
``values``          a categorical bin's categories, or a special bin's special codes, as a
                    JSON list
``count``           training applications in the bin
``event_rate``      their default rate
``woe``             the bin's weight of evidence
``points``          the points the bin scores

Floats are written with :func:`repr`, so they read back bit for bit. The file starts with a
UTF-8 byte-order mark: without it Excel shows Chinese category names as mojibake.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from fengkong.errors import ModelArtifactError

POINTS_FILE = "points.csv"
COLUMNS = ("characteristic", "bin_id", "bin", "kind", "lower", "upper", "values", "count",
           "event_rate", "woe", "points")
KINDS = ("bin", "special", "missing")
_BOM = "\ufeff"


@dataclass(frozen=True, slots=True)
class PointsRow:
    """One bin of one characteristic. ``lower``/``upper`` are set for a numerical bin,
    ``values`` for a categorical bin (its categories) and a special bin (its codes)."""

    characteristic: str
    bin_id: int
    bin: str
    kind: str
    lower: float | None
    upper: float | None
    values: tuple[Any, ...] | None
    count: int
    event_rate: float
    woe: float
    points: float


def format_points(rows: Iterable[PointsRow]) -> str:
    """The text of ``points.csv``."""
    out = io.StringIO()
    out.write(_BOM)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([
            row.characteristic, row.bin_id, row.bin, row.kind,
            "" if row.lower is None else repr(row.lower),
            "" if row.upper is None else repr(row.upper),
            "" if row.values is None else json.dumps(list(row.values), ensure_ascii=False),
            row.count, repr(row.event_rate), repr(row.woe), repr(row.points),
        ])
    return out.getvalue()


def parse_points(text: str, source: str = POINTS_FILE) -> list[PointsRow]:
    """Read ``points.csv``; :class:`ModelArtifactError` names the line that is malformed."""
    reader = csv.reader(io.StringIO(text.removeprefix(_BOM)))
    header = next(reader, None)
    if header is None or tuple(header) != COLUMNS:
        raise ModelArtifactError(f"{source} must start with the header "
                                 f"{','.join(COLUMNS)}; it has {header!r}")
    rows = []
    for line, fields in enumerate(reader, start=2):
        if len(fields) != len(COLUMNS):
            raise ModelArtifactError(f"{source} line {line}: {len(fields)} fields, "
                                     f"expected {len(COLUMNS)}")
        cell = dict(zip(COLUMNS, fields, strict=True))
        try:
            row = PointsRow(
                characteristic=cell["characteristic"],
                bin_id=int(cell["bin_id"]),
                bin=cell["bin"],
                kind=cell["kind"],
                lower=_optional_float(cell["lower"]),
                upper=_optional_float(cell["upper"]),
                values=_optional_list(cell["values"]),
                count=int(cell["count"]),
                event_rate=float(cell["event_rate"]),
                woe=float(cell["woe"]),
                points=float(cell["points"]),
            )
        except ValueError as error:
            raise ModelArtifactError(f"{source} line {line}: {error}") from None
        if row.kind not in KINDS:
            raise ModelArtifactError(f"{source} line {line}: kind {row.kind!r} is not one of "
                                     f"{', '.join(KINDS)}")
        if not math.isfinite(row.points):
            raise ModelArtifactError(f"{source} line {line}: points {row.points!r} is not a "
                                     "finite number")
        rows.append(row)
    return rows


def _optional_float(text: str) -> float | None:
    return None if text == "" else float(text)


def _optional_list(text: str) -> tuple[Any, ...] | None:
    if text == "":
        return None
    try:
        values = json.loads(text)
    except json.JSONDecodeError:
        raise ValueError(f"values {text!r} is not a JSON list") from None
    if not isinstance(values, list):
        raise ValueError(f"values {text!r} is not a JSON list")
    return tuple(values)
