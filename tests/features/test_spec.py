"""Feature specs: template expansion, stable names, the Python form, and every load error."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path
from textwrap import dedent

import pytest
import yaml

from fengkong.errors import FengkongError
from fengkong.features import (
    EventValidationError,
    FeatureSet,
    FeatureSpec,
    FeatureSpecError,
    format_feature_table,
    list_features,
    load_feature_set,
    load_project,
    parse_window,
)

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "features" / "credit.yaml"

# A small spec the error cases below break one line at a time.
BASE = dedent("""\
    keys: [phone, device_id]
    events:
      application:
        timestamp: applied_at
        fields: {phone: string, device_id: string, amount: number, channel: string,
                 approved: bool}
      login:
        timestamp: logged_in_at
        fields: {phone: string, success: bool}
    """)


def load(text: str) -> FeatureSet:
    return load_feature_set(BASE + dedent(text))


def test_the_example_declares_ten_thousand_features_in_under_a_hundred_lines() -> None:
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    started = time.perf_counter()
    feature_set = load_feature_set(EXAMPLE)
    elapsed = time.perf_counter() - started
    assert len(lines) < 100
    assert len(feature_set.features) >= 10_000
    assert elapsed < 1.0
    names = feature_set.by_name()
    assert len(names) == len(feature_set.features)
    assert names["phone.application.amount.sum.7d"].aggregation == "sum"
    assert names["phone.application.large.count.7d"].filter == "amount >= 10000"
    assert names["card.repayment.paid_share.365d"].numerator == \
        "card.repayment.paid_amount.sum.365d"


def test_names_are_stable_and_readable() -> None:
    first = [feature.name for feature in load_feature_set(EXAMPLE).features]
    second = [feature.name for feature in load_feature_set(EXAMPLE).features]
    assert first == second
    assert first[:3] == ["id_number.application.count.10m", "id_number.application.count.1h",
                         "id_number.application.count.1d"]


def test_template_crosses_every_dimension_in_order() -> None:
    feature_set = load("""\
        templates:
          - keys: [phone, device_id]
            events: [application]
            filters: {all: null, large: "amount >= 10000"}
            fields: [amount]
            aggregations: [count, sum, distinct(channel)]
            windows: [1h, 7d, lifetime]
        """)
    names = [feature.name for feature in feature_set.features]
    assert len(names) == 2 * 2 * 3 * 3
    assert names[:6] == [
        "phone.application.count.1h", "phone.application.count.7d",
        "phone.application.count.lifetime", "phone.application.amount.sum.1h",
        "phone.application.amount.sum.7d", "phone.application.amount.sum.lifetime",
    ]
    assert "device_id.application.large.channel.distinct.7d" in names
    feature = feature_set.by_name()["phone.application.large.amount.sum.7d"]
    assert (feature.key, feature.event, feature.aggregation, feature.field, feature.filter) == \
        ("phone", "application", "sum", "amount", "amount >= 10000")
    assert feature.window.milliseconds == 7 * 24 * 3600 * 1000
    assert feature.description == ("Sum of amount over application events with the same phone "
                                   "where amount >= 10000, in the last 7 days")


def test_ratios_take_key_event_and_window_from_the_numerator() -> None:
    feature_set = load("""\
        templates:
          - keys: [phone]
            events: [application]
            filters: {all: null, large: "amount >= 10000"}
            aggregations: [count]
            windows: [7d, 90d]
          - keys: [phone]
            events: [application]
            windows: [7d]
            ratios: {large_share: [large.count, count]}
          - keys: [phone]
            events: [application]
            ratios: {acceleration: [count.7d, count.90d]}
        features:
          - name: large_share_acceleration
            numerator: phone.application.large_share.7d
            denominator: phone.application.acceleration
        """)
    names = feature_set.by_name()
    share = names["phone.application.large_share.7d"]
    assert (share.aggregation, share.numerator, share.denominator, share.window.name) == \
        ("ratio", "phone.application.large.count.7d", "phone.application.count.7d", "7d")
    assert names["phone.application.acceleration"].window.name == "7d"
    assert names["large_share_acceleration"].key == "phone"


def test_select_closes_over_ratio_operands_in_set_order() -> None:
    feature_set = load_feature_set(EXAMPLE)
    chosen = feature_set.select(["phone.application.amount_per_income.30d",
                                 "phone.application.count.7d"])
    assert [feature.name for feature in chosen.features] == [
        "phone.application.count.7d",
        "phone.application.amount.sum.30d",
        "phone.application.monthly_income.sum.30d",
        "phone.application.amount_per_income.30d",
    ]
    assert chosen.events == feature_set.events
    with pytest.raises(FeatureSpecError, match="unknown feature 'nope'"):
        feature_set.select(["nope"])


def test_a_python_dict_gives_the_same_feature_set() -> None:
    document = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    assert load_feature_set(document) == load_feature_set(EXAMPLE)


def test_the_python_dict_errors_name_the_key_path() -> None:
    document = yaml.safe_load(BASE)
    document["templates"] = [{"keys": ["phone"], "events": ["application"],
                              "aggregations": ["sum(channel)"], "windows": ["7d"]}]
    with pytest.raises(FeatureSpecError) as raised:
        load_feature_set(document)
    assert str(raised.value).startswith("templates[0].aggregations[0]: cannot sum field "
                                        "'channel'")
    assert raised.value.field == "templates[0].aggregations[0]"


def test_list_features_and_the_table(tmp_path: Path) -> None:
    project = tmp_path / "strategy"
    (project / "features").mkdir(parents=True)
    (project / "features" / "events.yaml").write_text(BASE, encoding="utf-8")
    (project / "features" / "velocity.yaml").write_text(dedent("""\
        templates:
          - keys: [phone]
            events: [login]
            aggregations: [count]
            windows: [1h]
        """), encoding="utf-8")
    infos = list_features(project)
    assert [info.name for info in infos] == ["phone.login.count.1h"]
    assert infos[0].source.endswith("velocity.yaml:4:20")
    assert format_feature_table(infos).splitlines() == [
        "NAME                  DESCRIPTION",
        "phone.login.count.1h  Number of login events with the same phone, in the last hour",
        "1 feature",
    ]
    assert len(list_features(EXAMPLE)) == len(load_project(EXAMPLE).features)


def test_windows() -> None:
    assert parse_window("10m").milliseconds == 600_000
    assert parse_window("1y").milliseconds == 365 * 86_400_000
    assert parse_window("lifetime").milliseconds is None
    assert parse_window("90d").phrase == "in the last 90 days"
    for bad in ("7x", "07d", "0d", "400d", "7 d", ""):
        with pytest.raises(ValueError):
            parse_window(bad)


# Each case: the spec text appended to BASE (whose last line is 9), the expected message
# fragment, and the line the error must name.
ERRORS = [
    ("templates:\n  - keys: [phone]\n    events: [application\n",
     "not valid YAML", 13),
    ("templates:\n  - keys: [phone]\n    events: [applications]\n"
     "    aggregations: [count]\n    windows: [1d]\n",
     "unknown event type 'applications' (known: application, login)", 12),
    ("templates:\n  - keys: [phone]\n    events: [application]\n"
     "    aggregations: [sum(amout)]\n    windows: [1d]\n",
     "unknown field 'amout' of event type 'application'", 13),
    ("templates:\n  - keys: [device_id]\n    events: [login]\n"
     "    aggregations: [count]\n    windows: [1d]\n",
     "event type 'login' has no field 'device_id' for the entity key", 11),
    ("templates:\n  - keys: [ip]\n    events: [login]\n"
     "    aggregations: [count]\n    windows: [1d]\n",
     "unknown entity key 'ip' (declared keys: phone, device_id)", 11),
    ("templates:\n  - keys: [phone]\n    events: [application]\n"
     "    aggregations: [count, sum(channel)]\n    windows: [1d]\n",
     "cannot sum field 'channel' of 'application': it is a string field", 13),
    ("templates:\n  - keys: [phone]\n    events: [application]\n"
     "    aggregations: [median(amount)]\n    windows: [1d]\n",
     "unknown aggregation 'median(amount)'", 13),
    ("templates:\n  - keys: [phone]\n    events: [application]\n"
     "    aggregations: [count]\n    windows: [1d, 7x]\n",
     "bad window '7x'", 14),
    ("templates:\n  - keys: [phone]\n    events: [application]\n"
     "    aggregations: [sum]\n    windows: [1d]\n",
     "aggregation 'sum' needs a field", 13),
    ("templates:\n  - keys: [phone]\n    events: [application]\n"
     "    filters: {big: 'amount >= '}\n    aggregations: [count]\n    windows: [1d]\n",
     "filter does not parse: unexpected end of expression", 13),
    ("templates:\n  - keys: [phone]\n    events: [application]\n"
     "    filters: {big: 'amont >= 10'}\n    aggregations: [count]\n    windows: [1d]\n",
     "filter refers to unknown field 'amont' of event type 'application'", 13),
    ("templates:\n  - keys: [phone]\n    events: [application]\n"
     "    filters: {amount: 'amount > 1'}\n    aggregations: [count]\n    windows: [1d]\n",
     "filter name 'amount' is also a field of 'application'", 13),
    ("features:\n  - {name: c, key: phone, event: application, aggregation: count, window: 1d}\n"
     "  - name: r\n    numerator: c\n    denominator: nope\n",
     "ratio 'r' has unknown denominator 'nope'", 12),
    ("features:\n  - {name: a, numerator: b, denominator: b}\n"
     "  - {name: b, numerator: a, denominator: a}\n",
     "ratio cycle: a -> b -> a", 11),
    ("templates:\n  - keys: [phone]\n    events: [application]\n"
     "    aggregations: [count]\n    windows: [1d]\n"
     "  - keys: [phone]\n    events: [application]\n"
     "    aggregations: [count]\n    windows: [7d, 1d]\n",
     "duplicate feature name 'phone.application.count.1d' (first declared at <spec>:13:", 17),
    ("features:\n  - {key: phone, event: application, aggregation: count, window: 1d,\n"
     "     colour: red}\n",
     "unknown entry 'colour' in a feature", 12),
    ("features:\n  - {key: phone, event: application, aggregation: count, window: 1d,\n"
     "     filter: 'amount > 1'}\n",
     "a filtered feature needs a 'name' or a 'filter_name'", 12),
    ("features:\n  - {name: 'large loans', key: phone, event: application,\n"
     "     aggregation: count, window: 1d}\n",
     "feature name 'large loans' must be letters, digits, _, - and dots", 11),
    ("templates:\n  - keys: [phone]\n    events: [application]\n"
     "    windows: [1d]\n    ratios: {count: [count, count]}\n",
     "ratio name 'count' must be a name of letters, digits and _ that is not an aggregation",
     14),
    ("features:\n  - {key: phone, event: application, aggregation: count, window: 1d,\n"
     "     filter: 'amount > 1', filter_name: channel}\n",
     "filter name 'channel' is also a field of 'application'", 12),
    ("bogus: 1\n", "unknown entry 'bogus' in a feature spec", 10),
    ("events:\n  application:\n    timestamp: at\n", "duplicate key 'events'", 10),
]


@pytest.mark.parametrize(("text", "message", "line"), ERRORS, ids=[m for _, m, _ in ERRORS])
def test_errors_name_the_spec_line(text: str, message: str, line: int) -> None:
    with pytest.raises(FeatureSpecError) as raised:
        load_feature_set(BASE + text)
    error = raised.value
    assert isinstance(error, FengkongError)
    assert error.kind == "feature_spec"
    assert message in str(error)
    assert str(error).startswith(f"<spec>:{line}:")


def test_a_filter_error_carries_the_expression_position() -> None:
    with pytest.raises(FeatureSpecError) as raised:
        load("""\
            templates:
              - keys: [phone]
                events: [application]
                filters: {big: "approved and amont > 1"}
                aggregations: [count]
                windows: [1d]
            """)
    assert raised.value.expression == "approved and amont > 1"
    assert raised.value.position == 13
    assert raised.value.to_dict()["type"] == "feature_spec"


def test_events_check_their_declarations() -> None:
    with pytest.raises(FeatureSpecError, match="has unknown type 'decimal'"):
        load_feature_set("events:\n  a:\n    timestamp: at\n    fields: {x: decimal}\n")
    with pytest.raises(FeatureSpecError, match="timestamp field 'at' of 'a' is declared as "
                                               "number"):
        load_feature_set("events:\n  a:\n    timestamp: at\n    fields: {at: number}\n")
    with pytest.raises(FeatureSpecError, match="cannot read feature spec"):
        load_feature_set(REPO / "no-such-spec.yaml")


def test_the_python_builder_gives_the_same_feature_set_as_yaml() -> None:
    from_yaml = load("""\
        templates:
          - keys: [phone, device_id]
            events: [application]
            filters: {all: null, large: "amount >= 10000"}
            aggregations: [count, sum(amount), distinct(channel), time_since_last]
            windows: [1h, 30d, lifetime]
        features:
          - {name: phone.application.large_share.30d,
             numerator: phone.application.large.count.30d,
             denominator: phone.application.count.30d}
          - {key: phone, event: login, aggregation: count, window: 7d,
             filter: "not success", filter_name: failed}
        """)
    spec = (FeatureSpec()
            .keys("phone", "device_id")
            .event("application", timestamp="applied_at",
                   fields={"phone": "string", "device_id": "string", "amount": "number",
                           "channel": "string", "approved": "bool"})
            .event("login", timestamp="logged_in_at", fields={"phone": "string",
                                                             "success": "bool"})
            .template(keys=["phone", "device_id"], events=["application"],
                      filters={"all": None, "large": "amount >= 10000"},
                      aggregations=["count", "sum(amount)", "distinct(channel)",
                                    "time_since_last"],
                      windows=["1h", "30d", "lifetime"])
            .ratio("phone.application.large_share.30d", "phone.application.large.count.30d",
                   "phone.application.count.30d")
            .feature(key="phone", event="login", aggregation="count", window="7d",
                     filter="not success", filter_name="failed"))
    from_python = spec.build()
    assert from_python == from_yaml
    assert from_python.features[-1].name == "phone.login.failed.count.7d"


def test_the_python_builder_errors_name_the_declaration() -> None:
    spec = (FeatureSpec().keys("phone")
            .event("login", timestamp="at", fields={"phone": "string"})
            .template(keys=["phone"], events=["login"], aggregations=["count"], windows=["1d"])
            .template(keys=["phone"], events=["login"], aggregations=["count"],
                      windows=["7d", "7x"]))
    with pytest.raises(FeatureSpecError, match=r"^templates\[1\]\.windows\[1\]: bad window"):
        spec.build()


def test_events_are_validated_before_they_reach_the_state() -> None:
    feature_set = load_feature_set(BASE)
    event = {"phone": "13800000000", "device_id": None, "amount": 5000, "channel": "app",
             "approved": True, "applied_at": "2026-05-01T09:30:00+08:00"}
    record, timestamp = feature_set.validate_event("application", event)
    assert timestamp == 1_777_599_000_000 == record["applied_at"]
    assert feature_set.validate_event("login", {"phone": "1", "logged_in_at": 5})[1] == 5
    assert feature_set.validate_event("login", {"phone": "1",
                                                "logged_in_at": Decimal("7")})[1] == 7
    bad = [
        ("loan", event, "unknown event type 'loan'"),
        ("application", [1], "must be an object"),
        ("application", {**event, "colour": "red"}, "unknown field 'colour'"),
        ("application", {k: v for k, v in event.items() if k != "phone"},
         "'application' event has no entity key 'phone'"),
        ("application", {**event, "applied_at": "yesterday"}, "timestamp 'applied_at'"),
        ("application", {**event, "applied_at": "2026-05-01T09:30:00"}, "with a UTC offset"),
        ("application", {**event, "applied_at": None}, "has no timestamp 'applied_at'"),
        ("application", {**event, "amount": "5000"}, "field 'amount' of a 'application' event "
                                                     "must be a number, not '5000'"),
        ("application", {**event, "amount": True}, "must be a number"),
        ("application", {**event, "approved": 1}, "must be a bool"),
        ("application", {**event, "applied_at": Decimal("1.5")}, "epoch milliseconds"),
        ("application", {**event, "amount": float("nan")}, "must be a number"),
        ("application", {**event, "phone": 138}, "must be a string"),
    ]
    for event_type, payload, message in bad:
        with pytest.raises(EventValidationError) as raised:
            feature_set.validate_event(event_type, payload)
        assert message in str(raised.value)
        assert raised.value.kind == "event_validation"


def test_spec_version_and_listing_errors(tmp_path: Path) -> None:
    with pytest.raises(FeatureSpecError, match=r"^<spec>:1:10: unknown spec version 2"):
        load_feature_set("version: 2\n")
    assert load_feature_set("version: 1\n").features == ()
    with pytest.raises(FeatureSpecError, match="no such feature spec or project"):
        list_features(tmp_path / "missing")
    with pytest.raises(FeatureSpecError, match=r"no feature specs \(\*\.yaml\)"):
        list_features(tmp_path)


def test_feature_info_as_json() -> None:
    info = next(info for info in list_features(EXAMPLE)
                if info.name == "phone.login.failure_rate.1d")
    assert info.to_dict() == {
        "name": "phone.login.failure_rate.1d", "key": "phone", "event": "login",
        "aggregation": "ratio", "field": None, "window": "1d", "window_ms": 86_400_000,
        "filter": None, "numerator": "phone.login.failed.count.1d",
        "denominator": "phone.login.count.1d",
        "description": "phone.login.failed.count.1d divided by phone.login.count.1d",
        "source": info.source,
    }
    assert info.source.startswith(str(EXAMPLE) + ":")


def test_ratio_chains_resolve_or_fail_cleanly() -> None:
    def chain(depth: int) -> dict[str, object]:
        document = yaml.safe_load(BASE)
        document["features"] = [{"key": "phone", "event": "login", "aggregation": "count",
                                 "window": "1d", "name": "r0"}]
        # Declared deepest first, so that resolving the first ratio walks the whole chain.
        document["features"] += [{"name": f"r{i}", "numerator": f"r{i - 1}",
                                  "denominator": "r0"} for i in reversed(range(1, depth))]
        return document

    assert load_feature_set(chain(50)).by_name()["r49"].window.name == "1d"
    with pytest.raises(FeatureSpecError, match="nested too deeply"):
        load_feature_set(chain(5000))


def test_the_spec_in_the_documentation_loads() -> None:
    text = (REPO / "docs" / "features.md").read_text(encoding="utf-8")
    example = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    names = load_feature_set(example).by_name()
    assert names["phone.login.failure_rate.1d"].numerator == "phone.login.failed.count.1d"
    assert "phone.login.failed_at_night.count.30d" in names
    assert len(names) == 5 * 2 * (1 + 2 * 3 + 2) * 7 + 2 * 2 * 2 * 3 + 2
