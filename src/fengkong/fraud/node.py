"""The ``list`` and ``identity`` graph nodes: list hits and identity checks inside a flow.

JDM::

    {"type": "customNode", "content": {"kind": "list", "config": {
        "lists": "../lists",
        "keys": {"id_number": "applicant.idNumber", "phone": "applicant.phone",
                 "device": "device.id", "ip": "device.ip"},
        "asOf": "appliedAt",
        "name": "lists"}}}

* ``lists``: a folder of list CSV files or one file, relative to the graph's file (else to
  the working directory), loaded and checked when the graph loads
  (:mod:`fengkong.fraud.lists`).
* ``keys``: key type -> ZEN expression giving the application's key. A type no list holds
  is allowed (the lists may gain it later); it never hits.
* ``asOf`` (optional): the application's time — a date, ISO 8601 time with an offset or
  epoch milliseconds, read as a Beijing date; entries hit from their ``added`` to their
  ``expires`` date. Without it, today in Beijing.
* ``name`` (optional, default ``lists``): the field the result goes to.

It adds ``lists = {"hit", "black", "grey", "white", "hits": [{"list", "kind", "type",
"value", "reason", "added", "expires"}], "codes", "notGiven"}``: ``value`` is masked,
``codes`` the hits' distinct reasons (black first), ``notGiven`` the key types whose value
was null, absent or empty (they cannot hit).

::

    {"type": "customNode", "content": {"kind": "identity", "config": {
        "idNumber": "applicant.idNumber", "phone": "applicant.phone",
        "bankCard": "applicant.bankCard", "name": "applicant.name",
        "age": "applicant.age", "birthDate": "applicant.birthDate", "sex": "applicant.sex",
        "asOf": "appliedAt"}}}

Every entry but ``asOf`` is optional and turns on its check (``age``, ``birthDate`` and
``sex`` are compared with the ID number, so they need ``idNumber``). It adds ``identity``:
:func:`fengkong.fraud.identity.check_identity`'s result.

Both nodes pass their input on. Config mistakes fail the graph's load naming the node and
the entry; a value of the wrong type at run time is an :class:`InputValidationError` whose
``field`` is the expression that gave it. Keys are personal data: the nodes' output and
trace hold them masked or not at all. The graph registry imports this module (registering
both kinds) the first time a flow uses one. See ``docs/fraud-lists-identity.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from fengkong.errors import FengkongError, InputValidationError
from fengkong.expr import CompiledExpression
from fengkong.expr.values import to_json
from fengkong.fraud.identity import CHECKS, DECLARED, check_identity
from fengkong.fraud.keys import mask, normaliser
from fengkong.fraud.lists import KINDS, ListEntry, ListIndex, load_lists
from fengkong.graph.registry import (
    NodeDefinition,
    NodeResult,
    object_input,
    register_node_kind,
)

LISTS = "lists"  # the default field of the list node's result
IDENTITY = "identity"  # the identity node's field
_LIST_CONFIG = ("lists", "keys", "asOf", "name")
_IDENTITY_CONFIG = (*CHECKS, "asOf")
_KIND_ORDER = {kind: position for position, kind in enumerate(KINDS)}
# Lists and ages are kept by Beijing calendar dates: an application at 00:30 on 1 May in
# Beijing (still 30 April in UTC) is checked against the lists of 1 May.
_BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")


class ListNode:
    """A compiled list node: normalises each key, looks it up, reports masked hits."""

    def __init__(self, index: ListIndex, keys: Mapping[str, CompiledExpression],
                 as_of: CompiledExpression | None, name: str) -> None:
        self.index = index
        self.name = name
        self.as_of = as_of
        # Per key: its type, normaliser, expression and the index's entries of that type
        # (empty for a type no list holds), resolved once here rather than per call.
        self.keys: list[tuple[str, Callable[[str], str], CompiledExpression,
                              Mapping[str, tuple[ListEntry, ...]]]] = [
            (key_type, normaliser(key_type), expression, index.by_type.get(key_type, {}))
            for key_type, expression in keys.items()]
        self.checked = list(keys)
        self.entries = len(index)

    def __call__(self, node_input: Any) -> NodeResult:
        object_input(node_input, "the list node")
        on = _as_of(self.as_of, node_input)
        found: list[tuple[ListEntry, str]] = []
        not_given: list[str] = []
        for key_type, normalise, expression, listed in self.keys:
            value = expression(node_input)
            if value is None:
                not_given.append(key_type)
                continue
            if type(value) is not str:
                raise InputValidationError(
                    f"key {key_type!r} ({expression.source}) must be text, got "
                    f"{_type_name(value)}", field=expression.source)
            canonical = normalise(value)
            if not canonical:
                not_given.append(key_type)
                continue
            entries = listed.get(canonical)
            if entries is not None:
                found.extend((entry, canonical) for entry in entries if entry.in_force(on))
        trace = {"asOf": on.isoformat(), "checked": [*self.checked], "entries": self.entries}
        if not found:  # most applications: no list holds any of their keys
            return NodeResult({**node_input, self.name: {
                "hit": False, "black": False, "grey": False, "white": False, "hits": [],
                "codes": [], "notGiven": not_given}}, trace)
        found.sort(key=lambda item: _KIND_ORDER[item[0].kind])  # stable: key order within
        kinds = {entry.kind for entry, _ in found}
        result = {"hit": True, "black": "black" in kinds, "grey": "grey" in kinds,
                  "white": "white" in kinds,
                  "hits": [_hit(entry, canonical) for entry, canonical in found],
                  "codes": list(dict.fromkeys(entry.reason for entry, _ in found
                                              if entry.reason)),
                  "notGiven": not_given}
        return NodeResult({**node_input, self.name: result}, trace)


class IdentityNode:
    """A compiled identity node: evaluates the configured inputs and checks them."""

    def __init__(self, inputs: Mapping[str, CompiledExpression],
                 as_of: CompiledExpression | None) -> None:
        self.inputs = dict(inputs)
        self.as_of = as_of

    def __call__(self, node_input: Any) -> NodeResult:
        object_input(node_input, "the identity node")
        on = _as_of(self.as_of, node_input)
        values = {check: to_json(expression(node_input))
                  for check, expression in self.inputs.items()}
        try:
            result = check_identity(values, on)
        except InputValidationError as error:
            # Name the expression that gave the value, as the application knows it.
            expression = self.inputs[error.field or ""]
            raise InputValidationError(f"{error.message} (config.{error.field}: "
                                       f"{expression.source})", field=expression.source
                                       ) from None
        return NodeResult({**node_input, IDENTITY: result}, {"asOf": on.isoformat()})


def _hit(entry: ListEntry, canonical: str) -> dict[str, Any]:
    # The application's key, masked: a tokenized list's entry holds a token, not the key.
    return {"list": entry.list, "kind": entry.kind, "type": entry.type,
            "value": mask(entry.type, canonical), "reason": entry.reason,
            "added": None if entry.added is None else entry.added.isoformat(),
            "expires": None if entry.expires is None else entry.expires.isoformat()}


def _as_of(expression: CompiledExpression | None, node_input: dict[str, Any]) -> date:
    """The application's date in Beijing (today when the node has no ``asOf``)."""
    if expression is None:
        return datetime.now(_BEIJING).date()
    value = to_json(expression(node_input))
    on = _beijing_date(value)
    if on is None:
        raise InputValidationError(
            f"asOf ({expression.source}) must be a date (2026-05-01), ISO 8601 time with an "
            f"offset (2026-05-01T09:30:00+08:00) or epoch milliseconds, got {value!r}",
            field=expression.source)
    return on


def _beijing_date(value: Any) -> date | None:
    if type(value) is str:
        try:
            if len(value) == 10:
                return date.fromisoformat(value)
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
        return None if moment.tzinfo is None else moment.astimezone(_BEIJING).date()
    if type(value) is int or (type(value) is float and value.is_integer()):
        try:
            return datetime.fromtimestamp(int(value) / 1000, _BEIJING).date()
        except (ValueError, OverflowError, OSError):  # a moment beyond the calendar
            return None
    return None


def _type_name(value: Any) -> str:
    return {bool: "a boolean", int: "a number", float: "a number", list: "a list",
            dict: "an object"}.get(type(value), type(value).__name__)


@register_node_kind("list")
def compile_list_node(node: NodeDefinition) -> ListNode:
    """The ``list`` kind's compiler: load and index the lists, compile the key expressions."""
    config = _config(node, _LIST_CONFIG, "'lists' and 'keys'")
    location = config.get("lists")
    if not isinstance(location, str) or not location.strip():
        raise node.error("config.lists must be the path of a lists folder or a list CSV file")
    path = Path(location)
    if not path.is_absolute() and node.directory is not None:
        path = node.directory / path
    try:
        index = load_lists(path)
    except FengkongError as error:
        raise node.error(f"config.lists: {error.message}") from None
    if index.tokenized:
        raise node.error(f"config.lists: {', '.join(index.tokenized)} "
                         f"{'is' if len(index.tokenized) == 1 else 'are'} tokenized (# tokenized:"
                         " true); matching tokens needs the project's tokenization key, which "
                         "this version does not support yet")
    keys = config.get("keys")
    if not isinstance(keys, dict) or not keys:
        raise node.error("config.keys must be an object of key type -> expression, e.g. "
                         '{"id_number": "applicant.idNumber"}')
    compiled = {}
    for key_type, source in keys.items():
        if not key_type.strip() or key_type != key_type.strip().lower():
            raise node.error(f"config.keys: key type {key_type!r} must be lower-case text "
                             "(the type column of the lists)")
        compiled[key_type] = node.expression(source, f"config.keys.{key_type}")
    name = config.get("name", LISTS)
    if not isinstance(name, str) or not name:
        raise node.error(f"config.name must be text, got {name!r}")
    return ListNode(index, compiled, _optional(node, config, "asOf"), name)


@register_node_kind("identity")
def compile_identity_node(node: NodeDefinition) -> IdentityNode:
    """The ``identity`` kind's compiler: compile the expressions of the checked inputs."""
    config = _config(node, _IDENTITY_CONFIG, "at least one of " + ", ".join(CHECKS))
    inputs = {check: node.expression(config[check], f"config.{check}")
              for check in CHECKS if config.get(check) is not None}
    if not inputs:
        raise node.error(f"config names nothing to check (give at least one of "
                         f"{', '.join(CHECKS)})")
    declared = [check for check in DECLARED if check in inputs]
    if declared and "idNumber" not in inputs:
        raise node.error(f"config.{declared[0]} is compared with the ID number: config.idNumber "
                         "is missing")
    return IdentityNode(inputs, _optional(node, config, "asOf"))


def _config(node: NodeDefinition, known: tuple[str, ...], needs: str) -> dict[str, Any]:
    config = node.config
    if not isinstance(config, dict):
        raise node.error(f"config must be an object with {needs}")
    unknown = sorted(set(config) - set(known))
    if unknown:
        raise node.error(f"unknown config entr{'ies' if len(unknown) > 1 else 'y'} "
                         f"{', '.join(unknown)} (known: {', '.join(known)})")
    return config


def _optional(node: NodeDefinition, config: dict[str, Any], entry: str
              ) -> CompiledExpression | None:
    source = config.get(entry)
    return None if source is None else node.expression(source, f"config.{entry}")


__all__ = ["IDENTITY", "LISTS", "IdentityNode", "ListNode", "compile_identity_node",
           "compile_list_node"]
