"""The ``list`` and ``identity`` nodes end to end: flows loaded with ``fengkong.load``, config
errors at load time, bad values at run time, and masking of personal data."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fengkong
from fengkong.errors import GraphLoadError, InputValidationError
from fengkong.fraud.identity import id_check_character
from fengkong.graph import node_kinds

ID_NUMBER = "11010519491231002X"
LISTS_CONFIG = {"lists": "../lists", "asOf": "appliedAt",
                "keys": {"id_number": "applicant.idNumber", "phone": "applicant.phone",
                         "device": "device.id", "ip": "device.ip"}}
IDENTITY_CONFIG = {"idNumber": "applicant.idNumber", "phone": "applicant.phone",
                   "bankCard": "applicant.bankCard", "name": "applicant.name",
                   "age": "applicant.age", "asOf": "appliedAt"}
APPLICATION = {"appliedAt": "2026-05-01T09:30:00+08:00",
               "applicant": {"idNumber": "110105 19491231 002x", "phone": "+86 138 1234 5678",
                             "bankCard": "4111111111111111", "name": "张伟", "age": 76},
               "device": {"id": "ABCDEF0123456789", "ip": "116.25.40.7"}}


def flow(lists: Any = None, identity: Any = None) -> dict[str, Any]:
    """Input -> list node -> identity node -> output (a node is left out when its config
    is None)."""
    nodes: list[dict[str, Any]] = [{"id": "in", "name": "Request", "type": "inputNode",
                                    "content": {}}]
    if lists is not None:
        nodes.append({"id": "l", "name": "Lists", "type": "customNode",
                      "content": {"kind": "list", "config": lists}})
    if identity is not None:
        nodes.append({"id": "i", "name": "Identity", "type": "customNode",
                      "content": {"kind": "identity", "config": identity}})
    nodes.append({"id": "out", "name": "Response", "type": "outputNode", "content": {}})
    edges = [{"id": f"e{n}", "sourceId": a["id"], "targetId": b["id"]}
             for n, (a, b) in enumerate(itertools.pairwise(nodes))]
    return {"nodes": nodes, "edges": edges}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "blacklist.csv").write_text(
        "type,value,reason,added,expires,note\n"
        f"id_number,{ID_NUMBER},L01,2025-01-02,,confirmed fraud\n"
        "phone,13812345678,L02,2024-01-01,2025-01-01,expired\n"
        "ip,116.25.40.7,L04,2026-06-01,,added after the application\n", encoding="utf-8")
    (lists / "greylist.csv").write_text("type,value,reason\ndevice,abcdef0123456789,L12\n"
                                        "phone,13812345678,L11\n", encoding="utf-8")
    (lists / "whitelist.csv").write_text("type,value\nid_number,110105194912310021\n",
                                         encoding="utf-8")
    (tmp_path / "flows").mkdir()
    return tmp_path


def load(project: Path, document: dict[str, Any]) -> Any:
    path = project / "flows" / "flow.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return fengkong.load(path)


def test_the_kinds_are_registered() -> None:
    assert {"list", "identity"} <= set(node_kinds())


def test_a_flow_checks_lists_and_identity(project: Path) -> None:
    decision = load(project, flow(LISTS_CONFIG, IDENTITY_CONFIG))
    response = decision.evaluate(APPLICATION, trace=True)
    result = response["result"]
    assert result["applicant"] == APPLICATION["applicant"]  # the input passes on
    assert result["lists"] == {
        "hit": True, "black": True, "grey": True, "white": False,
        "hits": [{"list": "blacklist", "kind": "black", "type": "id_number",
                  "value": "110***********002X", "reason": "L01", "added": "2025-01-02",
                  "expires": None},
                 {"list": "greylist", "kind": "grey", "type": "phone", "value": "138****5678",
                  "reason": "L11", "added": None, "expires": None},
                 {"list": "greylist", "kind": "grey", "type": "device",
                  "value": "abcd********6789", "reason": "L12", "added": None,
                  "expires": None}],
        "codes": ["L01", "L11", "L12"], "notGiven": []}
    assert result["identity"] == {
        "idNumberValid": True, "age": 76, "sex": "F", "province": "北京市", "phoneValid": True,
        "bankCardValid": True, "nameGiven": True, "ageMatches": True, "passed": True,
        "failed": [], "codes": []}
    assert response["trace"]["l"]["traceData"] == {
        "asOf": "2026-05-01", "checked": ["id_number", "phone", "device", "ip"], "entries": 6}
    assert response["trace"]["i"]["traceData"] == {"asOf": "2026-05-01"}
    json.dumps(response)


def test_the_application_date_decides_which_entries_hit(project: Path) -> None:
    decision = load(project, flow(LISTS_CONFIG))
    later = decision.evaluate({**APPLICATION, "appliedAt": "2026-06-01T00:30:00+08:00"})
    assert [hit["reason"] for hit in later["result"]["lists"]["hits"]] == ["L01", "L04", "L11",
                                                                            "L12"]
    # Epoch milliseconds, and 2024-06-01 when the phone was still on the black list.
    earlier = decision.evaluate({**APPLICATION, "appliedAt": 1_717_200_000_000})
    assert earlier["result"]["lists"]["codes"] == ["L02", "L11", "L12"]


def test_missing_keys_are_not_given_and_never_hit(project: Path) -> None:
    decision = load(project, flow(LISTS_CONFIG, IDENTITY_CONFIG))
    application = {"appliedAt": "2026-05-01", "applicant": {"idNumber": None, "phone": " "},
                   "device": {}}
    result = decision.evaluate(application)["result"]
    assert result["lists"] == {"hit": False, "black": False, "grey": False, "white": False,
                               "hits": [], "codes": [], "notGiven": ["id_number", "phone",
                                                                     "device", "ip"]}
    assert result["identity"]["codes"] == ["ID09", "PH01", "BC09", "NM09", "CN09"]
    assert result["identity"]["passed"] is False


def test_a_single_list_file_and_a_custom_name(project: Path) -> None:
    config = {"lists": "../lists/greylist.csv", "keys": {"phone": "applicant.phone"},
              "name": "consortium"}
    result = load(project, flow(config)).evaluate(APPLICATION)["result"]
    assert result["consortium"]["codes"] == ["L11"]


@pytest.mark.parametrize(("config", "message"), [
    ({**LISTS_CONFIG, "list": "x"},
     "unknown config entry list (known: lists, keys, asOf, name)"),
    ({**LISTS_CONFIG, "lists": "../nowhere"}, "config.lists: "),
    ({**LISTS_CONFIG, "lists": 3}, "config.lists must be the path of a lists folder"),
    ({**LISTS_CONFIG, "keys": {}}, "config.keys must be an object of key type -> expression"),
    ({**LISTS_CONFIG, "keys": {"Phone": "applicant.phone"}},
     "config.keys: key type 'Phone' must be lower-case"),
    ({**LISTS_CONFIG, "keys": {"phone": 3}}, "config.keys.phone must be an expression (text)"),
    ({**LISTS_CONFIG, "name": ""}, "config.name must be text"),
    ([], "config must be an object with 'lists' and 'keys'"),
])
def test_list_config_errors_name_the_node_and_entry(project: Path, config: Any,
                                                    message: str) -> None:
    with pytest.raises(GraphLoadError) as caught:
        load(project, flow(config))
    assert message in str(caught.value)
    assert caught.value.node_id == "l" and caught.value.node_name == "Lists"


def test_a_missing_lists_folder_says_so(project: Path) -> None:
    with pytest.raises(GraphLoadError, match=r"config.lists: .*nowhere: no such folder or file"):
        load(project, flow({**LISTS_CONFIG, "lists": "../nowhere"}))


def test_a_bad_list_file_fails_the_load_with_its_line(project: Path) -> None:
    (project / "lists" / "greylist.csv").write_text("type,value,added\nphone,1,May\n",
                                                    encoding="utf-8")
    with pytest.raises(GraphLoadError, match=r"greylist.csv:2, column 'added': bad date 'May'"):
        load(project, flow(LISTS_CONFIG))


def test_a_tokenized_list_is_refused_until_tokenization_exists(project: Path) -> None:
    (project / "lists" / "greylist.csv").write_text("# tokenized: true\ntype,value\nphone,ab\n",
                                                    encoding="utf-8")
    with pytest.raises(GraphLoadError, match="greylist is tokenized"):
        load(project, flow(LISTS_CONFIG))


def test_an_expression_error_names_the_node(project: Path) -> None:
    with pytest.raises(fengkong.errors.ExpressionSyntaxError) as caught:
        load(project, flow({**LISTS_CONFIG, "asOf": "appliedAt +"}))
    assert caught.value.node_id == "l" and caught.value.expression == "appliedAt +"


@pytest.mark.parametrize(("config", "message"), [
    ({**IDENTITY_CONFIG, "idnumber": "x"}, "unknown config entry idnumber (known: idNumber, "
                                           "phone, bankCard, name, age, birthDate, sex, asOf)"),
    ({"asOf": "appliedAt"}, "config names nothing to check"),
    ({"age": "applicant.age"}, "config.age is compared with the ID number: config.idNumber is "
                               "missing"),
    ({"idNumber": ""}, "config.idNumber must be an expression (text)"),
])
def test_identity_config_errors(project: Path, config: Any, message: str) -> None:
    with pytest.raises(GraphLoadError) as caught:
        load(project, flow(identity=config))
    assert message in str(caught.value) and caught.value.node_id == "i"


@pytest.mark.parametrize(("change", "node", "message", "field"), [
    ({"applicant": {**APPLICATION["applicant"], "phone": 13812345678}}, "l",
     "key 'phone' (applicant.phone) must be text, got a number", "applicant.phone"),
    ({"device": {"id": ["abc"]}}, "l", "key 'device' (device.id) must be text, got a list",
     "device.id"),
    ({"applicant": {**APPLICATION["applicant"], "age": "76"}}, "i",
     "age must be a whole number of years >= 0, got text (config.age: applicant.age)",
     "applicant.age"),
    ({"appliedAt": "2026-05-01T09:30:00"}, "l", "asOf (appliedAt) must be a date", "appliedAt"),
    ({"appliedAt": None}, "l", "asOf (appliedAt) must be a date", "appliedAt"),
])
def test_values_of_the_wrong_type_are_input_errors(project: Path, change: dict[str, Any],
                                                   node: str, message: str, field: str) -> None:
    decision = load(project, flow(LISTS_CONFIG, IDENTITY_CONFIG))
    with pytest.raises(InputValidationError) as caught:
        decision.evaluate({**APPLICATION, **change})
    assert message in caught.value.message
    assert caught.value.field == field and caught.value.node_id == node
    assert "13812345678" not in str(caught.value)


def test_identity_without_asof_uses_today(project: Path) -> None:
    decision = load(project, flow(identity={"idNumber": "applicant.idNumber"}))
    result = decision.evaluate(APPLICATION)["result"]["identity"]
    assert result["idNumberValid"] and result["age"] >= 76


def added_by_the_nodes(response: dict[str, Any]) -> str:
    """The JSON of everything the fraud nodes add: their results and trace data."""
    parts = [response["result"].get("lists"), response["result"].get("identity")]
    parts += [response["trace"][node]["traceData"] for node in ("l", "i")]
    return json.dumps(parts, ensure_ascii=False)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 999), st.integers(0, 10**8 - 1), st.integers(0, 10**12 - 1))
def test_keys_never_leak_unmasked(tmp_path_factory: Any, sequence: int, phone_tail: int,
                                  device: int) -> None:
    project = tmp_path_factory.mktemp("leak")
    body = f"44030519881102{sequence:03d}"
    id_number = body + id_check_character(body)
    phone = f"139{phone_tail:08d}"
    device_id = f"{device:016x}"
    (project / "lists").mkdir()
    (project / "lists" / "blacklist.csv").write_text(
        f"type,value\nid_number,{id_number}\nphone,{phone}\ndevice,{device_id}\n"
        "ip,10.1.2.3\n", encoding="utf-8")
    (project / "flows").mkdir()
    decision = load(project, flow(LISTS_CONFIG, IDENTITY_CONFIG))
    application = {"appliedAt": "2026-05-01",
                   "applicant": {"idNumber": id_number, "phone": phone, "name": "李娜",
                                 "bankCard": "6222021234567890128", "age": 37},
                   "device": {"id": device_id, "ip": "10.1.2.3"}}
    response = decision.evaluate(application, trace=True)
    assert len(response["result"]["lists"]["hits"]) == 4  # every key hit...
    added = added_by_the_nodes(response)
    for secret in (id_number, phone, device_id, "6222021234567890128", "李娜", "10.1.2.3",
                   id_number[6:14]):  # ...and neither a key nor the birth date shows
        assert secret not in added
    # At most the first 4 and the last 4 characters of a key are shown.
    for hit in response["result"]["lists"]["hits"]:
        assert len(re.sub(r"[*.]", "", hit["value"])) <= 8
