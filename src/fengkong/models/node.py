"""The ``scorecard`` and ``model`` graph nodes: score the application, put the score, the PD
and the reasons into the context.

JDM::

    {"type": "customNode", "content": {"kind": "scorecard", "config": {
        "model": "../models/application",
        "inputs": {"duration_in_month": "loan.termMonths",
                   "credit_amount": "loan.amount",
                   "age_in_years": "applicant.age"},
        "name": "application",
        "reasons": 4}}}

* ``model``: the model artifact folder, relative to the graph's file (else to the working
  directory). It is loaded and verified (SHA-256 of every file) when the graph loads.
  ``scorecard`` accepts only a scorecard; ``model`` accepts any kind (scorecard or gbdt).
* ``inputs``: either an object of model feature -> ZEN expression over the node's input
  (names the model does not have are refused at load time, with close matches suggested),
  or one ZEN expression giving an object that holds the features by name — e.g.
  ``"features"`` for the output of a ``features`` node. In the second form, keys that are
  not model features are ignored (a features node computes many variables; a model uses
  some). Either way a feature that is ``null`` or absent is scored as missing, the way the
  model was trained; a value of the wrong type is an error naming the feature.
* ``name`` (optional): where the result goes, ``models.<name>`` (default: the artifact's
  name), so several model nodes fill one ``models`` object.
* ``reasons`` (optional, default 4): how many adverse reasons to give.

The node passes its input on and adds ``models.<name>``: ``{"score", "pd", "reasons":
[{"code", "zh", "en", "feature", "impact", "value"}], "codes", "kind", "model"}``, where
``codes`` lists the reasons' distinct codes worst first and ``model``
names the artifact version (its metadata's SHA-256, so a decision record says exactly which
model decided). The trace adds the values the model saw. See ``docs/models.md``.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fengkong.errors import FengkongError, InputValidationError
from fengkong.expr import CompiledExpression, compile_expression
from fengkong.graph.registry import (
    NodeDefinition,
    NodeResult,
    object_input,
    register_node_kind,
)
from fengkong.models.artifact import METADATA, read_artifact
from fengkong.models.base import Scorer
from fengkong.models.scorers import scorer_from_artifact

MODELS = "models"  # the context key the nodes fill
_CONFIG = ("model", "inputs", "name", "reasons")


class ModelNode:
    """A compiled model node: builds the row from its input, scores it, adds the result."""

    def __init__(self, scorer: Scorer, name: str, version: str,
                 inputs: Mapping[str, CompiledExpression] | CompiledExpression,
                 reasons: int) -> None:
        self.scorer = scorer
        self.name = name
        self.version = version
        self.inputs = inputs
        self.reasons = reasons
        self.features = scorer.features

    def __call__(self, node_input: Any) -> NodeResult:
        object_input(node_input, "a model node")
        row = self._row(node_input)
        result = self.scorer.score(row, reasons=self.reasons)
        models = node_input.get(MODELS)
        models = dict(models) if isinstance(models, dict) else {}
        models[self.name] = {**result.to_dict(), "kind": self.scorer.kind,
                             "model": self.version}
        return NodeResult({**node_input, MODELS: models}, {"inputs": row})

    def _row(self, node_input: dict[str, Any]) -> dict[str, Any]:
        if isinstance(self.inputs, Mapping):
            return {feature: expression(node_input)
                    for feature, expression in self.inputs.items()}
        source = self.inputs(node_input)
        if source is None:
            source = {}
        if not isinstance(source, dict):
            raise InputValidationError(
                f"inputs ({self.inputs.source}) must give an object of feature values, got "
                f"{type(source).__name__}", field=self.inputs.source)
        return {feature: source.get(feature) for feature in self.features}


def _compile(node: NodeDefinition, required_kind: str | None) -> ModelNode:
    config = node.config
    if not isinstance(config, dict):
        raise node.error("config must be an object with 'model' and 'inputs'")
    unknown = sorted(set(config) - set(_CONFIG))
    if unknown:
        raise node.error(f"unknown config entr{'ies' if len(unknown) > 1 else 'y'} "
                         f"{', '.join(unknown)} (known: {', '.join(_CONFIG)})")
    location = config.get("model")
    if not isinstance(location, str) or not location.strip():
        raise node.error("config.model must be the path of a model artifact folder")
    path = _artifact_path(location, node.directory)
    try:
        artifact = read_artifact(path)
        scorer = scorer_from_artifact(artifact)
    except FengkongError as error:
        raise node.error(f"config.model: {error.message}") from None
    if required_kind is not None and artifact.kind != required_kind:
        raise node.error(f"config.model: {path} is a {artifact.kind} model; a {required_kind} "
                         "node needs a scorecard (use the 'model' kind for any model)")
    reasons = config.get("reasons", 4)
    if type(reasons) is not int or reasons < 0:
        raise node.error(f"config.reasons must be a whole number >= 0, not {reasons!r}")
    name = config.get("name", artifact.name)
    if not isinstance(name, str) or not name:
        raise node.error("config.name must be text")
    version = hashlib.sha256((path / METADATA).read_bytes()).hexdigest()[:16]
    return ModelNode(scorer, name, f"{artifact.name}@{version}",
                     _inputs(node, scorer, config.get("inputs")), reasons)


def _artifact_path(location: str, directory: Path | None) -> Path:
    """``config.model`` relative to the graph's folder (else to the working directory)."""
    path = Path(location)
    return directory / path if not path.is_absolute() and directory is not None else path


def model_features(config: Any, directory: Path | None) -> tuple[str, ...] | None:
    """The features of the model a ``model`` or ``scorecard`` node's ``config`` names, from
    its verified metadata: what the node reads when ``inputs`` hands it an object whole
    (``"features"``), for the features node's reference analysis
    (:mod:`fengkong.features.references`). None when they cannot be read here — no
    ``config.model``, a relative path without the graph's folder, a broken artifact (the
    node itself says what is wrong when it compiles)."""
    location = config.get("model") if isinstance(config, dict) else None
    if not isinstance(location, str) or not location.strip() or (
            directory is None and not Path(location).is_absolute()):
        return None
    try:
        features = read_artifact(_artifact_path(location, directory)).metadata["features"]
        return tuple(str(feature["name"]) for feature in features)
    except (FengkongError, KeyError, TypeError):
        return None


def _inputs(node: NodeDefinition, scorer: Scorer, inputs: Any
            ) -> dict[str, CompiledExpression] | CompiledExpression:
    if isinstance(inputs, str):
        return _expression(node, inputs, "config.inputs")
    if not isinstance(inputs, dict) or not inputs:
        raise node.error("config.inputs must be an object of model feature -> expression, or "
                         "one expression giving an object of feature values")
    compiled = {}
    for feature, source in inputs.items():
        if feature not in scorer.features:
            close = difflib.get_close_matches(feature, scorer.features, n=3)
            hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
            raise node.error(f"config.inputs: the model has no feature {feature!r}{hint}")
        if not isinstance(source, str):
            raise node.error(f"config.inputs.{feature} must be a ZEN expression (text)")
        compiled[feature] = _expression(node, source, f"config.inputs.{feature}")
    return compiled


def _expression(node: NodeDefinition, source: str, where: str) -> CompiledExpression:
    try:
        return compile_expression(source)
    except FengkongError as error:
        raise node.error(f"{where}: {error}") from None


@register_node_kind("scorecard")
def compile_scorecard_node(node: NodeDefinition) -> ModelNode:
    """The ``scorecard`` kind: a model node that accepts only a scorecard artifact."""
    return _compile(node, "scorecard")


@register_node_kind("model")
def compile_model_node(node: NodeDefinition) -> ModelNode:
    """The ``model`` kind: any model artifact (scorecard or gradient-boosted)."""
    return _compile(node, None)
