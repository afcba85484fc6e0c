"""HTTP decision throughput: `fengkong serve` on SQLite under a fixed-rate load from
another process, then every answered decision counted in the log.

    python benchmarks/bench_service.py [--project DIR] [--rate 1000] [--duration 300]
                                       [--connections 64] [--quick] [--json OUT]

The server is ``fengkong serve`` (one uvicorn process, uvloop + httptools, access log off)
on a fresh SQLite store. The load generator is a separate Python process (asyncio +
aiohttp) sending ``--rate`` applications a second, **open loop**: request i is due at
``start + i / rate`` and its latency is measured from that moment, so a stalled server
shows up as latency instead of silently lowering the rate (no coordinated omission).
Each application is the project's example applicant with its own application id, a phone
and ID number drawn from a pool (so velocity features see real histories) and its own
application time.

Without ``--project`` the server runs a fresh ``fengkong init`` scaffold (21 features, a
knock-out table, pricing); ``--demo WORKDIR`` runs the consumer-loan demo (identity and
list checks, velocity features, scorecard, fraud GBDT, pricing) with applications made
from its stream: each a template of the stream with an identity of its own out of 100,000
people (valid ID numbers and cards), so that applicants come back during a long run. Afterwards the script counts the decisions in the store (they
must equal the 200 answers) and verifies the hash chain.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from harness import machine

DEMO_PEOPLE = 100_000  # distinct applicants of a demo run; at 1,000/s each comes back

APPLICANT: dict[str, Any] = {
    "applicant": {"age": 35, "monthlyIncome": 15000},
    "device": {"id": "DEV-1"},
    "loan": {"amount": 20000},
    "bureau": {"monthlyRepayments": 1500},
}


def _ric(body17: str) -> str:
    """A resident ID number: 17 digits and their ISO 7064 MOD 11-2 check character."""
    total = sum(int(digit) * pow(2, 17 - i, 11) for i, digit in enumerate(body17))
    return body17 + "10X98765432"[total % 11]


def _luhn(body: str) -> str:
    """A card number: ``body`` and its Luhn check digit."""
    total = 0
    for position, digit in enumerate(reversed(body)):
        value = int(digit) * (2 if position % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return body + str((10 - total % 10) % 10)


def demo_application(index: int, run: str, templates: list[dict[str, Any]], people: int,
                     start: datetime) -> bytes:
    """A consumer-loan application: the ``index``-th template of the demo's stream with the
    identity of person ``index % people`` (valid ID number with the template's region,
    birth date and sex; phone, device, IP and card of their own), applying ``index`` ms
    after ``start`` — so people come back, as real applicants do, and the velocity rules
    see them."""
    template = templates[index % len(templates)]
    person = index % people
    body = json.loads(json.dumps(template))
    applicant = body["applicant"]
    old_id = applicant["idNumber"]
    if len(old_id) == 18 and old_id[:17].isdigit():  # keep the malformed ones malformed
        sequence = (int(old_id[14:17]) % 2) + 2 * (person % 500)
        applicant["idNumber"] = _ric(old_id[:14] + f"{sequence:03d}")
    applicant["phone"] = f"1{3 + person % 7}{person:09d}"
    body["device"] = {"id": f"{person:016x}", "ip": f"10.{person >> 16 & 255}."
                                                     f"{person >> 8 & 255}.{person & 255}"}
    body["bankCard"] = _luhn(f"621483{person:012d}")
    body["applicationId"] = f"{run}-{index:08d}"
    body["appliedAt"] = (start + timedelta(milliseconds=index)).isoformat()
    return json.dumps(body).encode()


def application(index: int, run: str, rng: random.Random, start: datetime) -> bytes:
    """The scaffold's applicant as application ``index`` of this run: a phone and ID
    number from a pool of 20,000 people, applying one millisecond after the previous."""
    person = rng.randrange(20_000)
    body = {"applicationId": f"{run}-{index:08d}",
            "appliedAt": (start + timedelta(milliseconds=index)).isoformat(),
            **APPLICANT,
            "applicant": {**APPLICANT["applicant"], "phone": f"139{person:08d}",
                          "idNumber": f"1101011990{person:08d}"},
            "device": {"id": f"DEV-{person % 5000}"}}
    return json.dumps(body).encode()


# -- the load generator (runs in its own process) ---------------------------------------------


async def _load(url: str, rate: float, duration: float, connections: int,
                out: Path, stream: Path | None) -> None:
    import aiohttp

    run = f"B{os.getpid()}"
    rng = random.Random(7)
    total = int(rate * duration)
    start_time = datetime(2026, 12, 1, tzinfo=UTC)
    if stream is None:
        bodies = [application(i, run, rng, start_time) for i in range(total)]
    else:
        applications = json.loads(stream.read_text())["applications"]
        templates = [entry["body"] for entry in applications]
        # From the stream's own first day: the declared ages were computed for it.
        first = datetime.fromisoformat(templates[0]["appliedAt"])
        bodies = [demo_application(i, run, templates, DEMO_PEOPLE, first)
                  for i in range(total)]
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    per_second: dict[int, int] = {}
    connector = aiohttp.TCPConnector(limit=connections)
    headers = {"content-type": "application/json"}
    async with aiohttp.ClientSession(connector=connector) as session:
        loop = asyncio.get_running_loop()
        begin = loop.time() + 0.2

        async def send(index: int) -> None:
            due = begin + index / rate
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                async with session.post(url, data=bodies[index], headers=headers) as response:
                    await response.read()
                    status = str(response.status)
            except aiohttp.ClientError as error:
                status = type(error).__name__
            finished = loop.time()
            statuses[status] = statuses.get(status, 0) + 1
            latencies.append(finished - due)
            second = int(finished - begin)
            per_second[second] = per_second.get(second, 0) + 1

        await asyncio.gather(*(send(i) for i in range(total)))
        elapsed = loop.time() - begin
    out.write_text(json.dumps({"sent": total, "elapsed": elapsed, "statuses": statuses,
                               "latencies": latencies, "per_second": per_second}))


# -- the run ------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_healthy(url: str, server: subprocess.Popen[bytes], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with status {server.returncode}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server did not become healthy")


def _percentile(ordered: list[float], share: float) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, help="a strategy project (default: a fresh "
                                                     "fengkong init scaffold)")
    parser.add_argument("--rate", type=float, default=1000, help="applications per second")
    parser.add_argument("--duration", type=float, default=300, help="seconds of load")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--quick", action="store_true", help="200/s for 5 s (smoke run)")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--demo", type=Path, metavar="WORKDIR",
                        help="serve the consumer-loan demo prepared in WORKDIR (fengkong "
                             "demo --workdir WORKDIR) with applications shaped like its "
                             "stream")
    parser.add_argument("--load", nargs=6,
                        metavar=("URL", "RATE", "SECONDS", "CONNS", "OUT", "STREAM"),
                        help=argparse.SUPPRESS)  # the load generator's own process
    options = parser.parse_args()
    if options.load:
        url, rate, seconds, conns, out, stream = options.load
        asyncio.run(_load(url, float(rate), float(seconds), int(conns), Path(out),
                          Path(stream) if stream != "-" else None))
        return
    if options.quick:
        options.rate, options.duration = 200, 5
    fengkong = Path(sys.executable).with_name("fengkong")
    with tempfile.TemporaryDirectory(prefix="fengkong-bench-") as temporary:
        folder = Path(temporary)
        project = options.project
        stream = "-"
        if options.demo is not None:
            from fengkong.demo import prepare

            prepared = prepare(options.demo)
            project, stream = prepared.project, str(prepared.stream)
        elif project is None:
            project = folder / "strategy"
            subprocess.run([str(fengkong), "init", str(project)], check=True,
                           capture_output=True)
        db = folder / "decisions.db"
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen([str(fengkong), "serve", "--project", str(project), "--db",
                                   f"sqlite:///{db}", "--port", str(port)],
                                  stderr=subprocess.DEVNULL)
        try:
            _wait_healthy(url, server)
            out = folder / "load.json"
            started = time.perf_counter()
            subprocess.run([sys.executable, __file__, "--load", f"{url}/v1/decisions/"
                            "application", str(options.rate), str(options.duration),
                            str(options.connections), str(out), stream], check=True)
            wall = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait(timeout=60)
        load = json.loads(out.read_text())
        from fengkong.store import open_store

        with open_store(f"sqlite:///{db}", create=False) as store:
            recorded = store.count_decisions()
            chain = store.verify_chain()
    ordered = sorted(load["latencies"])
    ok = load["statuses"].get("200", 0)
    per_second = [count for second, count in sorted(
        (int(k), v) for k, v in load["per_second"].items())][1:-1]
    result = {
        "machine": machine(), "date": datetime.now(UTC).date().isoformat(),
        "server": "fengkong serve: 1 uvicorn process (uvloop, httptools), access log off, "
                  "SQLite WAL synchronous=FULL, group commit",
        "project": str(options.project or ("consumer-loan demo" if options.demo else
                                           "fengkong init scaffold")),
        "rate": options.rate, "duration_s": options.duration,
        "connections": options.connections, "sent": load["sent"],
        "achieved_per_s": round(load["sent"] / load["elapsed"], 1),
        "statuses": load["statuses"], "errors": load["sent"] - ok,
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p90_ms": round(_percentile(ordered, 0.90) * 1000, 2),
        "p99_ms": round(_percentile(ordered, 0.99) * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
        "slowest_second_answers": min(per_second) if per_second else None,
        "recorded_decisions": recorded, "all_answers_recorded": recorded == ok,
        "chain_ok": chain.ok, "wall_s": round(wall, 1),
    }
    print(json.dumps(result, indent=1))
    if options.json:
        options.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
