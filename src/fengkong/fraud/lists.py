"""Black, grey and white lists: CSV files of a strategy project, loaded into an in-memory index.

A project keeps one CSV file per list in ``lists/`` (``lists/blacklist.csv``); the file name
without ``.csv`` is the list's name. Columns (the header row names them, in any order):

* ``type`` — the key type: ``id_number``, ``phone``, ``bank_card``, ``device``, ``ip``,
  ``email`` or any other name (``user_id``...), matched as given;
* ``value`` — the key (normalised as :mod:`fengkong.fraud.keys` says);
* ``kind`` (optional) — ``black``, ``grey`` or ``white`` for this row;
* ``reason`` (optional) — a reason code (``L01``); ``added`` and ``expires`` (optional) —
  dates ``YYYY-MM-DD``; ``note`` (optional) — free text, never shown in decisions.

Lines starting with ``#`` before the header are comments or settings, ``# name: value``:
``# kind: black`` gives the list's kind, and ``# tokenized: true`` says the values are HMAC
tokens of the keys rather than the keys (see :class:`ListFile`); a near miss of a setting
(``# tokenised: true``) is an error, not a comment. A row's kind is its
``kind`` column, else the ``# kind:`` setting, else the file name when it contains exactly
one of ``black``, ``grey`` (or ``gray``) and ``white`` (``device_blacklist.csv``).

An entry hits on the dates from ``added`` to ``expires``, both included (either may be
absent): a backtest of last year's applications does not see entries added since, and an
expired entry stops hitting the day after it expires. Every mistake in a file is a
:class:`ListFileError` naming the file, the line, the column and what is wrong.

The index is a dict per key type from canonical value to the entries holding it, so a
lookup costs one normalisation and one dict access. Everything here runs when a flow loads;
nothing reads a file on the request path.
"""

from __future__ import annotations

import csv
import difflib
import io
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from fengkong.errors import FengkongError
from fengkong.fraud.keys import normaliser

KINDS = ("black", "grey", "white")
COLUMNS = ("type", "value", "kind", "reason", "added", "expires", "note")
SETTINGS = ("kind", "tokenized")
_KIND_WORDS = {"black": "black", "grey": "grey", "gray": "grey", "white": "white"}
_TRUE = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


class ListFileError(FengkongError):
    """A list file that cannot be loaded. The message starts ``file:line, column 'name':``;
    ``path``, ``line`` and ``column`` hold the same (``None`` when they do not apply)."""

    kind = "list_file"

    def __init__(self, path: Path | str, line: int | None, message: str,
                 column: str | None = None) -> None:
        where = str(path) if line is None else f"{path}:{line}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {message}")
        self.path = str(path)
        self.line = line
        self.column = column

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out.update({"file": self.path, "line": self.line, "column": self.column})
        return out


@dataclass(frozen=True, slots=True)
class ListEntry:
    """One row of a list: its list, kind, key type, canonical value and dates."""

    list: str
    kind: str
    type: str
    value: str
    reason: str | None = None
    added: date | None = None
    expires: date | None = None
    line: int = 0

    def in_force(self, on: date) -> bool:
        """Whether the entry hits on ``on`` (from ``added`` to ``expires``, both included)."""
        return ((self.added is None or self.added <= on)
                and (self.expires is None or on <= self.expires))


@dataclass(frozen=True, slots=True)
class ListFile:
    """A loaded list: its name, kind (``None`` when every row gives its own), settings and
    entries.

    ``tokenized`` lists hold HMAC tokens of the canonical keys instead of the keys, so that
    a project's list files need not carry personal data in plain text. The index stores
    every entry's value as written either way (a token is one more text in the same dict),
    so a tokenized list is looked up by the token of the application's canonical key, and
    its hits are masked from the application's value as for any list. Computing tokens
    needs the project's secret key, which arrives with tokenization; until then the list
    node refuses to load a tokenized list rather than match nothing.
    """

    name: str
    path: Path
    kind: str | None
    tokenized: bool
    entries: tuple[ListEntry, ...]


@dataclass(slots=True)
class ListIndex:
    """All entries of some lists, by key type and canonical value."""

    lists: tuple[ListFile, ...] = ()
    by_type: dict[str, dict[str, tuple[ListEntry, ...]]] = field(default_factory=dict)

    @classmethod
    def of(cls, lists: Iterable[ListFile]) -> ListIndex:
        """The index of ``lists`` (their names must differ)."""
        lists = tuple(lists)
        names: dict[str, Path] = {}
        by_type: dict[str, dict[str, list[ListEntry]]] = {}
        for listed in lists:
            if listed.name in names:
                raise ListFileError(listed.path, None, f"a second list named {listed.name!r} "
                                    f"(the first is {names[listed.name]})")
            names[listed.name] = listed.path
            for entry in listed.entries:
                by_type.setdefault(entry.type, {}).setdefault(entry.value, []).append(entry)
        return cls(lists, {key_type: {value: tuple(entries) for value, entries in values.items()}
                           for key_type, values in by_type.items()})

    @property
    def types(self) -> list[str]:
        """The key types some list holds, sorted."""
        return sorted(self.by_type)

    def __len__(self) -> int:
        return sum(len(listed.entries) for listed in self.lists)

    def lookup(self, key_type: str, canonical: str, on: date) -> list[ListEntry]:
        """The entries in force on ``on`` that hold the canonical key ``canonical``."""
        values = self.by_type.get(key_type)
        if values is None:
            return []
        entries = values.get(canonical)
        if entries is None:
            return []
        return [entry for entry in entries if entry.in_force(on)]

    @property
    def tokenized(self) -> list[str]:
        """The names of the lists that hold tokens rather than keys."""
        return [listed.name for listed in self.lists if listed.tokenized]


def load_lists(location: Path | str) -> ListIndex:
    """The index of every ``*.csv`` list in a folder, or of one CSV file."""
    path = Path(location)
    if path.is_dir():
        files = sorted(path.glob("*.csv"))
        if not files:
            raise ListFileError(path, None, "the folder holds no list files (*.csv)")
        return ListIndex.of(load_list_file(file) for file in files)
    if path.is_file():
        return ListIndex.of([load_list_file(path)])
    raise ListFileError(path, None, "no such folder or file")


def load_list_file(path: Path | str) -> ListFile:
    """One list file, checked row by row."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # -sig: Excel writes a byte-order mark
    except UnicodeDecodeError as error:
        raise ListFileError(path, None, f"not UTF-8 text ({error.reason} at byte "
                            f"{error.start})") from None
    except OSError as error:
        raise ListFileError(path, None, f"cannot be read: {error.strerror or error}") from None
    return parse_list(text, path)


def parse_list(text: str, path: Path | str, name: str | None = None) -> ListFile:
    """A list from the text of its CSV file (``path`` names it in errors; ``name`` defaults
    to the file name without ``.csv``)."""
    path = Path(path)
    name = name or path.stem
    lines = text.removeprefix("\ufeff").splitlines(keepends=True)
    settings, first = _settings(lines, path)
    tokenized = _tokenized(settings, path)
    list_kind = settings.get("kind") or _kind_from_name(name)
    rows = csv.reader(io.StringIO("".join(lines[first:])), strict=True)
    try:
        header = next(rows, None)
    except csv.Error as error:
        raise ListFileError(path, first + 1, f"not valid CSV: {error}") from None
    if header is None:
        raise ListFileError(path, None, "no header row (type,value,...)")
    columns = _columns(header, path, first + 1)
    entries: dict[tuple[str, str], ListEntry] = {}
    for line, row in _numbered(rows, path, first):
        entry = _entry(row, columns, path, line, name, list_kind)
        if entry is None:
            continue
        key = (entry.type, entry.value)
        before = entries.get(key)
        if before is None:
            entries[key] = entry
            continue
        # The same row twice is harmless; two rows that disagree would make the hit depend
        # on the order of the file.
        differing = _differs(before, entry)
        if differing:
            raise ListFileError(path, line, f"duplicate {entry.type} entry (also on line "
                                f"{before.line}) with a different {differing}; keep one "
                                "entry per value", column=differing)
    return ListFile(name, path, list_kind, tokenized, tuple(entries.values()))


def _settings(lines: list[str], path: Path) -> tuple[dict[str, str], int]:
    """The ``# name: value`` lines before the header, and the index of the header line."""
    settings: dict[str, str] = {}
    index = 0
    while index < len(lines) and (lines[index].lstrip().startswith("#")
                                  or not lines[index].strip()):
        setting, colon, value = lines[index].strip().lstrip("#").partition(":")
        setting = setting.strip().lower()
        # Other "#" lines are comments ("# Source: court notices"), but a near miss of a
        # setting is refused: "# tokenised: true" must not load tokens as keys.
        if colon and setting not in SETTINGS:
            close = difflib.get_close_matches(setting, SETTINGS, n=1, cutoff=0.75)
            if close:
                raise ListFileError(path, index + 1, f"unknown setting {setting!r} (did you "
                                    f"mean {close[0]!r}? settings: {', '.join(SETTINGS)})")
        elif colon:
            settings[setting] = value.strip().lower()
            if setting == "kind" and settings[setting] not in KINDS:
                raise ListFileError(path, index + 1, f"unknown list kind {settings[setting]!r} "
                                    f"(kinds: {', '.join(KINDS)})")
        index += 1
    return settings, index


def _tokenized(settings: Mapping[str, str], path: Path) -> bool:
    value = settings.get("tokenized", "false")
    if value not in _TRUE:
        raise ListFileError(path, None, f"setting tokenized must be true or false, not {value!r}")
    return _TRUE[value]


def _kind_from_name(name: str) -> str | None:
    lowered = name.lower()
    found = {kind for word, kind in _KIND_WORDS.items() if word in lowered}
    return found.pop() if len(found) == 1 else None


def _columns(header: list[str], path: Path, line: int) -> dict[str, int]:
    columns: dict[str, int] = {}
    for position, raw in enumerate(header):
        column = raw.strip().lower()
        if column not in COLUMNS:
            raise ListFileError(path, line, f"unknown column {raw.strip()!r} (columns: "
                                f"{', '.join(COLUMNS)})", column=raw.strip())
        if column in columns:
            raise ListFileError(path, line, "the column appears twice", column=column)
        columns[column] = position
    for required in ("type", "value"):
        if required not in columns:
            raise ListFileError(path, line, f"no {required!r} column (the header must name "
                                "at least type and value)")
    return columns


def _numbered(rows: Any, path: Path, first: int) -> Iterator[tuple[int, list[str]]]:
    """Rows with the line each starts on (a quoted field may span lines)."""
    while True:
        # line_num counts the lines the reader has consumed, the header's included.
        line = first + rows.line_num + 1
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as error:
            raise ListFileError(path, line, f"not valid CSV: {error}") from None
        yield line, row


def _entry(row: list[str], columns: dict[str, int], path: Path, line: int, name: str,
           list_kind: str | None) -> ListEntry | None:
    if not any(cell.strip() for cell in row):
        return None  # a blank line
    if len(row) > len(columns):
        raise ListFileError(path, line, f"{len(row)} fields but the header names "
                            f"{len(columns)} columns")

    def cell(column: str) -> str:
        position = columns.get(column)
        return row[position].strip() if position is not None and position < len(row) else ""

    key_type = cell("type").lower()
    if not key_type:
        raise ListFileError(path, line, "empty value", column="type")
    raw = cell("value")
    if not raw:
        raise ListFileError(path, line, "empty value", column="value")
    value = normaliser(key_type)(raw)
    kind = cell("kind").lower() or list_kind
    if kind is None:
        raise ListFileError(path, line, "no kind: give the row a kind (black, grey, white), "
                            "or the file a '# kind: ...' line or a name containing one",
                            column="kind")
    if kind not in KINDS:
        raise ListFileError(path, line, f"unknown kind {kind!r} (kinds: {', '.join(KINDS)})",
                            column="kind")
    added = _date(cell("added"), path, line, "added")
    expires = _date(cell("expires"), path, line, "expires")
    if added is not None and expires is not None and expires < added:
        raise ListFileError(path, line, f"expires ({expires}) is before added ({added})",
                            column="expires")
    return ListEntry(name, kind, key_type, value, cell("reason") or None, added, expires, line)


def _date(text: str, path: Path, line: int, column: str) -> date | None:
    if not text:
        return None
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise ListFileError(path, line, f"bad date {text!r} (expected YYYY-MM-DD)", column=column)


def _differs(before: ListEntry, after: ListEntry) -> str:
    """The first field two entries of one value disagree on ('' when they agree)."""
    for name in ("kind", "reason", "added", "expires"):
        if getattr(before, name) != getattr(after, name):
            return name
    return ""


__all__ = ["COLUMNS", "KINDS", "ListEntry", "ListFile", "ListFileError", "ListIndex",
           "load_list_file", "load_lists", "parse_list"]
