"""The features graph node on a real flow: ``examples/features/flow-with-features.json``
reads 6 of the 10,499 features of ``examples/features/credit.yaml``.

A seeded history of applications, logins and repayments over a few shared identities,
devices and IPs is ingested twice: into a store built for the flow (7 features: the 6 read,
plus the count a ratio divides by) and into a store of the whole spec. Every decision is
checked against the rules applied by hand to the values the whole-spec store computes.
"""

from __future__ import annotations

import copy
import json
import random
import time
from pathlib import Path
from typing import Any

import pytest

import fengkong
from fengkong.errors import FengkongError, GraphLoadError, InputValidationError
from fengkong.features import load_feature_set
from fengkong.features.kernels import FeaturePlan
from fengkong.features.node import compile_features_node, flow_plan
from fengkong.features.state import MemoryFeatureState
from fengkong.graph import NodeDefinition
from fengkong.graph.model import parse_graph

REPO = Path(__file__).resolve().parents[2]
FLOW = REPO / "examples" / "features" / "flow-with-features.json"
SPEC = REPO / "examples" / "features" / "credit.yaml"
DAY = 86_400_000
START = 1_767_225_600_000  # 2026-01-01T00:00:00Z
READ = {"phone.application.count.7d", "device_id.application.id_number.distinct.30d",
        "id_number.application.rejected_share.30d", "ip.login.failed.count.1h",
        "id_number.repayment.late.count.90d", "id_number.application.count.30d"}
# The ratio's numerator comes along (its denominator, count.30d, is read directly).
PLANNED = READ | {"id_number.application.rejected.count.30d"}
KEYS = {"id_number": "applicant.idNumber", "phone": "applicant.phone", "device_id": "device.id",
        "ip": "device.ip"}


def people(count: int, rng: random.Random) -> list[dict[str, str]]:
    """Identities sharing a few devices, IPs and phones, so that velocity rules fire."""
    return [{"id_number": f"ID{index:03d}", "phone": f"P{rng.randrange(count // 2):03d}",
             "device_id": f"D{rng.randrange(count // 3):03d}",
             "ip": f"10.0.0.{rng.randrange(4)}", "card": f"C{index:03d}"}
            for index in range(count)]


def history(rng: random.Random, who: list[dict[str, str]]) -> list[tuple[str, dict[str, Any]]]:
    events: list[tuple[str, dict[str, Any]]] = []
    for _ in range(400):
        person = rng.choice(who)
        at = START + rng.randrange(120 * DAY)
        kind = rng.choice(["application", "login", "login", "repayment"])
        if kind == "application":
            events.append((kind, {**person, "amount": rng.choice([800, 5000, 20000]),
                                  "term_months": rng.choice([6, 12, 24]),
                                  "monthly_income": 9000, "channel": rng.choice(["app", "h5"]),
                                  "city": "Shanghai", "approved": rng.random() < 0.6,
                                  "applied_at": at}))
        elif kind == "login":
            events.append((kind, {key: person[key] for key in ("id_number", "phone",
                                                               "device_id", "ip")}
                           | {"success": rng.random() < 0.5, "city": "Shanghai",
                              "hour": rng.randrange(24), "logged_in_at": at}))
        else:
            events.append((kind, {"id_number": person["id_number"], "phone": person["phone"],
                                  "card": person["card"], "due_amount": 1000,
                                  "paid_amount": 1000, "days_past_due": rng.choice([0, 0, 3]),
                                  "due_at": at, "paid_at": at}))
    return events


STAMPS = {"application": "applied_at", "login": "logged_in_at", "repayment": "paid_at"}
END = START + 121 * DAY  # after the whole history


def application(index: int, person: dict[str, str], at: int | str) -> dict[str, Any]:
    return {"applicationId": f"APP-{index}", "appliedAt": at,
            "applicant": {"idNumber": person["id_number"], "phone": person["phone"]},
            "device": {"id": person["device_id"], "ip": person["ip"]}}


@pytest.fixture(scope="module")
def world() -> dict[str, Any]:
    """The history replayed in time order, as the online path sees it: before each of 60
    applications, the events up to its time are ingested, then it is decided by the flow
    (with a store made for the flow, and with one of the whole spec) and its features are
    computed directly by the whole-spec store. Further applications come after it all."""
    rng = random.Random(20261125)
    spec = load_feature_set(SPEC)
    who = people(24, rng)
    events = sorted(history(rng, who), key=lambda item: item[1][STAMPS[item[0]]])
    stores = {"flow_store": MemoryFeatureState(flow_plan(FLOW)),
              "full_store": MemoryFeatureState(FeaturePlan(spec.features, spec.events))}
    decisions = {name: fengkong.load(FLOW, services={"features": store})
                 for name, store in stores.items()}
    moments = sorted(START + rng.randrange(30 * DAY, 120 * DAY) for _ in range(60))
    replayed = []
    position = 0
    for index, at in enumerate(moments):
        while position < len(events) and events[position][1][STAMPS[events[position][0]]] < at:
            kind, event = events[position]
            for store in stores.values():
                store.ingest(kind, event, event[STAMPS[kind]], f"e{position}")
            position += 1
        case = application(index, rng.choice(who), at)
        replayed.append({"application": case,
                         "direct": direct_values(stores["full_store"], case),
                         **{name: decision.evaluate(case, trace=True)
                            for name, decision in decisions.items()}})
    for kind, event in events[position:]:
        for store in stores.values():
            store.ingest(kind, event, event[STAMPS[kind]])
    later = [application(60 + index, person, END + index * 60_000)
             for index, person in enumerate(rng.choices(who, k=40))]
    return {"spec": spec, **stores, "replayed": replayed, "applications": later}


def expected_decision(values: dict[str, float | None]) -> dict[str, str]:
    """The flow's rules, applied by hand (a null never passes a comparison)."""
    def at_least(name: str, bound: float) -> bool:
        value = values[name]
        return value is not None and value >= bound

    share = values["id_number.application.rejected_share.30d"]
    if at_least("ip.login.failed.count.1h", 5):
        return {"decision": "REJECT", "reason": "failed logins from this IP in the last hour"}
    if at_least("device_id.application.id_number.distinct.30d", 3):
        return {"decision": "REJECT", "reason": "device shared by 3 or more applicants in 30 days"}
    late = values["id_number.repayment.late.count.90d"]
    if late is not None and late > 0:
        return {"decision": "REVIEW", "reason": "late repayment in the last 90 days"}
    if at_least("phone.application.count.7d", 3):
        return {"decision": "REVIEW", "reason": "3 or more applications from this phone in 7 days"}
    if (share if share is not None else 0) >= 0.5 and \
            at_least("id_number.application.count.30d", 2):
        return {"decision": "REVIEW", "reason": "most recent applications were rejected"}
    return {"decision": "APPROVE"}


def direct_values(store: MemoryFeatureState, application: dict[str, Any]
                  ) -> dict[str, float | None]:
    keys = {"id_number": application["applicant"]["idNumber"],
            "phone": application["applicant"]["phone"],
            "device_id": application["device"]["id"], "ip": application["device"]["ip"]}
    values = store.compute(keys, application["appliedAt"])
    return {name: None if value != value else value
            for name, value in zip(store.plan.names, values.tolist(), strict=True)}


def flow_document() -> dict[str, Any]:
    return json.loads(FLOW.read_text())


def load_flow(document: dict[str, Any], store: Any) -> fengkong.Decision:
    """A modified flow, loaded as if it were the example file (spec path relative to it)."""
    engine = fengkong.Engine(FLOW.parent, services={"features": store})
    return engine.create_decision(document, key=FLOW.name)


def node(document: dict[str, Any], node_id: str) -> dict[str, Any]:
    return next(item for item in document["nodes"] if item["id"] == node_id)


def test_the_plan_holds_exactly_the_features_the_flow_reads(world: dict[str, Any]) -> None:
    assert set(flow_plan(FLOW).names) == PLANNED
    graph = parse_graph(FLOW)
    content = graph.node("features").content
    compiled = compile_features_node(NodeDefinition(
        "features", "Velocity features", "features", content["config"],
        {"features": world["full_store"]}, graph, FLOW.parent))
    assert set(compiled.plan.names) == PLANNED
    assert len(world["spec"].features) == 10_499


class CountingStore(MemoryFeatureState):
    """The in-process state, noting how many features each request computes."""

    computed: list[int]

    def compute(self, keys: Any, as_of: int, plan: FeaturePlan | None = None) -> Any:
        values = super().compute(keys, as_of, plan)
        self.computed.append(len(values))
        return values


def test_a_store_of_the_whole_spec_computes_only_what_the_flow_reads(
        world: dict[str, Any]) -> None:
    spec = world["spec"]
    store = CountingStore(FeaturePlan(spec.features, spec.events))
    store.computed = []
    decision = fengkong.load(FLOW, services={"features": store})
    response = decision.evaluate(world["replayed"][-1]["application"], trace=True)
    assert set(response["trace"]["features"]["output"]["features"]) == PLANNED
    assert store.computed == [len(PLANNED)]  # 7 of 10,499


@pytest.mark.parametrize("store", ["flow_store", "full_store"])
def test_decisions_match_the_rules_on_directly_computed_features(
        world: dict[str, Any], store: str) -> None:
    outcomes = set()
    for case in world["replayed"]:
        response = case[store]
        assert response["result"] == expected_decision(case["direct"]), case["application"]
        computed = response["trace"]["features"]["output"]["features"]
        assert computed == {name: case["direct"][name] for name in PLANNED}
        outcomes.add(response["result"]["decision"])
    assert outcomes == {"APPROVE", "REVIEW", "REJECT"}  # the history exercises every rule


def test_batch_evaluation_equals_single_evaluation(world: dict[str, Any]) -> None:
    decision = fengkong.load(FLOW, services={"features": world["flow_store"]})
    batch = decision.evaluate_batch(world["applications"])
    assert batch.errors == [None] * len(world["applications"])
    assert batch.records() == [decision.evaluate(application)["result"]
                               for application in world["applications"]]


def test_the_trace_shows_the_node(world: dict[str, Any]) -> None:
    decision = fengkong.load(FLOW, services={"features": world["flow_store"]})
    application = world["applications"][0]
    entry = decision.evaluate(application, trace=True)["trace"]["features"]
    assert (entry["name"], entry["order"]) == ("Velocity features", 1)
    assert entry["traceData"] == {"asOf": application["appliedAt"], "computed": len(PLANNED),
                                  "missingKeys": []}
    # The node passes its input on and adds the features.
    assert entry["output"] == {**application, "features": entry["output"]["features"]}


def test_a_key_the_application_lacks_gives_null_features_not_zero(
        world: dict[str, Any]) -> None:
    decision = fengkong.load(FLOW, services={"features": world["flow_store"]})
    application = copy.deepcopy(world["applications"][0])
    del application["device"]["id"]
    response = decision.evaluate(application, trace=True)
    entry = response["trace"]["features"]
    assert entry["output"]["features"]["device_id.application.id_number.distinct.30d"] is None
    assert entry["traceData"]["missingKeys"] == ["device_id"]
    values = direct_values(world["full_store"], world["applications"][0])
    assert entry["output"]["features"]["phone.application.count.7d"] == \
        values["phone.application.count.7d"]


def test_as_of_takes_iso_text_and_refuses_a_time_without_offset(
        world: dict[str, Any]) -> None:
    decision = fengkong.load(FLOW, services={"features": world["flow_store"]})
    application = world["applications"][1]
    as_epoch = decision.evaluate(application, trace=True)["trace"]["features"]
    iso = {**application, "appliedAt": "2026-05-02T08:00:00+08:00"}
    epoch = {**application, "appliedAt": END}
    assert decision.evaluate(iso)["result"] == decision.evaluate(epoch)["result"]
    assert as_epoch["traceData"]["asOf"] == application["appliedAt"]
    with pytest.raises(InputValidationError, match="with an offset") as error:
        decision.evaluate({**application, "appliedAt": "2026-05-02T08:00:00"})
    assert error.value.node_id == "features"
    with pytest.raises(InputValidationError, match="asOf"):
        decision.evaluate({key: value for key, value in application.items()
                           if key != "appliedAt"})


def test_without_as_of_the_features_are_computed_now(world: dict[str, Any]) -> None:
    document = flow_document()
    del node(document, "features")["content"]["config"]["asOf"]
    decision = load_flow(document, world["flow_store"])
    entry = decision.evaluate(world["applications"][0], trace=True)["trace"]["features"]
    assert abs(entry["traceData"]["asOf"] - time.time() * 1000) < 60_000


def test_a_missing_store_is_a_load_error() -> None:
    with pytest.raises(GraphLoadError, match="no feature store") as error:
        fengkong.load(FLOW)
    assert (error.value.node_id, error.value.node_name) == ("features", "Velocity features")


def test_a_store_without_the_flows_features_is_a_load_error() -> None:
    spec = load_feature_set(SPEC)
    small = spec.select(["phone.application.count.7d"])
    store = MemoryFeatureState(FeaturePlan(small.features, small.events))
    with pytest.raises(GraphLoadError, match="does not compute 6 of the features"):
        fengkong.load(FLOW, services={"features": store})


def test_an_unknown_feature_is_a_load_error_naming_the_node_and_close_names(
        world: dict[str, Any]) -> None:
    document = flow_document()
    node(document, "signals")["content"]["expressions"][0]["value"] = \
        'features["phone.aplication.count.7d"]'
    with pytest.raises(GraphLoadError) as error:
        load_flow(document, world["flow_store"])
    message = str(error.value)
    assert "'Velocity signals' (node 'signals')" in message
    assert "'phone.aplication.count.7d'" in message
    assert "did you mean 'phone.application.count.7d'" in message
    assert error.value.node_id == "features"


def test_a_dotted_path_spelling_gets_a_hint_to_use_brackets(world: dict[str, Any]) -> None:
    document = flow_document()
    rules = node(document, "rules")["content"]
    rules["rules"][4]["rejected"] = "features.id_number.application.first_loan_large > 0"
    with pytest.raises(GraphLoadError, match=r"write the whole name in brackets"):
        load_flow(document, world["flow_store"])


def test_a_dynamic_read_needs_the_features_listed(world: dict[str, Any]) -> None:
    document = flow_document()
    node(document, "signals")["content"]["expressions"].append(
        {"id": "s4", "key": "signals.any", "value": "features['phone.application.' + kind]"})
    with pytest.raises(GraphLoadError, match=r"list the features it needs in config\.features"):
        load_flow(document, world["flow_store"])
    node(document, "features")["content"]["config"]["features"] = \
        ["phone.application.count.1d", "phone.application.count.3*"]
    store = world["full_store"]
    decision = load_flow(document, store)
    application = {**world["applications"][2], "kind": "count.1d"}
    result = decision.evaluate(application, trace=True)
    features = result["trace"]["features"]["output"]["features"]
    assert set(features) == PLANNED | {"phone.application.count.1d",
                                       "phone.application.count.3d",
                                       "phone.application.count.30d",
                                       "phone.application.count.365d"}
    assert features["phone.application.count.1d"] == \
        direct_values(store, application)["phone.application.count.1d"]
    node(document, "features")["content"]["config"]["features"] = ["phone.nothing.*"]
    with pytest.raises(GraphLoadError, match=r"config\.features reads feature 'phone\.nothing"):
        load_flow(document, store)


def test_reads_are_found_in_switches_functions_sub_decisions_and_other_spellings(
        world: dict[str, Any]) -> None:
    sub = {"nodes": [
        {"id": "in", "name": "In", "type": "inputNode"},
        {"id": "calc", "name": "Calc", "type": "expressionNode", "content": {"expressions": [
            {"id": "1", "key": "lifetime", "value": 'features["card.application.count.lifetime"]'}
        ]}},
        {"id": "out", "name": "Out", "type": "outputNode"}],
        "edges": [{"id": "1", "sourceId": "in", "targetId": "calc"},
                  {"id": "2", "sourceId": "calc", "targetId": "out"}]}
    function = ("export const handler = async (input) => ({ ips: "
                "input.features['ip.application.count.1d'] });")
    flow = {"nodes": [
        {"id": "in", "name": "In", "type": "inputNode"},
        {"id": "f", "name": "Features", "type": "customNode", "content": {
            "kind": "features", "config": {"spec": str(SPEC), "asOf": "at",
                                           "keys": {"phone": "phone", "ip": "ip", "card": "card"}}}},
        {"id": "switch", "name": "Route", "type": "switchNode", "content": {"statements": [
            {"id": "busy", "condition": '$root.features["phone.application.count.1d"] > 1'},
            {"id": "quiet", "condition": ""}]}},
        {"id": "js", "name": "Script", "type": "functionNode", "content": {"source": function}},
        {"id": "sub", "name": "Card history", "type": "decisionNode",
         "content": {"key": "sub.json"}},
        {"id": "late", "name": "Late", "type": "expressionNode", "content": {"expressions": [
            {"id": "1", "key": "x", "value": '$nodes.Features.features["phone.application.count.7d"]'}
        ]}},
        {"id": "out", "name": "Out", "type": "outputNode"}],
        "edges": [{"id": "1", "sourceId": "in", "targetId": "f"},
                  {"id": "2", "sourceId": "f", "targetId": "switch"},
                  {"id": "3", "sourceId": "switch", "targetId": "js", "sourceHandle": "busy"},
                  {"id": "4", "sourceId": "switch", "targetId": "sub", "sourceHandle": "quiet"},
                  {"id": "5", "sourceId": "js", "targetId": "late"},
                  {"id": "6", "sourceId": "sub", "targetId": "late"},
                  {"id": "7", "sourceId": "late", "targetId": "out"}]}
    engine = fengkong.Engine({"flow.json": flow, "sub.json": sub},
                             services={"features": world["full_store"]})
    decision = engine.get_decision("flow.json")
    application = {"phone": "P001", "ip": "10.0.0.1", "card": "C001", "at": END}
    features = decision.evaluate(application, trace=True)["trace"]["f"]["output"]["features"]
    assert set(features) == {"phone.application.count.1d", "ip.application.count.1d",
                             "card.application.count.lifetime", "phone.application.count.7d"}


def test_a_bad_config_is_a_load_error(world: dict[str, Any]) -> None:
    store = {"features": world["flow_store"]}
    cases: list[tuple[Any, str]] = [
        (None, "config must be an object"),
        ({"keys": {}}, "config.spec is missing"),
        ({"spec": "no-such.yaml", "keys": {}}, "no such feature spec"),
        ({"spec": "credit.yaml", "keys": {}, "asof": "x"}, "unknown config entry asof"),
        ({"spec": "credit.yaml", "keys": {"phone": "applicant.phone"}},
         "no expression for device_id, id_number, ip"),
        ({"spec": "credit.yaml", "keys": {}, "features": "phone.*"},
         "must be a list of feature names or patterns"),
        ({"spec": "credit.yaml", "keys": KEYS, "asOf": 5}, "asOf must be an expression"),
        ({"spec": "credit.yaml", "keys": {"mobile": "x"}}, "'mobile' is not an entity key"),
    ]
    for config, message in cases:
        document = flow_document()
        node(document, "features")["content"]["config"] = config
        with pytest.raises(FengkongError, match=message):
            fengkong.Engine(FLOW.parent, services=store).create_decision(document,
                                                                       key=FLOW.name)


def test_a_node_whose_features_nobody_reads_is_a_load_error(world: dict[str, Any]) -> None:
    document = flow_document()
    document["edges"] = [{"id": "1", "sourceId": "application", "targetId": "features"},
                         {"id": "2", "sourceId": "features", "targetId": "decision"}]
    document["nodes"] = [item for item in document["nodes"]
                         if item["id"] in ("application", "features", "decision")]
    with pytest.raises(GraphLoadError, match="no node after the features node reads"):
        load_flow(document, world["flow_store"])


def test_a_number_for_a_text_key_is_refused(world: dict[str, Any]) -> None:
    decision = fengkong.load(FLOW, services={"features": world["flow_store"]})
    application = copy.deepcopy(world["applications"][0])
    application["applicant"]["phone"] = 13800000001
    with pytest.raises(InputValidationError, match="entity key 'phone'") as error:
        decision.evaluate(application)
    assert error.value.field == "applicant.phone"
