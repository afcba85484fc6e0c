"""Fraud nodes benchmark: the latency of a list check and an identity check per application.

    python benchmarks/bench_fraud_nodes.py [--quick] [--json OUT]

Lists of 100,000 entries (``--quick``: 10,000) in three CSV files — black, grey, white —
of ID numbers, phones, devices and IPs from ``fengkong.datasets.identities``, and 10,000
seeded applications (``--quick``: 2,000), one in twenty carrying a listed key. Each call
timed on its own (``harness.latencies``), median and p99 of:

1. the ``list`` node's function (4 keys: normalise, look up, mask the hits);
2. the ``identity`` node's function (ID number, phone, card, name, declared age and sex);
3. a whole JDM flow, input -> ``list`` -> ``identity`` -> output, through ``fengkong.load``;

and the time to load and index the lists when the flow loads. There is no peer to run
beside: list matching is a dict lookup in any engine, and zen-engine has no list or
identity node (they would be JavaScript function nodes).
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

import fengkong
import harness
from fengkong.datasets.identities import (
    bank_card_numbers,
    device_ids,
    mobile_numbers,
    public_ips,
    region_codes,
    resident_id_numbers,
)
from fengkong.fraud.node import compile_identity_node, compile_list_node
from fengkong.graph.registry import NodeDefinition

KEYS = {"id_number": "applicant.idNumber", "phone": "applicant.phone", "device": "device.id",
        "ip": "device.ip"}
IDENTITY = {"idNumber": "applicant.idNumber", "phone": "applicant.phone",
            "bankCard": "applicant.bankCard", "name": "applicant.name", "age": "applicant.age",
            "sex": "applicant.sex", "asOf": "appliedAt"}
APPLIED_AT = "2026-05-01T09:30:00+08:00"
ON = datetime.date(2026, 5, 1)


def people(rng: np.random.Generator, count: int) -> dict[str, np.ndarray]:
    """``count`` synthetic people: ID number, phone, card, device, IP, birth date."""
    births = rng.integers((datetime.date(1960, 1, 1) - datetime.date(1970, 1, 1)).days,
                          (datetime.date(2006, 1, 1) - datetime.date(1970, 1, 1)).days, count)
    years = births.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    regions = region_codes(rng.integers(0, 19, count), years)
    return {"id_number": resident_id_numbers(regions, births, rng.integers(0, 1000, count)),
            "phone": mobile_numbers(rng, count), "bank_card": bank_card_numbers(rng, count),
            "device": device_ids(rng, count), "ip": public_ips(rng, count), "birth": births}


def write_lists(folder: Path, population: dict[str, np.ndarray], entries: int) -> None:
    """Black, grey and white lists: 40% ID numbers, 30% phones, 20% devices, 10% IPs."""
    shares = {"id_number": 0.4, "phone": 0.3, "device": 0.2, "ip": 0.1}
    rows: list[str] = []
    for key_type, share in shares.items():
        # Random region, birth date and sequence can repeat an ID number: keep one of each.
        values = list(dict.fromkeys(population[key_type].tolist()))[: int(entries * share)]
        rows += [f"{key_type},{value},L{index % 20 + 1:02d},2025-{index % 12 + 1:02d}-01,"
                 f"{'2027-12-31' if index % 3 == 0 else ''}"
                 for index, value in enumerate(values)]
    for kind, part in (("blacklist", rows[0::3]), ("greylist", rows[1::3]),
                       ("whitelist", rows[2::3])):
        (folder / f"{kind}.csv").write_text("type,value,reason,added,expires\n"
                                            + "\n".join(part) + "\n", encoding="utf-8")


def applications(population: dict[str, np.ndarray], listed: int, count: int,
                 rng: np.random.Generator) -> list[dict[str, Any]]:
    """Applications of people beyond the listed ones; one in twenty uses a listed key."""
    out = []
    for number in range(count):
        person = listed + number
        keys = {key: str(population[key][person]) for key in ("id_number", "phone", "device",
                                                                "ip", "bank_card")}
        if number % 20 == 0:  # a listed key: the first people are on the lists
            key = ("id_number", "phone", "device", "ip")[number // 20 % 4]
            keys[key] = str(population[key][int(rng.integers(0, listed // 10))])
        birth = datetime.date(1970, 1, 1) + datetime.timedelta(days=int(population["birth"][person]))
        age = ON.year - birth.year - ((ON.month, ON.day) < (birth.month, birth.day))
        out.append({"appliedAt": APPLIED_AT,
                    "applicant": {"idNumber": keys["id_number"], "phone": keys["phone"],
                                  "bankCard": keys["bank_card"], "name": "王伟", "age": age,
                                  "sex": "M" if int(keys["id_number"][16]) % 2 else "F"},
                    "device": {"id": keys["device"], "ip": keys["ip"]}})
    return out


def flow(lists: Path) -> dict[str, Any]:
    nodes = [{"id": "in", "name": "Application", "type": "inputNode", "content": {}},
             {"id": "l", "name": "Lists", "type": "customNode", "content": {
                 "kind": "list", "config": {"lists": str(lists), "keys": KEYS,
                                            "asOf": "appliedAt"}}},
             {"id": "i", "name": "Identity", "type": "customNode", "content": {
                 "kind": "identity", "config": IDENTITY}},
             {"id": "out", "name": "Response", "type": "outputNode", "content": {}}]
    edges = [{"id": f"e{n}", "sourceId": source, "targetId": target}
             for n, (source, target) in enumerate([("in", "l"), ("l", "i"), ("i", "out")])]
    return {"nodes": nodes, "edges": edges}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--json", type=Path, help="write the results here as JSON")
    args = parser.parse_args()
    entries = 10_000 if args.quick else 100_000
    count = 2_000 if args.quick else 10_000
    rounds = 1 if args.quick else 3
    rng = np.random.default_rng(2026)
    population = people(rng, int(entries * 0.4) + count)
    cases = applications(population, int(entries * 0.4), count, rng)

    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        write_lists(folder, population, entries)
        start = time.perf_counter()
        list_node = compile_list_node(NodeDefinition("l", "Lists", "list", {
            "lists": str(folder), "keys": KEYS, "asOf": "appliedAt"}, {}))
        load_seconds = time.perf_counter() - start
        identity_node = compile_identity_node(NodeDefinition("i", "Identity", "identity",
                                                             IDENTITY, {}))
        decision = fengkong.load(flow(folder))

    hits = sum(list_node(case).output["lists"]["hit"] for case in cases)
    passed = sum(identity_node(case).output["identity"]["passed"] for case in cases)
    measured = {
        "list_node_4_keys": harness.latencies(list_node, cases, rounds),
        "identity_node": harness.latencies(identity_node, cases, rounds),
        "flow_list_identity": harness.latencies(decision.evaluate, cases, rounds),
    }
    results: dict[str, Any] = {name: harness.summary(samples)
                               for name, samples in measured.items()}
    results.update({"list_entries": len(list_node.index), "applications": count,
                    "hit_share": hits / count, "identity_passed_share": passed / count,
                    "load_lists_seconds": load_seconds, "machine": harness.machine()})
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")
    labels = {"list_node_4_keys": "`list` node, 4 keys",
              "identity_node": "`identity` node, 6 inputs",
              "flow_list_identity": "JDM flow: input -> `list` -> `identity` -> output"}
    header = (f"## Fraud nodes — `python benchmarks/bench_fraud_nodes.py`\n\n"
              f"Date {datetime.date.today().isoformat()}; machine: {results['machine']}. "
              f"{results['list_entries']:,} list entries (loaded and indexed in "
              f"{load_seconds:.2f} s); {count:,} applications x {rounds} rounds, "
              f"{results['hit_share']:.0%} with a list hit.")
    print(harness.latency_table(header, labels, results))


if __name__ == "__main__":
    main()
