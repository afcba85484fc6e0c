"""In-process decision latency of the consumer-loan demo flow, beside zen-engine's floor.

    python benchmarks/bench_decision.py [--workdir build/demo] [--applications 1000]
                                        [--rounds 3] [--quick] [--json OUT]

The demo (``fengkong.demo.prepare``: the credit_data scorecard, the synthetic-history fraud
GBDT, ``examples/consumer-loan``) replays its stream in process, as the server does: before
each application the events that happened before it are ingested, then the application is
decided — identity and list checks, the velocity features (from 1,635 declared), the
knock-out table, scorecard, fraud model, review band and pricing — with the steps trace the
decision log keeps, and the decided application becomes an event for the next one. Each
decision is timed on its own; figures are the median and p99 over ``--rounds`` fresh
replays.

Two shapes of the flow are timed:

* **as written**: the features node computes the variables the flow reads (about 50);
* **all features**: the features node computes all 1,635 declared variables for every
  application (``config.features: ["*"]``), as a lender that snapshots every variable at
  decision time for its next model would run it.

zen-engine cannot run this flow (its custom nodes are fengkong's); as a floor for "one
decision in a Rust engine from Python", the script times zen-engine on the flow's own
knock-out decision table with the same inputs.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from fengkong.demo import DemoSettings, prepare
from fengkong.graph.engine import Engine
from fengkong.graph.loaders import DirectoryLoader
from fengkong.project import Project
from harness import machine


def _flow(project: Project, all_features: bool) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        (project.root / "flows" / "application.json").read_text("utf-8"))
    if all_features:
        for node in document["nodes"]:
            if (node.get("content") or {}).get("kind") == "features":
                node["content"]["config"]["features"] = ["*"]
    return document


def replay(project: Project, stream: dict[str, Any], count: int, all_features: bool
           ) -> tuple[list[float], list[float], int]:
    """Seconds per decision and per decided-application ingest, and features computed."""
    state = project.feature_state()
    engine = Engine(DirectoryLoader(project.root / "flows"), services={"features": state})
    decision = engine.create_decision(_flow(project, all_features), key="application")
    applications = stream["applications"][:count]
    events = stream["events"]
    position = 0
    decide_seconds: list[float] = []
    ingest_seconds: list[float] = []
    computed = 0
    clock = time.perf_counter
    for entry in applications:
        due = position
        while due < len(events) and events[due]["at"] < entry["at"]:
            due += 1
        for event in events[position:due]:
            state.ingest(event["type"], event["data"], None, event["id"])
        position = due
        body = copy.deepcopy(entry["body"])
        started = clock()
        response = decision.evaluate(body, trace="steps")
        decide_seconds.append(clock() - started)
        computed = response["trace"]["features"]["traceData"]["computed"]
        started = clock()
        event = project.decision_event("application", body, response["result"])
        if event is not None:
            state.ingest(*event)
        ingest_seconds.append(clock() - started)
    return decide_seconds, ingest_seconds, computed


def _zen_table_floor(project: Project, samples: int) -> float | None:
    """Median seconds of zen-engine evaluating the flow's knock-out table alone."""
    try:
        import zen
    except ImportError:
        return None
    document = _flow(project, False)
    table = next(n for n in document["nodes"] if n["type"] == "decisionTableNode")
    graph = {"nodes": [{"id": "in", "type": "inputNode", "name": "in", "content": {}},
                       table, {"id": "out", "type": "outputNode", "name": "out"}],
             "edges": [{"id": "a", "sourceId": "in", "targetId": table["id"]},
                       {"id": "b", "sourceId": table["id"], "targetId": "out"}]}
    engine = zen.ZenEngine({"loader": {"type": "static", "content": {"t": graph}}})
    inputs = [table_input(i) for i in range(samples)]
    times = []
    for context in inputs:
        started = time.perf_counter()
        engine.evaluate("t", context)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def table_input(i: int) -> dict[str, Any]:
    """A plausible context for the knock-out table: an identity result, list hits and
    feature values as the features node gives them."""
    return {"identity": {"passed": i % 50 != 0, "codes": []}, "lists": {"black": i % 40 == 0,
            "grey": False, "hit": i % 40 == 0}, "applicant": {"age": 20 + i % 40},
            "features": {}}


def _stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50_us": round(statistics.median(ordered) * 1e6, 1),
            "p99_us": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1e6, 1),
            "mean_us": round(statistics.fmean(ordered) * 1e6, 1), "samples": len(ordered)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("build/demo"))
    parser.add_argument("--applications", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="the small demo, 100 x 1")
    parser.add_argument("--json", type=Path)
    options = parser.parse_args()
    settings = DemoSettings.small() if options.quick else DemoSettings()
    if options.quick:
        options.applications, options.rounds = 100, 1
    prepared = prepare(options.workdir, settings=settings)
    project = Project.load(prepared.project)
    stream = json.loads(prepared.stream.read_text("utf-8"))
    results: dict[str, Any] = {"machine": machine(), "date": time.strftime("%Y-%m-%d"),
                               "declared_features": len(project.feature_set.features)
                               if project.feature_set else 0}
    for label, all_features in (("as written", False), ("all features", True)):
        decide: list[float] = []
        ingest: list[float] = []
        computed = 0
        for _ in range(options.rounds):
            times, ingests, computed = replay(project, stream, options.applications,
                                              all_features)
            decide += times[10:]  # the first decisions compile numba kernels and warm caches
            ingest += ingests[10:]
        results[label] = {"features_computed": computed, "decision": _stats(decide),
                          "ingest_decided_application": _stats(ingest)}
        print(f"{label}: {computed} features computed; decision p50 "
              f"{results[label]['decision']['p50_us']} us, p99 "
              f"{results[label]['decision']['p99_us']} us", file=sys.stderr, flush=True)
    floor = _zen_table_floor(project, 2000)
    results["zen_engine_knockout_table_p50_us"] = None if floor is None else round(floor * 1e6, 1)
    print(json.dumps(results, indent=1))
    if options.json:
        options.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
