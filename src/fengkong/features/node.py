"""The ``features`` graph node: the risk variables a decision flow reads, as of the application.

JDM::

    {"type": "customNode", "content": {"kind": "features", "config": {
        "spec": "../features/credit.yaml",
        "keys": {"phone": "applicant.phone", "id_number": "applicant.idNumber"},
        "asOf": "appliedAt"}}}

* ``spec``: the feature spec — a YAML file or a project folder (``features/*.yaml``),
  relative to the graph's file (else to the working directory), or the spec inline as an
  object.
* ``keys``: for each entity key of the spec the flow uses, a ZEN expression giving its value
  from the node's input.
* ``asOf`` (optional): a ZEN expression giving the moment to compute the features at, as
  epoch milliseconds or ISO 8601 text with an offset; without it, the time of the
  evaluation. Only events strictly before it count.
* ``features`` (optional): names or glob patterns (``phone.application.count.*``) to compute
  besides those the graph reads — needed when a node reads them in a way the reference
  analysis cannot follow (:mod:`fengkong.features.references`).

When the graph loads, the node finds the features that the nodes after it read
(``features["phone.application.count.7d"]``), refuses a name the spec does not declare
(suggesting close ones), and selects only those from the store's plan: a flow that reads
two hundred of ten thousand declared variables computes two hundred, from a store that
keeps all of them (:func:`flow_plan` gives the plan of a store that keeps no more). The
store is the engine's ``features`` service: any object with a ``plan`` and
``compute(keys, as_of, plan)`` (:class:`FeatureStore`).

The node passes its input on and adds ``features``, an object of feature name to value
(``null`` where a feature has no value, e.g. the mean of no event, and for every feature of
an entity key the application does not carry: an unknown key is not a zero history).
The graph registry imports this module (registering the kind) the first time a flow uses
it. See ``docs/feature-node.md``.
"""

from __future__ import annotations

import difflib
import fnmatch
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from fengkong.errors import FengkongError, GraphLoadError, InputValidationError
from fengkong.expr import CompiledExpression
from fengkong.features.kernels import FeaturePlan
from fengkong.features.references import FEATURES, downstream_references
from fengkong.features.spec import FeatureSet, epoch_milliseconds, load_feature_set, load_project
from fengkong.graph.loaders import DirectoryLoader
from fengkong.graph.model import parse_graph
from fengkong.graph.registry import NodeDefinition, NodeResult, register_node_kind

STORE_SERVICE = "features"  # the engine service holding the feature store
_CONFIG = ("spec", "keys", "asOf", "features")


class FeatureStore(Protocol):
    """What the node needs of a feature state store (memory, durable, Redis...)."""

    @property
    def plan(self) -> FeaturePlan: ...

    def compute(self, keys: Mapping[str, Any], as_of: int,
                plan: FeaturePlan | None = None) -> np.ndarray:
        """The features of ``plan`` (one selected from the store's own with
        ``FeaturePlan.select``; by default the store's) for these key values, as of
        ``as_of`` (epoch ms), NaN where undefined, in ``plan.names`` order."""
        ...


class FeatureNode:
    """A compiled features node: evaluates the key and as-of expressions, asks the store,
    and adds the values under ``features``."""

    def __init__(self, plan: FeaturePlan, keys: Mapping[str, CompiledExpression],
                 as_of: CompiledExpression | None, store: FeatureStore,
                 key_types: Mapping[str, str | None]) -> None:
        """``plan``: the features the flow reads, selected from the store's plan (so that
        the store computes only those)."""
        self.plan = plan
        self.names = list(plan.names)
        self._names: dict[str, Any] = dict.fromkeys(self.names)
        self.keys = dict(keys)
        self.as_of = as_of
        self.store = store
        self.key_types = dict(key_types)
        by_name = {feature.name: feature for feature in plan.features}
        # For a key the application lacks, the slots of the features that depend on it.
        self.slots_of_key = {
            key: np.array([slot for slot, name in enumerate(self.names)
                           if key in _keys_of(by_name, name)], dtype=np.intp)
            for key in self.keys}

    def __call__(self, node_input: Any) -> NodeResult:
        if type(node_input) is not dict:
            raise InputValidationError("the features node needs an object as its input, "
                                       f"got {type(node_input).__name__}")
        keys = {key: self._key(key, expression, node_input)
                for key, expression in self.keys.items()}
        as_of = self._as_of(node_input)
        values = self.store.compute(keys, as_of, self.plan)
        missing = [key for key, value in keys.items() if value is None]
        # NaN becomes null, and so does every feature of a key the application lacks; done
        # on an object array, not value by value (a thousand features cost 100 µs that way).
        shown = values.astype(object)  # a copy: the store's array is its own
        shown[np.isnan(values)] = None
        for key in missing:
            shown[self.slots_of_key[key]] = None
        features = self._names.copy()  # the keys in order, without rehashing each
        features.update(zip(self.names, shown.tolist(), strict=True))
        trace = {"asOf": as_of, "computed": len(self.names), "missingKeys": missing}
        return NodeResult({**node_input, FEATURES: features}, trace)

    def _key(self, key: str, expression: CompiledExpression, node_input: dict[str, Any]
             ) -> Any:
        value = expression(node_input)
        if value is None:
            return None
        if self.key_types.get(key) == "string" and not isinstance(value, str):
            raise InputValidationError(f"entity key {key!r} ({expression.source}) must be "
                                       f"text, got {value!r}", field=expression.source)
        return value

    def _as_of(self, node_input: dict[str, Any]) -> int:
        if self.as_of is None:
            return time.time_ns() // 1_000_000
        value = self.as_of(node_input)
        moment = _epoch_milliseconds(value)
        if moment is None:
            raise InputValidationError(
                f"asOf ({self.as_of.source}) must be epoch milliseconds or ISO 8601 with an "
                f"offset (2026-05-01T09:30:00+08:00), got {value!r}", field=self.as_of.source)
        return moment


@register_node_kind(FEATURES)
def compile_features_node(node: NodeDefinition) -> FeatureNode:
    """The ``features`` kind's compiler: read the config, find the features the graph reads,
    check them against the spec and the store."""
    config = _config(node)
    spec = _spec(node, config["spec"])
    selected = _selected(node, spec, config)
    keys = _keys(node, spec, selected, config.get("keys"))
    as_of = node.expression(config["asOf"], "config.asOf") if config.get("asOf") is not None else None
    names = [feature.name for feature in selected.features]
    store = _store(node, names)
    try:
        plan = store.plan.select(names)
    except FengkongError as error:
        raise node.error(error.message) from None
    key_types = {key: _key_type(spec, key) for key in keys}
    return FeatureNode(plan, keys, as_of, store, key_types)


def flow_plan(*flows: str | Path) -> FeaturePlan:
    """The plan a feature store needs to serve these flows (JDM files): the features their
    features nodes read, and nothing more. Build the store with it, e.g.
    ``MemoryFeatureState(flow_plan("flows/main.json"))``. The flows' features nodes must
    name the same spec."""
    spec: FeatureSet | None = None
    names: set[str] = set()
    for flow in flows:
        path = Path(flow)
        graph = parse_graph(path)
        for item in graph.nodes:
            content = item.content if isinstance(item.content, dict) else {}
            if item.type != "customNode" or content.get("kind") != FEATURES:
                continue
            definition = NodeDefinition(item.id, item.name, FEATURES, content.get("config"),
                                        {}, graph, path.resolve().parent,
                                        DirectoryLoader(path.resolve().parent))
            config = _config(definition)
            node_spec = _spec(definition, config["spec"])
            if spec is not None and node_spec != spec:
                raise definition.error("the flows' features nodes name different specs; "
                                       "a store serves one")
            spec = node_spec
            names.update(feature.name for feature in _selected(definition, spec, config)
                         .features)
    if spec is None:
        raise GraphLoadError(f"no features node in {', '.join(map(str, flows))}")
    selected = spec.select(names)
    return FeaturePlan(selected.features, selected.events)


def _config(node: NodeDefinition) -> dict[str, Any]:
    config = node.config
    if not isinstance(config, dict):
        raise node.error("config must be an object with 'spec' and 'keys'")
    unknown = sorted(set(config) - set(_CONFIG))
    if unknown:
        raise node.error(f"unknown config entr{'ies' if len(unknown) > 1 else 'y'} "
                         f"{', '.join(unknown)} (known: {', '.join(_CONFIG)})")
    if config.get("spec") is None:
        raise node.error("config.spec is missing: a feature spec file, project folder or "
                         "inline spec")
    return config


def _spec(node: NodeDefinition, spec: Any) -> FeatureSet:
    try:
        if isinstance(spec, Mapping):
            return load_feature_set(spec)
        if isinstance(spec, str) and spec.strip():
            path = Path(spec)
            if not path.is_absolute() and node.directory is not None:
                path = node.directory / path
            return load_project(path)
    except FengkongError as error:
        raise node.error(f"config.spec: {error}") from None
    raise node.error("config.spec must be a path (text) or an inline spec (object)")


def _selected(node: NodeDefinition, spec: FeatureSet, config: Mapping[str, Any]
              ) -> FeatureSet:
    """The features the graph reads after the node, plus the listed ones (and, for ratios,
    the features they divide)."""
    if node.graph is None:
        raise node.error("the features node needs its graph to find the features it reads "
                         "(compile it through fengkong.load or an Engine)")
    references = downstream_references(node.graph, node.id, node.loader, node.directory)
    listed = _listed(node, spec, config.get("features"))
    known = spec.by_name()
    for name, places in references.names.items():
        if name not in known:
            raise node.error(_unknown(name, places[0], known))
    if references.dynamic and config.get("features") is None:
        raise node.error(
            f"{references.dynamic[0]} reads features by a name known only at run time; "
            "list the features it needs in config.features (names or patterns)")
    modelled: list[str] = []
    for where, names in references.models:
        declared = [name for name in names if name in known]
        if not declared:
            raise node.error(
                f"{where} hands the features object whole to its model, but the spec declares "
                f"none of the model's {len(names)} features ({', '.join(names[:3])}...): "
                "it would score every one as missing")
        modelled += declared
    if not references.names and not listed and not modelled:
        raise node.error("no node after the features node reads a feature "
                         "(features[\"name\"]); list the features to compute in "
                         "config.features")
    return spec.select([*references.names, *modelled, *listed])


def _listed(node: NodeDefinition, spec: FeatureSet, patterns: Any) -> list[str]:
    if patterns is None:
        return []
    if not (isinstance(patterns, list) and all(isinstance(p, str) for p in patterns)):
        raise node.error("config.features must be a list of feature names or patterns")
    names = [feature.name for feature in spec.features]
    chosen: list[str] = []
    for pattern in patterns:
        matched = fnmatch.filter(names, pattern)
        if not matched:
            raise node.error(_unknown(pattern, "config.features", spec.by_name()))
        chosen += matched
    return chosen


def _unknown(name: str, where: str, known: Mapping[str, Any]) -> str:
    message = f"{where} reads feature {name!r}, which the spec does not declare"
    if any(other.startswith(name + ".") for other in known):
        return (f"{message}; feature names contain dots, so write the whole name in "
                f"brackets: features[\"{name}.…\"]")
    close = difflib.get_close_matches(name, list(known), n=3)
    return message + (f" (did you mean {', '.join(map(repr, close))}?)" if close else "")


def _keys(node: NodeDefinition, spec: FeatureSet, selected: FeatureSet, keys: Any
          ) -> dict[str, CompiledExpression]:
    if not isinstance(keys, Mapping):
        raise node.error("config.keys must map entity keys to expressions "
                         "({\"phone\": \"applicant.phone\"})")
    for key in keys:
        if key not in spec.keys:
            raise node.error(f"config.keys: {key!r} is not an entity key of the spec "
                             f"({', '.join(spec.keys)})")
    needed = sorted({feature.key for feature in selected.features} - set(keys))
    if needed:
        example = next(f.name for f in selected.features if f.key == needed[0])
        raise node.error(f"config.keys has no expression for {', '.join(needed)}, which "
                         f"the flow's features need ({example}...)")
    used = {feature.key for feature in selected.features}
    # Keys no selected feature uses are not evaluated: nothing would read them.
    return {key: node.expression(source, f"config.keys.{key}") for key, source in keys.items()
            if key in used}



def _store(node: NodeDefinition, names: list[str]) -> FeatureStore:
    store = node.services.get(STORE_SERVICE)
    if store is None:
        raise node.error(f"no feature store: pass one to the engine as the "
                         f"{STORE_SERVICE!r} service, e.g. fengkong.load(flow, services="
                         f"{{'{STORE_SERVICE}': MemoryFeatureState(plan)}})")
    if not (hasattr(store, "compute") and isinstance(getattr(store, "plan", None),
                                                     FeaturePlan)):
        raise node.error(f"the {STORE_SERVICE!r} service is a {type(store).__name__}, not a "
                         "feature store (with a plan and compute(keys, as_of))")
    stored = set(store.plan.names)
    absent = [name for name in names if name not in stored]
    if absent:
        raise node.error(f"the feature store does not compute {len(absent)} of the features "
                         f"the flow reads ({', '.join(absent[:3])}...); build it with "
                         "fengkong.features.node.flow_plan(...)")
    return store


def _key_type(spec: FeatureSet, key: str) -> str | None:
    """The declared type of an entity key (from the first event type that has it)."""
    return next((event.fields[key] for event in spec.events.values() if key in event.fields),
                None)


def _keys_of(by_name: Mapping[str, Any], name: str) -> set[str]:
    """The entity keys a feature depends on (a ratio: those of the features it divides)."""
    feature = by_name[name]
    if feature.numerator is None or feature.denominator is None:
        return {feature.key}
    return _keys_of(by_name, feature.numerator) | _keys_of(by_name, feature.denominator)


def _epoch_milliseconds(value: Any) -> int | None:
    # A number from a ZEN expression may arrive as a float; a whole one is a moment.
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    return epoch_milliseconds(value)


__all__ = ["STORE_SERVICE", "FeatureNode", "FeatureStore", "compile_features_node",
           "flow_plan"]
