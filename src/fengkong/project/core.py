"""A strategy project: a folder under version control that holds one lender's strategy.

::

    consumer-loan/
      fengkong.yaml          name, default flow, reason codes, decision -> event mapping
      flows/*.json           JDM decision flows (a flow's name is its path without .json)
      features/*.yaml        the feature spec, all files taken together
      models/<name>/         model artifacts (fengkong train ... --out models/<name>)
      products/*.yaml        products priced by pricing nodes
      lists/*.csv            black/grey/white lists
      tests/*.yaml           given this application, expect this outcome (fengkong test)

:meth:`Project.load` reads ``fengkong.yaml``, parses every flow, loads the feature spec and
checks the event mapping; every mistake is a :class:`ProjectError` naming the file and the
key. :meth:`Project.check` goes further and compiles every flow, as the service does when it
starts. The project's :attr:`~Project.version` is the content hash of the files that decide
(see :func:`manifest`): the service names published versions by it, and a decision record
carries it. The format is documented in ``docs/projects.md``.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from fengkong.errors import FengkongError
from fengkong.expr import CompiledExpression, compile_expression
from fengkong.expr.values import to_json
from fengkong.features.spec import EventValidationError, FeatureSet, load_project
from fengkong.graph.engine import Engine
from fengkong.graph.loaders import DirectoryLoader
from fengkong.graph.model import parse_graph, read_json

if TYPE_CHECKING:
    # The feature state imports numba (half a second); init, info and the service's
    # project listing need none of it, so it is imported where a state is made.
    from fengkong.features.durable import DurableFeatureState
    from fengkong.features.kernels import FeaturePlan
    from fengkong.features.state import MemoryFeatureState

__all__ = ["CONFIG_FILE", "Project", "ProjectError", "manifest"]

CONFIG_FILE = "fengkong.yaml"
FLOWS = "flows"
FEATURES = "features"
MODELS = "models"
LISTS = "lists"
# Top-level entries that never decide: the project's tests, build outputs, its README.
_UNVERSIONED_FOLDERS = frozenset({"tests", "build"})
_KEYS = ("name", "description", "defaultFlow", "reasonCodes", "events")
_EVENT_KEYS = ("type", "fields")
PROJECT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


class ProjectError(FengkongError):
    """A strategy project that cannot be loaded; the message starts with the file (and the
    key in it) at fault."""

    kind = "project"


@dataclass(frozen=True)
class EventMapping:
    """How a decision of one flow becomes an event: expressions over ``request`` and
    ``result`` for the event's fields (None: the decision does not know the field)."""

    flow: str
    event_type: str
    fields: dict[str, CompiledExpression | None]


class Project:
    """A loaded strategy project. Build one with :meth:`Project.load`."""

    def __init__(self, root: Path, config: Mapping[str, Any], flows: tuple[str, ...],
                 feature_set: FeatureSet | None, files: dict[str, str]) -> None:
        self.root = root
        self.name: str = config["name"]
        self.description: str | None = config.get("description")
        self.flows = flows
        self.feature_set = feature_set
        self.files = files
        self.version = version_of(files)
        self.default_flow = _default_flow(config.get("defaultFlow"), flows)
        self.reason_codes = _reason_codes(root, config.get("reasonCodes"))
        self.events = _event_mappings(config.get("events"), flows, feature_set)

    @classmethod
    def load(cls, path: str | Path) -> Project:
        """Read and check the project in folder ``path`` (or whose ``fengkong.yaml`` is
        ``path``). Flows are parsed and checked for structure here; :meth:`check` compiles
        them. Raises :class:`ProjectError`."""
        root = Path(path)
        if root.name == CONFIG_FILE and root.is_file():
            root = root.parent
        root = root.resolve()
        if not root.is_dir():
            raise ProjectError(f"no project folder {str(path)!r}")
        config = _read_config(root / CONFIG_FILE, shown=Path(path))
        flows = _flows(root)
        feature_set = _feature_set(root)
        return cls(root, config, flows, feature_set, manifest(root))

    # -- what the service and the test runner use ------------------------------------------

    def manifest(self) -> dict[str, str]:
        """Relative path -> SHA-256 of every versioned file, as they were when loaded."""
        return dict(self.files)

    @cached_property
    def feature_plan(self) -> FeaturePlan | None:
        """The plan of every feature the project declares (None without features)."""
        if self.feature_set is None:
            return None
        from fengkong.features.kernels import FeaturePlan

        try:
            return FeaturePlan(self.feature_set.features, self.feature_set.events)
        except FengkongError as error:
            raise ProjectError(f"{FEATURES}/: {error}") from None

    def feature_state(self, directory: str | Path | None = None
                      ) -> MemoryFeatureState | DurableFeatureState | None:
        """A fresh feature state for all the project's features: in memory, or durable (a
        write-ahead log) in ``directory``. None when the project declares no features."""
        plan = self.feature_plan
        if plan is None:
            return None
        if directory is None:
            from fengkong.features.state import MemoryFeatureState

            return MemoryFeatureState(plan)
        from fengkong.features.durable import DurableFeatureState

        return DurableFeatureState(plan, directory)

    def engine(self, services: Mapping[str, Any] | None = None) -> Engine:
        """An engine over ``flows/`` (flows by name, ``"application"``); ``services`` go to
        the nodes — the feature state as ``{"features": state}``."""
        return Engine(DirectoryLoader(self.root / FLOWS), services=services)

    def check(self, services: Mapping[str, Any] | None = None) -> Engine:
        """Compile every flow (with a fresh in-memory feature state unless ``services``
        gives one) and return the engine; a flow that does not compile is a
        :class:`ProjectError` carrying the flow's own error."""
        if services is None:
            services = {"features": self.feature_state()}
        engine = self.engine(services)
        for flow in self.flows:
            try:
                engine.get_decision(flow)
            except FengkongError as error:
                raise ProjectError(f"{FLOWS}/{flow}.json does not load: {error.message}",
                                   node_id=error.node_id, node_name=error.node_name,
                                   expression=error.expression, position=error.position,
                                   field=error.field) from None
        return engine

    def decision_event(self, flow: str, request: Mapping[str, Any], result: Any
                       ) -> tuple[str, dict[str, Any], int] | None:
        """The event a decision of ``flow`` adds to the feature state, per the ``events``
        mapping of ``fengkong.yaml``: ``(event type, checked event, epoch milliseconds)``,
        or None when the flow's decisions are not events. A value of the wrong type is an
        :class:`EventValidationError` naming the mapping entry."""
        mapping = self.events.get(flow)
        if mapping is None or self.feature_set is None:
            return None
        scope = {"request": request, "result": result}
        where = f"{CONFIG_FILE} events.{flow}"
        record: dict[str, Any] = {}
        for name, expression in mapping.fields.items():
            if expression is None:
                record[name] = None
                continue
            try:
                record[name] = to_json(expression(scope))
            except FengkongError as error:
                error.message = f"{where}.fields.{name}: {error.message}"
                raise
        try:
            event, timestamp = self.feature_set.validate_event(mapping.event_type, record)
        except EventValidationError as error:
            raise EventValidationError(f"{where}: {error.message}", field=error.field) from None
        return mapping.event_type, event, int(timestamp)

    # -- what ``fengkong project info`` shows -----------------------------------------------

    def models(self) -> list[str]:
        """The model artifact folders under ``models/`` (those with a metadata.json)."""
        return sorted(path.parent.name for path in (self.root / MODELS).glob("*/metadata.json"))

    def lists(self) -> list[str]:
        """The list files under ``lists/``."""
        return sorted(path.relative_to(self.root / LISTS).as_posix()
                      for path in (self.root / LISTS).rglob("*.csv"))

    def info(self) -> dict[str, Any]:
        """A JSON-ready summary: name, version, flows, features, models, lists, files."""
        return {"name": self.name, "description": self.description, "version": self.version,
                "root": str(self.root), "defaultFlow": self.default_flow,
                "flows": list(self.flows),
                "features": len(self.feature_set.features) if self.feature_set else 0,
                "events": {flow: mapping.event_type for flow, mapping in self.events.items()},
                "models": self.models(), "lists": self.lists(), "files": len(self.files)}

    def __repr__(self) -> str:
        return f"Project({self.name!r}, version {self.version[:12]})"


# -- the version ---------------------------------------------------------------------------

def _versioned(relative: Path, folder: bool = False) -> bool:
    """Whether a file or folder (path relative to the root) is part of the strategy:
    everything but hidden entries (.git, the service's .fengkong), __pycache__, and at the
    top the tests and build folders and Markdown files (the README)."""
    name = relative.name
    if name.startswith(".") or name == "__pycache__":
        return False
    if len(relative.parts) > 1:
        return True
    if folder:
        return name not in _UNVERSIONED_FOLDERS
    return relative.suffix.lower() != ".md"


def manifest(root: Path) -> dict[str, str]:
    """Relative POSIX path -> SHA-256 of every versioned file under ``root``, sorted by path.
    File names and bytes count; modification times and permissions do not."""
    files: dict[str, str] = {}
    for folder, subfolders, names in os.walk(root):
        here = Path(folder)
        # Pruned in place so that .git and the service's data are never walked.
        subfolders[:] = [name for name in subfolders
                         if _versioned((here / name).relative_to(root), folder=True)]
        for name in names:
            relative = (here / name).relative_to(root)
            if _versioned(relative):
                files[relative.as_posix()] = _sha256(here / name)
    return dict(sorted(files.items()))


def version_of(files: Mapping[str, str]) -> str:
    """The project's content hash: SHA-256 of the manifest written as ``sha256sum`` prints
    it (``<sha256>  <path>`` lines, sorted by path), so that
    ``sha256sum $(files) | sha256sum`` in the folder gives the same digest."""
    text = "".join(f"{digest}  {path}\n" for path, digest in sorted(files.items()))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as file:
            for block in iter(lambda: file.read(1 << 20), b""):
                digest.update(block)
    except OSError as error:
        raise ProjectError(f"cannot read {path}: {error.strerror or error}") from None
    return digest.hexdigest()


# -- reading fengkong.yaml and the folder -------------------------------------------------

def _read_config(path: Path, shown: Path) -> dict[str, Any]:
    """``fengkong.yaml`` read and its top-level keys checked; ``shown`` is the folder as
    the user named it, for the error that it is not a project."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProjectError(f"{shown} is not a strategy project: it has no {CONFIG_FILE} "
                           "(create a project with 'fengkong init DIR')") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ProjectError(f"cannot read {path}: {getattr(error, 'strerror', None) or error}"
                           ) from None
    try:
        config = yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        at = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        raise ProjectError(f"{CONFIG_FILE}{at}: not valid YAML: {error.problem or error}"
                           ) from None
    except yaml.YAMLError as error:
        raise ProjectError(f"{CONFIG_FILE}: not valid YAML: {error}") from None
    if not isinstance(config, dict):
        raise ProjectError(f"{CONFIG_FILE} must be a mapping of settings (name, defaultFlow, "
                           "events...)")
    for key in config:
        if key not in _KEYS:
            raise ProjectError(f"{CONFIG_FILE}: unknown key {key!r}{_suggest(key, _KEYS)} "
                               f"(keys: {', '.join(_KEYS)})")
    name = config.get("name")
    if not isinstance(name, str) or not PROJECT_NAME.fullmatch(name):
        raise ProjectError(f"{CONFIG_FILE}: name must be letters, digits, '.', '_' and '-' "
                           f"(e.g. consumer-loan), not {name!r}")
    description = config.get("description")
    if description is not None and not isinstance(description, str):
        raise ProjectError(f"{CONFIG_FILE}: description must be text")
    return config


def _flows(root: Path) -> tuple[str, ...]:
    folder = root / FLOWS
    paths = sorted(folder.rglob("*.json")) if folder.is_dir() else []
    if not paths:
        raise ProjectError(f"{FLOWS}/: the project has no flows ({FLOWS}/*.json)")
    names = []
    for path in paths:
        relative = path.relative_to(root).as_posix()
        try:
            parse_graph(read_json(path.read_bytes(), origin=relative))
        except OSError as error:
            raise ProjectError(f"cannot read {relative}: {error.strerror}") from None
        except FengkongError as error:
            message = error.message if error.message.startswith(relative) else \
                f"{relative}: {error.message}"
            raise ProjectError(message, node_id=error.node_id, position=error.position
                               ) from None
        names.append(path.relative_to(folder).with_suffix("").as_posix())
    return tuple(names)


def _feature_set(root: Path) -> FeatureSet | None:
    folder = root / FEATURES
    if not folder.is_dir() or not any([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
        return None
    try:
        return load_project(root)
    except FengkongError as error:
        # Spec errors name their file by its full path; the project-relative one is enough.
        raise ProjectError(str(error).replace(f"{root}{os.sep}", "")) from None


def _default_flow(value: Any, flows: tuple[str, ...]) -> str | None:
    if value is None:
        return flows[0] if len(flows) == 1 else None
    if not isinstance(value, str) or value not in flows:
        raise ProjectError(f"{CONFIG_FILE}: defaultFlow {value!r} is not a flow of the project"
                           f"{_suggest(value, flows)} (flows: {', '.join(flows)})")
    return value


def _reason_codes(root: Path, value: Any) -> Path | None:
    """The project's reason-code catalogue file, checked by loading it over fengkong's."""
    if value is None:
        return None
    where = f"{CONFIG_FILE}: reasonCodes"
    if not isinstance(value, str) or not value:
        raise ProjectError(f"{where} must be a file path")
    path = (root / value).resolve()
    if not path.is_relative_to(root):
        raise ProjectError(f"{where} {value!r} is outside the project folder (the version "
                           "would not cover it)")
    if not path.is_file():
        raise ProjectError(f"{where}: no file {value!r}")
    from fengkong.models.reasons import ReasonCatalogue

    try:
        ReasonCatalogue.load(path)
    except FengkongError as error:
        raise ProjectError(f"{where} {value!r}: {error.message}") from None
    return path


def _event_mappings(value: Any, flows: tuple[str, ...], feature_set: FeatureSet | None
                    ) -> dict[str, EventMapping]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ProjectError(f"{CONFIG_FILE}: events must map flow names to events")
    if feature_set is None:
        raise ProjectError(f"{CONFIG_FILE}: events needs the event types of a feature spec "
                           f"({FEATURES}/*.yaml), and the project has none")
    return {flow: _event_mapping(flow, entry, flows, feature_set)
            for flow, entry in value.items()}


def _event_mapping(flow: Any, entry: Any, flows: tuple[str, ...], feature_set: FeatureSet
                   ) -> EventMapping:
    where = f"events.{flow}"

    def error(message: str, key: str = "") -> ProjectError:
        return ProjectError(f"{CONFIG_FILE}: {where}{'.' + key if key else ''}: {message}")

    if flow not in flows:
        raise error(f"no flow {flow!r} in {FLOWS}/{_suggest(str(flow), flows)} "
                    f"(flows: {', '.join(flows)})")
    if not isinstance(entry, dict):
        raise error("must be a mapping with 'type' and 'fields'")
    for key in entry:
        if key not in _EVENT_KEYS:
            raise error(f"unknown key {key!r}{_suggest(str(key), _EVENT_KEYS)} "
                        f"(keys: {', '.join(_EVENT_KEYS)})", str(key))
    event_type = entry.get("type")
    declared = feature_set.events.get(event_type) if isinstance(event_type, str) else None
    if declared is None:
        known = tuple(feature_set.events)
        raise error(f"unknown event type {event_type!r}{_suggest(str(event_type), known)} "
                    f"(declared in {FEATURES}/: {', '.join(known) or 'none'})", "type")
    fields = entry.get("fields")
    if not isinstance(fields, dict):
        raise error("must map the event's fields to expressions over request and result",
                    "fields")
    compiled: dict[str, CompiledExpression | None] = {}
    for name, source in fields.items():
        if name not in declared.fields:
            raise error(f"{event_type!r} events have no field {name!r}"
                        f"{_suggest(str(name), tuple(declared.fields))} "
                        f"(fields: {', '.join(declared.fields)})", f"fields.{name}")
        if source is None:
            compiled[name] = None
            continue
        if not isinstance(source, str) or not source.strip():
            raise error("must be a ZEN expression (text) or null", f"fields.{name}")
        try:
            compiled[name] = compile_expression(source)
        except FengkongError as problem:
            raise ProjectError(f"{CONFIG_FILE}: {where}.fields.{name}: {problem.message}",
                               expression=source, position=problem.position) from None
    # The event must carry its time and every entity key it has (null where unknown).
    required = [declared.timestamp, *(key for key in feature_set.keys if key in declared.fields)]
    for name in required:
        if name not in compiled:
            what = "timestamp" if name == declared.timestamp else "entity key"
            raise error(f"no entry for the {what} field {name!r} of {event_type!r} events "
                        "(write null for a key the decision does not know)", "fields")
    return EventMapping(str(flow), declared.name, compiled)


def _suggest(name: str, known: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
