"""Zen's merge rules, and that merging never changes the values merged."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from fengkong.graph.merge import insert_path, merge, merge_all, merge_inputs, nest


@pytest.mark.parametrize(("document", "patch", "merged"), [
    ({"a": 1, "b": {"c": 1, "d": 2}}, {"a": None, "b": {"c": None, "e": 3}},
     {"b": {"d": 2, "e": 3}}),
    ({"a": 1}, [1, 2], [1, 2]),            # an array patch replaces the document
    ({"a": 1}, 5, {"a": 1}),               # a scalar patch is ignored
    ({"a": 1}, None, {"a": 1}),
    ([1], {"a": 1}, {"a": 1}),             # an object replaces an array
    ({"a": [1, 2]}, {"a": [3]}, {"a": [3]}),
    ({"a": {"x": 1}}, {"a": 2}, {"a": 2}),
    ({}, {"new": {"n": None}}, {"new": {"n": None}}),  # nulls inside new keys stay
])
def test_merge(document: Any, patch: Any, merged: Any) -> None:
    before = copy.deepcopy((document, patch))
    assert merge(document, patch) == merged
    assert (document, patch) == before


def test_merge_inputs_takes_the_first_as_it_is() -> None:
    first = {"a": None, "b": 1}
    assert merge_inputs([first]) is first
    assert merge_inputs([None, {"a": 1, "n": None}]) == {"a": 1}
    assert merge_inputs([{"k": None}, {"b": 2}]) == {"k": None, "b": 2}


def test_merge_all_drops_top_level_nulls() -> None:
    assert merge_all([{"a": None, "b": {"c": None}}]) == {"b": {"c": None}}
    assert merge_all([]) == {}


def test_insert_path_copies_objects_it_writes_into() -> None:
    shared = {"x": 1}
    target: dict[str, Any] = {"limit": shared}
    insert_path(target, ("limit", "amount"), 5)
    assert target == {"limit": {"x": 1, "amount": 5}}
    assert shared == {"x": 1}
    insert_path(target, ("limit", "amount", "deeper"), 6)  # 5 is not an object: skipped
    assert target["limit"]["amount"] == 5
    insert_path(target, ("a", "b", "c"), None)
    assert target["a"] == {"b": {"c": None}}


def test_nest() -> None:
    assert nest(("risk", "band"), "A") == {"risk": {"band": "A"}}
