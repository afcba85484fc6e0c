"""Declarative feature specs: from a YAML page (or the same data in Python) to named features.

A spec declares **event types** (applications, logins, repayments...) with typed fields and
a timestamp, the **entity keys** (id number, phone, device, IP, card...) that events are
grouped by, and **features**: an aggregation of one event type's events that share a key
value, over a time window, optionally filtered by a ZEN expression. **Templates** cross
keys x events x filters x aggregations x fields x windows, so a page declares thousands of
features, and **ratios** divide one feature by another.

:func:`load_feature_set` validates everything up front — every mistake is a
:class:`FeatureSpecError` naming the spec line (or the path in a Python dict) — and returns
a :class:`FeatureSet`: a flat, explicit list of :class:`Feature` records that the online
kernels and the offline backfill both consume. Names are stable: the same spec always
gives the same names in the same order (the grammar is in ``docs/features.md``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, cast

import yaml

from fengkong.errors import FengkongError
from fengkong.expr import ast, compile_expression
from fengkong.features.windows import Window, parse_window

__all__ = [
    "AGGREGATIONS",
    "FIELD_TYPES",
    "EventType",
    "EventValidationError",
    "Feature",
    "FeatureInfo",
    "FeatureSet",
    "FeatureSpec",
    "FeatureSpecError",
    "FieldType",
    "Window",
    "format_feature_table",
    "list_features",
    "load_feature_set",
    "load_project",
]

FieldType = Literal["number", "string", "bool", "timestamp"]
FIELD_TYPES: tuple[FieldType, ...] = ("number", "string", "bool", "timestamp")

# The field types each aggregation accepts; None marks the aggregations that take no field
# (they count events or measure time from the event timestamps).
_ACCEPTS: dict[str, frozenset[str] | None] = {
    "count": None,
    "sum": frozenset({"number"}),
    "mean": frozenset({"number"}),
    "min": frozenset({"number", "timestamp"}),
    "max": frozenset({"number", "timestamp"}),
    "std": frozenset({"number"}),
    "distinct": frozenset({"number", "string", "bool"}),
    "last": frozenset(FIELD_TYPES),
    "first_seen_age": None,
    "time_since_last": None,
}
AGGREGATIONS: tuple[str, ...] = (*_ACCEPTS, "ratio")

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_AGGREGATION = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\))?\s*")
_FEATURE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")


class FeatureSpecError(FengkongError):
    """A feature spec that cannot be loaded; the message starts with the spec line."""

    kind = "feature_spec"


class EventValidationError(FengkongError):
    """An incoming event that does not match its declared event type."""

    kind = "event_validation"


def checked_value(event_type: str, name: str, kind: str, value: Any) -> Any:
    """``value`` of a field of type ``kind``, timestamps as epoch milliseconds; an
    :class:`EventValidationError` naming the field when it is not one (the ingest path
    checks whole columns with it too)."""
    if kind == "timestamp":
        return _epoch_milliseconds(event_type, name, value)
    # bool is an int in Python, so it is told apart from numbers explicitly.
    ok = {"number": isinstance(value, int | float | Decimal) and not isinstance(value, bool)
                    and math.isfinite(value),
          "string": isinstance(value, str),
          "bool": isinstance(value, bool)}[kind]
    if not ok:
        raise EventValidationError(f"field {name!r} of a {event_type!r} event must be a "
                                   f"{kind}, not {value!r}", field=name)
    return value


def epoch_milliseconds(value: Any) -> int | None:
    """A moment as epoch milliseconds: an integer (or an integral ``Decimal``, as JSON read
    with decimal numbers gives), or ISO 8601 text with a UTC offset; None for anything else.
    A time without an offset is refused: guessing the zone would shift every window."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
        return int(moment.timestamp() * 1000) if moment.tzinfo is not None else None
    return None


def _epoch_milliseconds(event_type: str, name: str, value: Any) -> int:
    moment = epoch_milliseconds(value)
    if moment is not None:
        return moment
    raise EventValidationError(f"timestamp {name!r} of a {event_type!r} event must be epoch "
                               "milliseconds or ISO 8601 with a UTC offset "
                               f"(2026-05-01T09:30:00+08:00), not {value!r}", field=name)


@dataclass(frozen=True)
class EventType:
    """A kind of event that features aggregate, with its typed fields (timestamp included)."""

    name: str
    timestamp: str
    fields: dict[str, FieldType]


@dataclass(frozen=True)
class Feature:
    """One named variable: ``aggregation`` of ``field`` over the ``event`` events that share
    the current ``key`` value, within ``window``, among those where ``filter`` is true.

    A ratio divides the feature named ``numerator`` by the one named ``denominator``; its
    key, event and window are the numerator's.
    """

    name: str
    key: str
    event: str
    aggregation: str
    field: str | None
    window: Window
    filter: str | None
    numerator: str | None
    denominator: str | None
    description: str


@dataclass(frozen=True)
class FeatureSet:
    """The compiled spec: event types, entity keys and features in their stable order."""

    events: dict[str, EventType]
    keys: tuple[str, ...]
    features: tuple[Feature, ...]
    # Where each feature was declared ("credit.yaml:12"), for listings and error messages;
    # not part of the feature set's identity.
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    def by_name(self) -> dict[str, Feature]:
        """The features by name."""
        return {feature.name: feature for feature in self.features}

    def select(self, names: Iterable[str]) -> FeatureSet:
        """The features named and, for ratios, the features they divide (transitively), in
        this set's order: what a decision flow that asks for ``names`` must compute."""
        index = self.by_name()
        wanted: set[str] = set()
        pending = list(names)
        while pending:
            name = pending.pop()
            if name in wanted:
                continue
            feature = index.get(name)
            if feature is None:
                raise FeatureSpecError(f"unknown feature {name!r}", field=name)
            wanted.add(name)
            if feature.numerator is not None and feature.denominator is not None:
                pending += (feature.numerator, feature.denominator)
        chosen = tuple(feature for feature in self.features if feature.name in wanted)
        return FeatureSet(self.events, self.keys, chosen,
                          {name: self.sources[name] for name in wanted if name in self.sources})

    def validate_event(self, event_type: str, record: Any) -> tuple[dict[str, Any], int]:
        """Check an incoming event against its declared type, before it touches any state.

        Returns the event with its timestamp fields as epoch milliseconds (what the kernels
        store) and its own timestamp. Raises :class:`EventValidationError` naming the event
        type and field: an unknown event type or field, a missing entity key (null is
        allowed: the key is not known, so the event updates no series of that key), a
        value of the wrong type, or a timestamp that is not epoch milliseconds or ISO 8601
        with a UTC offset.
        """
        event = self.events.get(event_type)
        if event is None:
            known = ", ".join(self.events) or "none declared"
            raise EventValidationError(f"unknown event type {event_type!r} (known: {known})")
        if not isinstance(record, Mapping):
            raise EventValidationError(f"a {event_type!r} event must be an object, not "
                                       f"{type(record).__name__}")
        for key in self.keys:
            if key in event.fields and key not in record:
                raise EventValidationError(f"{event_type!r} event has no entity key {key!r}",
                                           field=key)
        if record.get(event.timestamp) is None:
            raise EventValidationError(f"{event_type!r} event has no timestamp "
                                       f"{event.timestamp!r}", field=event.timestamp)
        out: dict[str, Any] = {}
        for name, value in record.items():
            kind = event.fields.get(name)
            if kind is None:
                raise EventValidationError(f"unknown field {name!r} of event type "
                                           f"{event_type!r} (fields: {', '.join(event.fields)})",
                                           field=name)
            out[name] = None if value is None else checked_value(event_type, name, kind, value)
        return out, out[event.timestamp]


@dataclass(frozen=True)
class FeatureInfo:
    """One line of ``fengkong features list``: a feature and the spec line declaring it."""

    name: str
    description: str
    source: str
    feature: Feature

    def to_dict(self) -> dict[str, Any]:
        """The feature as a JSON-ready mapping (for ``fengkong features list --json``)."""
        feature = self.feature
        return {"name": self.name, "key": feature.key, "event": feature.event,
                "aggregation": feature.aggregation, "field": feature.field,
                "window": feature.window.name, "window_ms": feature.window.milliseconds,
                "filter": feature.filter, "numerator": feature.numerator,
                "denominator": feature.denominator, "description": self.description,
                "source": self.source}


# --- the located document -------------------------------------------------------------------

@dataclass(slots=True)
class _Node:
    """A value of the spec document with where it was written, so that any check can name
    the line: YAML gives line and column, a Python dict gives the key path."""

    value: Any  # dict[str, _Node], list[_Node] or a scalar
    path: str
    source: str | None = None
    line: int | None = None
    column: int | None = None

    @property
    def where(self) -> str:
        if self.line is None:
            return self.path or "spec"
        return f"{self.source or '<spec>'}:{self.line}:{self.column}"

    def error(self, message: str, **context: Any) -> FeatureSpecError:
        return FeatureSpecError(f"{self.where}: {message}", field=self.path or None, **context)

    def text(self, what: str) -> str:
        if not isinstance(self.value, str) or not self.value:
            raise self.error(f"{what} must be a non-empty string, not {_show(self.value)}")
        return self.value

    def name(self, what: str) -> str:
        text = self.text(what)
        if not _NAME.fullmatch(text):
            raise self.error(f"{what} {text!r} must be a name of letters, digits and _")
        return text

    def items(self, what: str) -> list[_Node]:
        if isinstance(self.value, list):
            return self.value
        raise self.error(f"{what} must be a list, not {_show(self.value)}")

    def entries(self, what: str, allowed: Iterable[str] | None = None) -> dict[str, _Node]:
        if not isinstance(self.value, dict):
            raise self.error(f"{what} must be a mapping, not {_show(self.value)}")
        if allowed is not None:
            known = tuple(allowed)
            for key, child in self.value.items():
                if key not in known:
                    raise child.error(f"unknown entry {key!r} in {what} (expected one of "
                                      f"{', '.join(known)})")
        return cast(dict[str, _Node], self.value)


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _child_path(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _from_python(value: Any, path: str = "") -> _Node:
    if isinstance(value, Mapping):
        return _Node({str(k): _from_python(v, _child_path(path, str(k)))
                      for k, v in value.items()}, path)
    if isinstance(value, list | tuple):
        return _Node([_from_python(v, _child_path(path, i)) for i, v in enumerate(value)], path)
    return _Node(value, path)


# Only the scalar constructors of this loader are used (never its stream): calling them
# directly, unlike construct_object, keeps no cache of the nodes it has seen.
_SCALARS = yaml.SafeLoader("")


def _from_yaml(node: yaml.Node, path: str, source: str | None) -> _Node:
    line, column = node.start_mark.line + 1, node.start_mark.column + 1
    if isinstance(node, yaml.MappingNode):
        entries: dict[str, _Node] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            if not isinstance(key_node, yaml.ScalarNode):
                raise FeatureSpecError(f"{source or '<spec>'}:{key_node.start_mark.line + 1}: "
                                       "a mapping key must be a plain name")
            if key in entries:
                raise FeatureSpecError(f"{source or '<spec>'}:{key_node.start_mark.line + 1}: "
                                       f"duplicate key {key!r}", field=_child_path(path, key))
            entries[key] = _from_yaml(value_node, _child_path(path, key), source)
        return _Node(entries, path, source, line, column)
    if isinstance(node, yaml.SequenceNode):
        items = [_from_yaml(item, _child_path(path, i), source) for i, item in enumerate(node.value)]
        return _Node(items, path, source, line, column)
    # Scalars take YAML's usual types (null, true, 12, 1.5) except timestamps and the like,
    # which stay text: a spec has no use for them.
    value: Any = node.value
    if node.tag.endswith((":null", ":bool", ":int", ":float")):
        value = _SCALARS.yaml_constructors[node.tag](_SCALARS, node)
    return _Node(value, path, source, line, column)


def _parse_yaml(text: str, source: str | None) -> _Node:
    try:
        document = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        at = f"{source or '<spec>'}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise FeatureSpecError(f"{at}: not valid YAML: {error.problem or error}") from None
    except yaml.YAMLError as error:
        raise FeatureSpecError(f"{source or '<spec>'}: not valid YAML: {error}") from None
    if document is None:
        return _Node({}, "", source, 1, 1)
    return _from_yaml(document, "", source)


# --- building the feature set ---------------------------------------------------------------

_TOP_LEVEL = ("version", "description", "keys", "events", "features", "templates")
_FEATURE_ENTRIES = ("name", "key", "event", "aggregation", "field", "window", "filter",
                    "filter_name", "numerator", "denominator", "description")
_TEMPLATE_ENTRIES = ("keys", "events", "filters", "aggregations", "fields", "windows", "ratios")


@dataclass(slots=True)
class _Ratio:
    """A ratio waiting for its operands: its key, event and window are the numerator's."""

    name: str
    numerator: str
    denominator: str
    node: _Node
    description: str | None


class _Builder:
    """Validates a located spec document and expands it into features, in document order."""

    def __init__(self) -> None:
        self.events: dict[str, EventType] = {}
        self.keys: list[str] = []
        self.features: dict[str, Feature | _Ratio] = {}
        self.nodes: dict[str, _Node] = {}
        self.windows: dict[str, Window] = {}
        # (filter source, event) pairs already validated: templates repeat them thousands
        # of times and compiling once is what keeps a 10,000-feature spec fast.
        self.checked_filters: set[tuple[str, str]] = set()

    # declarations

    def declare_keys(self, node: _Node) -> None:
        for item in node.items("keys"):
            key = item.name("an entity key")
            if key in self.keys:
                raise item.error(f"entity key {key!r} is declared twice")
            self.keys.append(key)

    def declare_events(self, node: _Node) -> None:
        for name, spec in node.entries("events").items():
            if not _NAME.fullmatch(name):
                raise spec.error(f"event type {name!r} must be a name of letters, digits and _")
            if name in self.events:
                raise spec.error(f"event type {name!r} is declared twice")
            entries = spec.entries(f"event type {name!r}", ("timestamp", "fields"))
            if "timestamp" not in entries:
                raise spec.error(f"event type {name!r} needs a 'timestamp' field name")
            timestamp = entries["timestamp"].name("the timestamp field")
            types: dict[str, FieldType] = {}
            fields_node = entries.get("fields", _Node({}, _child_path(spec.path, "fields")))
            for field_name, type_node in fields_node.entries(f"fields of {name!r}").items():
                if not _NAME.fullmatch(field_name):
                    raise type_node.error(f"field {field_name!r} of {name!r} must be a name of "
                                          "letters, digits and _")
                kind = type_node.value
                if kind not in FIELD_TYPES:
                    raise type_node.error(f"field {field_name!r} of {name!r} has unknown type "
                                          f"{_show(kind)} (expected {', '.join(FIELD_TYPES)})")
                types[field_name] = kind
            if types.setdefault(timestamp, "timestamp") != "timestamp":
                raise entries["timestamp"].error(f"timestamp field {timestamp!r} of {name!r} "
                                                 f"is declared as {types[timestamp]}")
            self.events[name] = EventType(name, timestamp, types)

    # checks shared by single features and templates

    def event(self, node: _Node) -> EventType:
        name = node.text("an event type")
        if name not in self.events:
            known = ", ".join(self.events) or "none declared"
            raise node.error(f"unknown event type {name!r} (known: {known})")
        return self.events[name]

    def key(self, node: _Node, event: EventType) -> str:
        key = node.text("an entity key")
        if key not in self.keys:
            known = ", ".join(self.keys) or "none declared"
            raise node.error(f"unknown entity key {key!r} (declared keys: {known})")
        if key not in event.fields:
            raise node.error(f"event type {event.name!r} has no field {key!r} for the entity "
                             f"key {key!r}")
        if event.fields[key] not in ("string", "number"):
            raise node.error(f"entity key {key!r} of {event.name!r} is a "
                             f"{event.fields[key]} field; keys must be strings or numbers")
        return key

    def window(self, node: _Node) -> Window:
        text = node.value if isinstance(node.value, str) else str(node.value)
        window = self.windows.get(text)
        if window is None:
            try:
                window = self.windows[text] = parse_window(text)
            except ValueError as error:
                raise node.error(str(error)) from None
        return window

    def aggregation(self, node: _Node) -> tuple[str, str | None]:
        """``sum(amount)`` -> (sum, amount); ``count`` -> (count, None)."""
        text = node.text("an aggregation")
        match = _AGGREGATION.fullmatch(text)
        if match is None or match.group(1) not in AGGREGATIONS:
            raise node.error(f"unknown aggregation {text!r} (expected one of "
                             f"{', '.join(AGGREGATIONS)})")
        if match.group(1) == "ratio":
            raise node.error("a ratio is declared with 'numerator' and 'denominator' (or under "
                             "a template's 'ratios'), not as an aggregation")
        return match.group(1), match.group(2)

    def field(self, node: _Node, aggregation: str, name: str | None, event: EventType) -> None:
        accepts = _ACCEPTS[aggregation]
        if accepts is None:
            if name is not None:
                raise node.error(f"aggregation {aggregation!r} takes no field")
            return
        if name is None:
            raise node.error(f"aggregation {aggregation!r} needs a field: write "
                             f"{aggregation}(field)")
        if name not in event.fields:
            raise node.error(f"unknown field {name!r} of event type {event.name!r} (fields: "
                             f"{', '.join(event.fields)})")
        if event.fields[name] not in accepts:
            raise node.error(f"cannot {aggregation} field {name!r} of {event.name!r}: it is a "
                             f"{event.fields[name]} field ({aggregation} takes "
                             f"{' or '.join(sorted(accepts))})")

    def filter(self, node: _Node, source: str, event: EventType) -> None:
        if (source, event.name) in self.checked_filters:
            return
        try:
            tree = compile_expression(source).tree
        except FengkongError as error:
            raise node.error(f"filter does not parse: {error.message}",
                             expression=source, position=error.position) from None
        for name, position in _free_names(tree):
            if name not in event.fields:
                raise node.error(f"filter refers to unknown field {name!r} of event type "
                                 f"{event.name!r}", expression=source, position=position)
        self.checked_filters.add((source, event.name))

    # features

    def add(self, feature: Feature | _Ratio, node: _Node) -> None:
        earlier = self.nodes.get(feature.name)
        if earlier is not None:
            raise node.error(f"duplicate feature name {feature.name!r} (first declared at "
                             f"{earlier.where})")
        self.features[feature.name] = feature
        self.nodes[feature.name] = node

    def sources(self) -> dict[str, str]:
        """Where each feature was declared; a template's features share a few nodes, so
        each node's location is formatted once."""
        where: dict[int, str] = {}
        return {name: where.get(id(node)) or where.setdefault(id(node), node.where)
                for name, node in self.nodes.items()}

    def declare_feature(self, node: _Node) -> None:
        entries = node.entries("a feature", _FEATURE_ENTRIES)
        description = entries["description"].text("description") if "description" in entries \
            else None
        if "numerator" in entries or "denominator" in entries:
            self.declare_ratio(node, entries, description)
            return
        for required in ("key", "event", "aggregation", "window"):
            if required not in entries:
                raise node.error(f"a feature needs {required!r}")
        event = self.event(entries["event"])
        key = self.key(entries["key"], event)
        aggregation, field_name = self.aggregation(entries["aggregation"])
        if "field" in entries:
            if field_name is not None:
                raise entries["field"].error("the field is given twice: in 'aggregation' and "
                                             "in 'field'")
            field_name = entries["field"].name("a field")
        self.field(entries["aggregation"], aggregation, field_name, event)
        window = self.window(entries["window"])
        filter_source = filter_name = None
        if "filter" in entries and entries["filter"].value is not None:
            filter_source = entries["filter"].text("a filter")
            self.filter(entries["filter"], filter_source, event)
            if "filter_name" in entries:
                filter_name = entries["filter_name"].name("a filter name")
                if filter_name in event.fields:
                    raise entries["filter_name"].error(
                        f"filter name {filter_name!r} is also a field of {event.name!r}; "
                        "names would be ambiguous")
            elif "name" not in entries:
                raise entries["filter"].error("a filtered feature needs a 'name' or a "
                                              "'filter_name' to name it by")
        name = (_explicit_name(entries["name"]) if "name" in entries
                else _feature_name(key, event.name, filter_name, field_name, aggregation, window))
        self.add(Feature(name, key, event.name, aggregation, field_name, window, filter_source,
                         None, None, description or _describe(aggregation, field_name, key,
                                                              event.name, window, filter_source)),
                 node)

    def declare_ratio(self, node: _Node, entries: dict[str, _Node],
                      description: str | None) -> None:
        for required in ("name", "numerator", "denominator"):
            if required not in entries:
                raise node.error(f"a ratio needs {required!r}")
        for extra in ("key", "event", "field", "window", "filter", "filter_name"):
            if extra in entries:
                raise entries[extra].error(f"a ratio takes no {extra!r}: its key, event and "
                                           "window are its numerator's")
        if "aggregation" in entries and entries["aggregation"].value != "ratio":
            raise entries["aggregation"].error("a feature with a numerator and a denominator "
                                               "is a ratio")
        self.add(_Ratio(_explicit_name(entries["name"]),
                        entries["numerator"].text("a numerator"),
                        entries["denominator"].text("a denominator"), node, description), node)

    def expand_template(self, node: _Node) -> None:
        entries = node.entries("a template", _TEMPLATE_ENTRIES)
        for required in ("keys", "events"):
            if required not in entries:
                raise node.error(f"a template needs {required!r}")
        if "aggregations" not in entries and "ratios" not in entries:
            raise node.error("a template needs 'aggregations' or 'ratios'")
        if "aggregations" in entries and "windows" not in entries:
            raise node.error("a template with aggregations needs 'windows'")
        events = [self.event(item) for item in entries["events"].items("events")]
        key_nodes = entries["keys"].items("keys")
        windows = [self.window(item) for item in
                   entries.get("windows", _Node([], "")).items("windows")]
        fields_list = [item.name("a field") for item in
                       entries.get("fields", _Node([], "")).items("fields")]
        filters: list[tuple[str | None, str | None, _Node]] = [(None, None, node)]
        if "filters" in entries:
            filters = []
            for label, expression in entries["filters"].entries("filters").items():
                if not _NAME.fullmatch(label):
                    raise expression.error(f"filter name {label!r} must be a name of "
                                           "letters, digits and _")
                text = None if expression.value is None else expression.text("a filter")
                # The unfiltered entry (`all: null`) has no name segment: the plain name.
                filters.append((None if text is None else label, text, expression))
        aggregations: list[tuple[str, str | None, _Node]] = []
        for item in entries.get("aggregations", _Node([], "")).items("aggregations"):
            aggregation, field_name = self.aggregation(item)
            if field_name is not None or _ACCEPTS[aggregation] is None:
                aggregations.append((aggregation, field_name, item))
            elif not fields_list:
                raise item.error(f"aggregation {aggregation!r} needs a field: write "
                                 f"{aggregation}(field) or list the template's 'fields'")
            else:
                aggregations += [(aggregation, name, item) for name in fields_list]
        for event in events:
            for filter_name, source, filter_node in filters:
                if filter_name is not None and filter_name in event.fields:
                    raise filter_node.error(f"filter name {filter_name!r} is also a field of "
                                            f"{event.name!r}; names would be ambiguous")
                if source is not None:
                    self.filter(filter_node, source, event)
            for aggregation, field_name, item in aggregations:
                self.field(item, aggregation, field_name, event)
            for key_node in key_nodes:
                self.key(key_node, event)
        for key_node in key_nodes:
            key = cast(str, key_node.value)
            for event in events:
                for filter_name, source, _filter_node in filters:
                    for aggregation, field_name, item in aggregations:
                        for window in windows:
                            name = _feature_name(key, event.name, filter_name, field_name,
                                                 aggregation, window)
                            self.add(Feature(name, key, event.name, aggregation, field_name,
                                             window, source, None, None,
                                             _describe(aggregation, field_name, key, event.name,
                                                       window, source)), item)
                if "ratios" in entries:
                    self.expand_ratios(entries["ratios"], key, event.name, windows)

    def expand_ratios(self, node: _Node, key: str, event: str, windows: list[Window]) -> None:
        for ratio_name, operands in node.entries("ratios").items():
            if not _NAME.fullmatch(ratio_name) or ratio_name in _ACCEPTS:
                raise operands.error(f"ratio name {ratio_name!r} must be a name of letters, "
                                     "digits and _ that is not an aggregation")
            pair = operands.items(f"ratio {ratio_name!r}")
            if len(pair) != 2:
                raise operands.error(f"ratio {ratio_name!r} needs [numerator, denominator]")
            numerator, denominator = (item.text("a ratio operand") for item in pair)
            prefix = f"{key}.{event}."
            # With windows, operands and the ratio are per window; without, the operands
            # name their windows themselves (count.7d vs count.90d).
            for suffix in [f".{window.name}" for window in windows] or [""]:
                self.add(_Ratio(f"{prefix}{ratio_name}{suffix}", prefix + numerator + suffix,
                                prefix + denominator + suffix, operands, None), operands)

    # ratios

    def resolve(self) -> tuple[Feature, ...]:
        """Ratios take key, event and window from their numerators, which may be ratios
        themselves; a ratio that reaches itself is a cycle."""
        done: dict[str, Feature] = {}

        def resolve(name: str, trail: tuple[str, ...]) -> Feature:
            feature = self.features[name]
            if isinstance(feature, Feature):
                return feature
            if name in done:
                return done[name]
            if name in trail:
                loop = " -> ".join((*trail[trail.index(name):], name))
                raise feature.node.error(f"ratio cycle: {loop}")
            operands = []
            for role, operand in (("numerator", feature.numerator),
                                  ("denominator", feature.denominator)):
                if operand not in self.features:
                    raise feature.node.error(f"ratio {name!r} has unknown {role} {operand!r}")
                operands.append(resolve(operand, (*trail, name)))
            top = operands[0]
            done[name] = Feature(name, top.key, top.event, "ratio", None, top.window, None,
                                 feature.numerator, feature.denominator,
                                 feature.description or
                                 f"{feature.numerator} divided by {feature.denominator}")
            return done[name]

        try:
            return tuple(resolve(name, ()) for name in self.features)
        except RecursionError:
            raise FeatureSpecError("ratios of ratios nested too deeply (hundreds of levels): "
                                   "is a ratio chain generated by mistake?") from None


def _explicit_name(node: _Node) -> str:
    """A feature name written by hand (generated names are made of checked parts)."""
    name = node.text("a feature name")
    if not _FEATURE_NAME.fullmatch(name):
        raise node.error(f"feature name {name!r} must be letters, digits, _, - and dots")
    return name


def _free_names(tree: ast.Node) -> Iterator[tuple[str, int]]:
    """The top-level variable names an expression reads, with their positions: the event
    fields a filter needs (closure aliases and ``$``/``#`` are not fields)."""
    bound: set[str] = set()

    def walk(node: Any) -> Iterator[tuple[str, int]]:
        if isinstance(node, ast.Identifier):
            if node.name != "$" and node.name not in bound:
                yield node.name, node.start
            return
        if isinstance(node, ast.ClosureCall):
            yield from walk(node.items)
            if node.alias is not None:
                bound.add(node.alias)
            yield from walk(node.body)
            return
        if isinstance(node, ast.Node):
            for part in fields(node):
                yield from walk(getattr(node, part.name))
        elif isinstance(node, list | tuple):
            for item in node:
                yield from walk(item)

    return walk(tree)


def _feature_name(key: str, event: str, filter_name: str | None, field_name: str | None,
                  aggregation: str, window: Window) -> str:
    parts = [key, event]
    if filter_name is not None:
        parts.append(filter_name)
    if field_name is not None:
        parts.append(field_name)
    parts += (aggregation, window.name)
    return ".".join(parts)


_PHRASES = {
    "count": "number of {event} events",
    "sum": "sum of {field} over {event} events",
    "mean": "mean of {field} over {event} events",
    "min": "smallest {field} of {event} events",
    "max": "largest {field} of {event} events",
    "std": "standard deviation of {field} over {event} events",
    "distinct": "number of distinct {field} values on {event} events",
    "last": "{field} of the latest {event} event",
    "first_seen_age": "seconds since the first {event} event",
    "time_since_last": "seconds since the latest {event} event",
}


def _describe(aggregation: str, field_name: str | None, key: str, event: str, window: Window,
              filter_source: str | None) -> str:
    text = _PHRASES[aggregation].format(event=event, field=field_name)
    where = f" where {filter_source}" if filter_source else ""
    return f"{text[0].upper()}{text[1:]} with the same {key}{where}, {window.phrase}"


def _build(documents: Iterable[_Node]) -> FeatureSet:
    builder = _Builder()
    documents = list(documents)
    sections: list[dict[str, _Node]] = []
    for document in documents:
        sections.append(document.entries("a feature spec", _TOP_LEVEL))
    # Keys and events first, from every document, so that a project may declare its event
    # types in one file and its features in others.
    for entries in sections:
        if "version" in entries and entries["version"].value != 1:
            raise entries["version"].error(f"unknown spec version {_show(entries['version'].value)}"
                                           " (this fengkong reads version 1)")
        if "keys" in entries:
            builder.declare_keys(entries["keys"])
        if "events" in entries:
            builder.declare_events(entries["events"])
    # Features and templates expand in the order they are written, which fixes the order
    # (and so the output columns) of the feature set.
    for entries in sections:
        for section, node in entries.items():
            if section == "features":
                for item in node.items("features"):
                    builder.declare_feature(item)
            elif section == "templates":
                for item in node.items("templates"):
                    builder.expand_template(item)
    return FeatureSet(dict(builder.events), tuple(builder.keys), builder.resolve(),
                      builder.sources())


class FeatureSpec:
    """The Python form of a spec: the same declarations, checks, names and order as YAML.

    Each call adds one declaration; :meth:`build` validates them all together, so a
    declaration may refer to event types, keys and features declared by later calls.
    Errors name the declaration as ``templates[2].windows[1]`` (counting calls of a kind).
    """

    def __init__(self) -> None:
        # (section, declaration) in call order: features and templates expand in this order.
        self._declarations: list[tuple[str, Any]] = []

    def _add(self, section: str, declaration: Any) -> FeatureSpec:
        self._declarations.append((section, declaration))
        return self

    def keys(self, *names: str) -> FeatureSpec:
        """Declare entity keys (each one is a field of the events it groups)."""
        return self._add("keys", list(names))

    def event(self, name: str, *, timestamp: str, fields: Mapping[str, FieldType]) -> FeatureSpec:
        """Declare an event type with its timestamp field and typed fields."""
        return self._add("events", {name: {"timestamp": timestamp, "fields": dict(fields)}})

    def feature(self, *, key: str, event: str, aggregation: str, window: str,
                field: str | None = None, filter: str | None = None,
                filter_name: str | None = None, name: str | None = None,
                description: str | None = None) -> FeatureSpec:
        """Declare one feature, as an entry of the YAML ``features`` list."""
        options = {"field": field, "filter": filter, "filter_name": filter_name, "name": name,
                   "description": description}
        return self._add("features", {"key": key, "event": event, "aggregation": aggregation,
                                      "window": window,
                                      **{k: v for k, v in options.items() if v is not None}})

    def ratio(self, name: str, numerator: str, denominator: str,
              description: str | None = None) -> FeatureSpec:
        """Declare the ratio of two features (named in full)."""
        declaration = {"name": name, "numerator": numerator, "denominator": denominator}
        if description is not None:
            declaration["description"] = description
        return self._add("features", declaration)

    def template(self, *, keys: Iterable[str], events: Iterable[str],
                 aggregations: Iterable[str] = (), windows: Iterable[str] = (),
                 fields: Iterable[str] = (), filters: Mapping[str, str | None] | None = None,
                 ratios: Mapping[str, tuple[str, str]] | None = None) -> FeatureSpec:
        """Declare a template, as an entry of the YAML ``templates`` list."""
        declaration: dict[str, Any] = {"keys": list(keys), "events": list(events)}
        optional = {"aggregations": list(aggregations), "windows": list(windows),
                    "fields": list(fields), "filters": dict(filters or {}),
                    "ratios": {name: list(pair) for name, pair in (ratios or {}).items()}}
        declaration.update({k: v for k, v in optional.items() if v})
        return self._add("templates", declaration)

    def build(self) -> FeatureSet:
        """Validate and expand the declarations; raises :class:`FeatureSpecError`."""
        counts: dict[str, int] = {}
        documents = []
        for section, declaration in self._declarations:
            index = counts[section] = counts.get(section, -1) + 1
            if section in ("keys", "events"):
                node = _from_python(declaration, section)
            else:
                node = _Node([_from_python(declaration, f"{section}[{index}]")], section)
            documents.append(_Node({section: node}, ""))
        return _build(documents)


def load_feature_set(spec: str | Path | Mapping[str, Any]) -> FeatureSet:
    """Load a feature spec: a YAML file path, YAML text, or the same document as a dict.

    Raises :class:`FeatureSpecError` naming the line (or dict path) of the first mistake.
    """
    if isinstance(spec, Path):
        return _build([_parse_yaml(_read(spec), str(spec))])
    if isinstance(spec, str):
        return _build([_parse_yaml(spec, None)])
    return _build([_from_python(spec)])


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise FeatureSpecError(f"cannot read feature spec {str(path)!r}: "
                               f"{error.strerror or error}") from None


def _spec_files(path: Path) -> list[Path]:
    """A spec file itself, or a strategy project's ``features/*.yaml`` (or a folder of them)."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FeatureSpecError(f"no such feature spec or project: {str(path)!r}")
    folder = path / "features" if (path / "features").is_dir() else path
    files = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
    if not files:
        raise FeatureSpecError(f"no feature specs (*.yaml) in {str(folder)!r}")
    return files


def load_project(path: Path) -> FeatureSet:
    """The feature set of a spec file or of a project's ``features/*.yaml`` taken together
    (files in name order; event types and keys may be declared in any of them)."""
    return _build([_parse_yaml(_read(file), str(file)) for file in _spec_files(path)])


def list_features(project_or_file: Path) -> list[FeatureInfo]:
    """Every feature a project (or one spec file) declares, in stable order."""
    feature_set = load_project(project_or_file)
    return [FeatureInfo(feature.name, feature.description, feature_set.sources[feature.name],
                        feature) for feature in feature_set.features]


def format_feature_table(features: Iterable[FeatureInfo]) -> str:
    """An aligned two-column table (name, description) with a count on the last line."""
    rows = list(features)
    width = max([len("NAME"), *(len(info.name) for info in rows)])
    lines = [f"{'NAME':<{width}}  DESCRIPTION"]
    lines += [f"{info.name:<{width}}  {info.description}" for info in rows]
    lines.append(f"{len(rows):,} feature{'' if len(rows) == 1 else 's'}")
    return "\n".join(lines)
