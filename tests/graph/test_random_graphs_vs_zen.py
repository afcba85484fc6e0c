"""Random graph shapes, walked by both engines: the same nodes run, in the same order.

Seeded random DAGs of expression, switch and output nodes (switches with `first` and
`collect` policies, default branches, several output nodes, nodes the input does not reach)
stress the walk planner: which branches are pruned, in which order nodes run, which
predecessor's output comes first in a merged input, which outputs form the result.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from builders import INPUT, graph
from zen_oracle import assert_same, compare, same, without_timings, zen_outcome

import fengkong

GRAPHS = 150


def random_graph(seed: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    rng = random.Random(seed)
    nodes: list[dict[str, Any]] = [INPUT]
    edges: list[tuple[str, ...]] = []
    count = rng.randint(3, 9)
    for number in range(1, count + 1):
        node_id = f"n{number}"
        kind = rng.random()
        if kind < 0.3:
            statements = [(f"{node_id}s{k}", rng.choice(["x > 3", "x > 6", "y", "", "x < 2"]))
                          for k in range(rng.randint(1, 3))]
            nodes.append({"id": node_id, "name": node_id, "type": "switchNode",
                          "content": {"hitPolicy": rng.choice(["first", "collect"]),
                                      "statements": [{"id": s, "condition": c}
                                                     for s, c in statements]}})
        elif kind < 0.4:
            nodes.append({"id": node_id, "name": node_id, "type": "outputNode", "content": {}})
        else:
            nodes.append({"id": node_id, "name": node_id, "type": "expressionNode",
                          "content": {"expressions": [
                              {"id": "a", "key": node_id, "value": f"{number}"},
                              {"id": "b", "key": "last", "value": f"'{node_id}'"},
                              {"id": "c", "key": "x", "value": rng.choice(["x", "7", "null"])},
                          ]}})
        # Edges from earlier nodes only, so the graph is acyclic; sometimes none, so that
        # some nodes are unreachable from the input.
        for source in rng.sample(nodes[:-1], k=min(len(nodes) - 1, rng.randint(0, 2))):
            if source["type"] == "outputNode":
                continue
            if source["type"] == "switchNode":
                handles = [s["id"] for s in source["content"]["statements"]]
                edges.append((source["id"], node_id, rng.choice(handles)))
            else:
                edges.append((source["id"], node_id))
    contexts = [{"x": x, "y": y} for x in (0, 5, 9) for y in (True, False)]
    return graph(nodes, edges), contexts


@pytest.mark.parametrize("seed", range(GRAPHS))
def test_random_graph_walks_like_zen(seed: int) -> None:
    document, contexts = random_graph(seed)
    decision = fengkong.load(document)
    for context in contexts:
        ours, theirs = compare(document, context)
        assert_same(ours, theirs, f"seed {seed}, context {context}")
        our_trace = decision.evaluate(context, trace=True)["trace"]
        their_response = zen_outcome(document, context, trace=True).response
        assert their_response is not None
        assert [entry["id"] for entry in sorted(our_trace.values(), key=lambda e: e["order"])] \
            == [entry["id"] for entry in sorted(their_response["trace"].values(),
                                                key=lambda e: e["order"])]
        ending_outputs_differ = len([n for n in document["nodes"]
                                     if not any(e["sourceId"] == n["id"]
                                                for e in document["edges"])]) > 1
        if not ending_outputs_differ:
            assert same(without_timings(our_trace), without_timings(their_response["trace"]))
