"""Loaders: where an engine finds a decision (and its sub-decisions) by key.

A loader is any callable ``loader(key) -> JDM document | None`` returning a dict, JSON text
or bytes, or ``None`` when it has no such decision. :func:`as_loader` accepts:

* a directory (``str`` or ``Path``): the key is a path relative to it (``"risk/main.json"``;
  ``".json"`` is appended when the key has no suffix) — like Zen's filesystem loader;
* a mapping of key to document — like Zen's static loader;
* a callable — used as it is;
* ``None`` — no decisions (sub-decision nodes then fail with ``DecisionNotFoundError``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

Document = Mapping[str, Any] | str | bytes
Loader = Callable[[str], Document | None]
LoaderSource = Loader | Mapping[str, Document] | str | Path | None


class DirectoryLoader:
    """Decisions stored as JSON files under a root directory."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()

    def __call__(self, key: str) -> bytes | None:
        candidates = [key] if Path(key).suffix else [key, f"{key}.json"]
        for candidate in candidates:
            path = (self.root / candidate).resolve()
            # A key must not reach outside the root (``../../etc/passwd``).
            if path.is_relative_to(self.root) and path.is_file():
                return path.read_bytes()
        return None

    def __repr__(self) -> str:
        return f"DirectoryLoader({str(self.root)!r})"


class MappingLoader:
    """Decisions held in memory, by key."""

    def __init__(self, documents: Mapping[str, Document]) -> None:
        self.documents = documents

    def __call__(self, key: str) -> Document | None:
        return self.documents.get(key)

    def __repr__(self) -> str:
        return f"MappingLoader({sorted(self.documents)!r})"


def _no_decisions(key: str) -> None:
    return None


def as_loader(source: LoaderSource) -> Loader:
    """Turn a directory, a mapping, a callable or ``None`` into a loader."""
    if source is None:
        return _no_decisions
    if isinstance(source, str | Path):
        return DirectoryLoader(source)
    if isinstance(source, Mapping):
        return MappingLoader(source)
    if callable(source):
        return source
    raise TypeError(f"a loader must be a directory, a mapping or a callable, "
                    f"got {type(source).__name__}")
