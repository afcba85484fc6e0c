"""How node outputs combine: Zen's merge rules, reproduced exactly.

Three places in a graph combine values, and each follows zen-engine 2.1.3:

* a node's **input** is its predecessors' outputs: the first predecessor's output as it is
  (an object or array; anything else counts as ``{}``), then each further one merged in
  (:func:`merge_inputs`);
* ``passThrough`` merges a node's output into its input, and the decision **result** merges
  the outputs of the graph's ending nodes into ``{}`` (:func:`merge`);
* dotted output paths (``limit.amount``) build nested objects (:func:`insert_path`).

A merge is a JSON merge patch: a ``null`` in the patch deletes the key, objects merge key by
key, anything else replaces; at the top level an array patch replaces the whole document and
a scalar patch is ignored. Merges never modify their arguments (outputs are shared between
nodes and with the caller's context), they copy the objects they change.
"""

from __future__ import annotations

from typing import Any


def merge(document: Any, patch: Any) -> Any:
    """Merge ``patch`` into ``document`` (top-level rules), returning a new value."""
    kind = type(patch)
    if kind is list:
        return patch
    if kind is not dict:
        return document
    if type(document) is not dict:
        return patch
    return _merge_objects(document, patch)


def _merge_objects(document: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    if document is patch:
        return document
    merged = dict(document)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            current = merged.get(key)
            if type(current) is dict and type(value) is dict:
                merged[key] = _merge_objects(current, value)
            else:
                merged[key] = value
    return merged


def merge_inputs(outputs: list[Any]) -> Any:
    """The input of a node with several predecessors (outputs in Zen's predecessor order)."""
    first = outputs[0]
    combined = first if type(first) is dict or type(first) is list else {}
    for output in outputs[1:]:
        combined = merge(combined, output)
    return combined


def merge_all(outputs: list[Any]) -> Any:
    """The decision result: the ending nodes' outputs merged into ``{}`` in node order."""
    result: Any = {}
    for output in outputs:
        result = merge(result, output)
    return result


def split_path(path: str) -> tuple[str, ...]:
    """``"limit.amount"`` -> ``("limit", "amount")``."""
    return tuple(path.split("."))


def insert_path(target: dict[str, Any], keys: tuple[str, ...], value: Any) -> None:
    """Set ``target[k1][k2]...[kn] = value``, creating objects on the way (Zen's dot insert).

    Objects found on the way are copied before being written to, because they may be values
    an expression returned from the input. Where a key on the way holds a non-object the
    insert is skipped, as Zen does.
    """
    current = target
    for key in keys[:-1]:
        child = current.get(key)
        if child is None and key not in current:
            child = current[key] = {}
        elif type(child) is dict:
            child = current[key] = dict(child)
        else:
            return
        current = child
    current[keys[-1]] = value


def nest(keys: tuple[str, ...], value: Any) -> dict[str, Any]:
    """``{k1: {k2: ... {kn: value}}}`` (the ``outputPath`` wrapper)."""
    for key in reversed(keys):
        value = {key: value}
    return value
