"""A model node handed the features object whole (``"inputs": "features"``) reads its model's
features: the features node computes every one the spec declares, or the flow refuses to
load naming the node — never a model that silently scores every feature as missing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fengkong.errors import GraphLoadError
from fengkong.features.node import flow_plan
from fengkong.models.artifact import write_artifact

SPEC = {
    "keys": ["phone", "device_id"],
    "events": {"application": {"timestamp": "applied_at", "fields": {
        "phone": "string", "device_id": "string", "amount": "number"}}},
    "templates": [{"keys": ["phone", "device_id"], "events": ["application"],
                   "fields": ["amount"], "aggregations": ["count", "sum"],
                   "windows": ["1d", "7d"]}]}
MODEL_FEATURES = ["phone.application.count.7d", "device_id.application.amount.sum.1d",
                  "applicant_age"]  # the last is not a feature of the spec: a field


def write_flow(folder: Path, model_features: list[str], inputs: Any = "features",
               model: str = "models/fraud", sub_decision: bool = False) -> Path:
    """A flow: input -> features -> a model node (or a sub-decision holding it) -> output;
    the model artifact holds only its metadata (what the reference analysis reads)."""
    write_artifact(folder / "models" / "fraud", {
        "name": "fraud", "kind": "gbdt",
        "features": [{"name": name, "dtype": "numerical"} for name in model_features]}, {})
    scoring = {"id": "fraud", "name": "Fraud model", "type": "customNode", "content": {
        "kind": "model", "config": {"model": model, "inputs": inputs}}}
    if sub_decision:
        inner = {"nodes": [{"id": "in", "name": "In", "type": "inputNode"}, scoring,
                           {"id": "out", "name": "Out", "type": "outputNode"}],
                 "edges": [{"id": "a", "sourceId": "in", "targetId": "fraud"},
                           {"id": "b", "sourceId": "fraud", "targetId": "out"}]}
        (folder / "inner.json").write_text(json.dumps(inner))
        scoring = {"id": "fraud", "name": "Fraud model", "type": "decisionNode",
                   "content": {"key": "inner.json"}}
    document = {"nodes": [
        {"id": "in", "name": "In", "type": "inputNode"},
        {"id": "features", "name": "Velocity features", "type": "customNode", "content": {
            "kind": "features", "config": {"spec": SPEC, "keys": {
                "phone": "applicant.phone", "device_id": "device.id"}}}},
        scoring,
        {"id": "out", "name": "Out", "type": "outputNode"}],
        "edges": [{"id": "a", "sourceId": "in", "targetId": "features"},
                  {"id": "b", "sourceId": "features", "targetId": "fraud"},
                  {"id": "c", "sourceId": "fraud", "targetId": "out"}]}
    path = folder / "flow.json"
    path.write_text(json.dumps(document))
    return path


def test_a_model_given_the_whole_object_gets_its_declared_features(tmp_path: Path) -> None:
    plan = flow_plan(write_flow(tmp_path, MODEL_FEATURES))
    assert sorted(plan.names) == sorted(MODEL_FEATURES[:2])


def test_the_spellings_of_the_whole_object_are_seen(tmp_path: Path) -> None:
    for inputs in ("$root.features", "$nodes['Velocity features'].features"):
        plan = flow_plan(write_flow(tmp_path, MODEL_FEATURES, inputs=inputs))
        assert sorted(plan.names) == sorted(MODEL_FEATURES[:2]), inputs


def test_model_inputs_as_expressions_are_read_as_expressions(tmp_path: Path) -> None:
    inputs = {"phone.application.count.7d": 'features["phone.application.count.1d"] * 7'}
    plan = flow_plan(write_flow(tmp_path, MODEL_FEATURES, inputs=inputs))
    assert plan.names == ["phone.application.count.1d"]


def test_a_model_of_no_declared_feature_is_refused_naming_the_node(tmp_path: Path) -> None:
    with pytest.raises(GraphLoadError, match=r"'Fraud model' \(node 'fraud'\) hands the "
                                             r"features object whole.*declares none"):
        flow_plan(write_flow(tmp_path, ["applicant_age", "income"]))


@pytest.mark.parametrize("where", ["missing artifact", "sub-decision"])
def test_a_model_whose_features_cannot_be_read_is_refused(tmp_path: Path, where: str) -> None:
    # A sub-decision's folder is not known to the reference analysis: its model path cannot
    # be resolved there.
    flow = write_flow(tmp_path, MODEL_FEATURES, model="models/none") \
        if where == "missing artifact" else write_flow(tmp_path, MODEL_FEATURES, sub_decision=True)
    with pytest.raises(GraphLoadError, match=r"'Fraud model' \(node 'fraud'\).*cannot be read "
                                             r"here.*list the features it needs"):
        flow_plan(flow)
