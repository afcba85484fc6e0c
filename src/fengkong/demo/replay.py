"""The demo's run: start the decision server, replay the stream over HTTP, summarise.

:func:`run_demo` is ``fengkong demo``: :func:`fengkong.demo.prepare`, then ``fengkong serve``
on SQLite in the work folder as a subprocess on a free port (:class:`DemoServer`), then
:func:`replay` — the history of the first N applicants to ``POST /v1/events``, and their
applications, in time order, to ``POST /v1/decisions/application``, with the events that
happened between two applications sent before the second, as a live event stream would —
one printed line per decision, then :func:`summarise`: outcomes, reasons, limits, APRs,
latency, and the checks that the decision log holds every decision sent and that its hash
chain verifies.

The client is httpx with one kept-alive connection, as a loan-origination system's pool
would use. Latency is measured twice: round trip at the client, and the time the server
recorded for each decision (validation and the flow; the commit to the log is not in it).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from fengkong.errors import FengkongError

Say = Callable[[str], None]

FLOW = "application"
EVENT_BATCH = 5_000  # events per POST /v1/events (the service takes up to 10,000)
STARTUP_SECONDS = 60.0  # numba's first compilations and loading 1,600 features take a while
DATABASE = "fengkong.db"
# Pricing's codes carry figures in their own texts; the summary names them in a word.
_PRICING_TEXTS = {
    "PRICE_ABOVE_CAP": ("风险定价超过监管利率上限", "Risk price above the regulatory rate cap"),
    "LIMIT_BELOW_MINIMUM": ("可授信额度低于产品最低额度", "Limit below the product minimum"),
}


class DemoError(FengkongError):
    """The demo could not run: the server did not start, or a request failed."""

    kind = "demo"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class DemoServer:
    """``fengkong serve --project P --db sqlite:///W/fengkong.db`` as a subprocess, its
    output in ``W/server.log``. A context manager: stopped (SIGTERM, then SIGKILL) on exit
    unless :meth:`detach` was called."""

    def __init__(self, project: Path, workdir: Path, port: int | None = None,
                 host: str = "127.0.0.1") -> None:
        self.project = project
        self.workdir = workdir
        self.host = host
        self.port = port or free_port(host)
        self.database = workdir / DATABASE
        self.log_path = workdir / "server.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._detached = False

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.database}"

    def start(self, timeout: float = STARTUP_SECONDS) -> None:
        """Start on a fresh database and wait until ``/healthz`` answers."""
        # A fresh log per run: the replay's application ids would otherwise be answered
        # from the previous run's decisions (idempotency), not decided again.
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.database}{suffix}").unlink(missing_ok=True)
        shutil.rmtree(self.project / ".fengkong", ignore_errors=True)
        command = [sys.executable, "-m", "fengkong.cli", "serve", "--project",
                   str(self.project), "--db", self.db_url, "--host", self.host,
                   "--port", str(self.port)]
        log = self.log_path.open("wb")
        # One thread per numeric library: the server shares two cores with the client.
        env = {**os.environ, "OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        log.close()
        self._wait(timeout)

    def _wait(self, timeout: float) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        assert self.process is not None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise DemoError(f"the decision server exited with status "
                                f"{self.process.returncode} before it answered:\n"
                                f"{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise DemoError(f"the decision server did not answer /healthz within {timeout:.0f} s:\n"
                        f"{self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])

    def detach(self) -> None:
        """Leave the server running after the ``with`` block (``--keep-running``)."""
        self._detached = True

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> DemoServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._detached:
            self.stop()


# -- the replay ----------------------------------------------------------------------------


@dataclass
class Decided:
    """One application as the client saw it."""

    application_id: str
    status: int
    outcome: str | None
    limit: float | None
    apr: float | None
    reasons: list[str]
    scores: dict[str, Any]
    seconds: float  # round trip
    truth: dict[str, Any]
    error: str | None = None


@dataclass
class ReplayResult:
    """What the replay sent and got back."""

    decided: list[Decided] = field(default_factory=list)
    events_sent: int = 0
    events_accepted: int = 0
    events_rejected: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def sent(self) -> int:
        return len(self.decided)


def load_stream(path: Path) -> dict[str, Any]:
    stream: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return stream


def selection(stream: dict[str, Any], count: int
              ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The first ``count`` applications and the history their applicants need: every
    event of those applicants before the last of the applications, in time order."""
    applications = stream["applications"][:count]
    if not applications:
        return [], []
    people = {entry["applicant"] for entry in applications}
    until = applications[-1]["at"]
    events = [event for event in stream["events"]
              if event["applicant"] in people and event["at"] < until]
    return applications, events


def replay(base_url: str, stream: dict[str, Any], count: int, texts: ReasonTexts,
           out: TextIO | None = None) -> ReplayResult:
    """Send the history and the first ``count`` applications; print a line per decision."""
    import httpx

    out = out or sys.stdout
    applications, events = selection(stream, count)
    result = ReplayResult()
    started = time.perf_counter()
    with httpx.Client(base_url=base_url, timeout=30.0) as client:
        position = 0
        for entry in applications:
            # Everything that happened before this application reaches the server first.
            due = position
            while due < len(events) and events[due]["at"] < entry["at"]:
                due += 1
            for first in range(position, due, EVENT_BATCH):
                _send_events(client, events[first:min(due, first + EVENT_BATCH)], result)
            position = due
            decided = _decide(client, entry)
            result.decided.append(decided)
            print(decision_line(decided, texts), file=out, flush=True)
    result.seconds = time.perf_counter() - started
    return result


def _send_events(client: Any, batch: list[dict[str, Any]], result: ReplayResult) -> None:
    body = {"events": [{"id": event["id"], "type": event["type"], "data": event["data"]}
                       for event in batch]}
    response = client.post("/v1/events", json=body)
    if response.status_code != 200:
        raise DemoError(f"POST /v1/events answered {response.status_code}: "
                        f"{response.text[:500]}")
    answer = response.json()
    result.events_sent += len(batch)
    result.events_accepted += int(answer.get("accepted", 0))
    result.events_rejected += answer.get("rejected", [])


def _decide(client: Any, entry: dict[str, Any]) -> Decided:
    body = entry["body"]
    begun = time.perf_counter()
    response = client.post(f"/v1/decisions/{FLOW}", json=body)
    seconds = time.perf_counter() - begun
    answer = response.json()
    if response.status_code != 200:
        return Decided(body["applicationId"], response.status_code, None, None, None, [], {},
                       seconds, entry["truth"], error=str(answer.get("detail", answer)))
    return Decided(body["applicationId"], 200, answer.get("outcome"), answer.get("limit"),
                   answer.get("apr"), list(answer.get("reasons") or []),
                   dict(answer.get("scores") or {}), seconds, entry["truth"])


# -- reading the output --------------------------------------------------------------------


class ReasonTexts:
    """Chinese and English text of every code a decision of the project can give: the
    project's catalogue over fengkong's (knock-outs, fraud, models), the identity checks'
    codes and pricing's."""

    def __init__(self, project: Path) -> None:
        from fengkong.fraud.identity import REASONS
        from fengkong.models.reasons import ReasonCatalogue
        from fengkong.project.core import Project

        loaded = Project.load(project)
        catalogue = ReasonCatalogue.load(*([loaded.reason_codes] if loaded.reason_codes
                                           else []))
        self.texts: dict[str, tuple[str, str]] = {
            **_PRICING_TEXTS, **REASONS,
            **{code: (reason.zh, reason.en) for code, reason in catalogue.codes.items()}}

    def zh(self, code: str) -> str:
        return self.texts.get(code, ("", ""))[0]

    def en(self, code: str) -> str:
        return self.texts.get(code, ("", ""))[1]

    def describe(self, code: str) -> str:
        zh, en = self.texts.get(code, ("?", "unknown code"))
        return f"{code} {zh} / {en}"


def decision_line(decided: Decided, texts: ReasonTexts) -> str:
    """``DEMO-000001  APPROVE  limit 40,000  APR 11.32%  R06 申请金额...  3.1 ms``"""
    milliseconds = decided.seconds * 1000
    if decided.error is not None:
        return (f"{decided.application_id}  HTTP {decided.status}  {decided.error}  "
                f"{milliseconds:.1f} ms")
    money = f"limit {decided.limit:>9,.0f}" if decided.limit else f"limit {'-':>9}"
    apr = f"APR {decided.apr:6.2%}" if decided.apr is not None else f"APR {'-':>6}"
    reasons = "; ".join(f"{code} {texts.zh(code)} {texts.en(code)}"
                        for code in decided.reasons[:2])
    more = f" (+{len(decided.reasons) - 2})" if len(decided.reasons) > 2 else ""
    return (f"{decided.application_id}  {decided.outcome or '?':7}  {money}  {apr}  "
            f"{milliseconds:5.1f} ms  {reasons}{more}")


def _quantile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@dataclass
class LogCheck:
    """What the decision log says after the replay."""

    listed: int  # decisions GET /v1/decisions pages through
    stored: int  # decisions in the store
    chain_ok: bool
    chain_checked: int
    problems: list[str]
    server_latency_ms: list[float]


def check_log(base_url: str, db_url: str) -> LogCheck:
    """Count the decisions through the API (every page) and in the store, verify the hash
    chain, and read the latency the server recorded per decision."""
    import httpx

    from fengkong.store import open_store

    listed = 0
    cursor: str | None = None
    with httpx.Client(base_url=base_url, timeout=30.0) as client:
        while True:
            params: dict[str, Any] = {"limit": 1000, "flow": FLOW}
            if cursor:
                params["cursor"] = cursor
            page = client.get("/v1/decisions", params=params)
            if page.status_code != 200:
                raise DemoError(f"GET /v1/decisions answered {page.status_code}: "
                                f"{page.text[:300]}")
            answer = page.json()
            listed += len(answer["decisions"])
            cursor = answer.get("nextCursor")
            if not cursor:
                break
    store = open_store(db_url, create=False)
    try:
        report = store.verify_chain()
        latencies: list[float] = []
        after = 0
        while True:
            batch = store.read_decisions(after_seq=after, limit=5_000)
            if not batch:
                break
            latencies += [record.latency_ms for record in batch]
            after = batch[-1].seq
        stored = store.count_decisions()
    finally:
        store.close()
    return LogCheck(listed, stored, report.ok, report.checked,
                    [str(problem) for problem in report.problems], latencies)


def summarise(result: ReplayResult, log: LogCheck, texts: ReasonTexts) -> list[str]:
    """The summary's lines (see docs/demo.md for how to read them)."""
    decided = [entry for entry in result.decided if entry.error is None]
    outcomes = Counter(entry.outcome for entry in decided)
    lines = [f"replayed {result.sent} applications and {result.events_sent:,} history events "
             f"({result.events_accepted:,} accepted) in {result.seconds:.1f} s"]
    total = len(decided) or 1
    lines.append("outcomes: " + ", ".join(
        f"{outcome} {outcomes.get(outcome, 0)} ({outcomes.get(outcome, 0) / total:.1%})"
        for outcome in ("APPROVE", "REVIEW", "REJECT")))
    errors = [entry for entry in result.decided if entry.error is not None]
    if errors:
        lines.append(f"refused: {len(errors)} (" + "; ".join(
            f"{entry.application_id} HTTP {entry.status}" for entry in errors[:5]) + ")")
    # The first code of a rejection is the one that decided it (a knock-out, the fraud
    # model, the price cap); the model's own reasons that follow only explain the score.
    rejected = Counter(entry.reasons[0] for entry in decided
                       if entry.outcome == "REJECT" and entry.reasons)
    lines.append("top reject reasons (the deciding code of each rejection):")
    lines += [f"  {count:4}  {texts.describe(code)}" for code, count in rejected.most_common(8)]
    approved = [entry for entry in decided if entry.outcome == "APPROVE"]
    if approved:
        limits = [float(entry.limit or 0) for entry in approved]
        aprs = [float(entry.apr) for entry in approved if entry.apr is not None]
        lines.append(f"limits (yuan, approved): min {min(limits):,.0f}  median "
                     f"{_quantile(limits, 0.5):,.0f}  p90 {_quantile(limits, 0.9):,.0f}  "
                     f"max {max(limits):,.0f}  total {sum(limits):,.0f}")
        if aprs:
            lines.append(f"APR (all-in, approved): min {min(aprs):.2%}  median "
                         f"{_quantile(aprs, 0.5):.2%}  p90 {_quantile(aprs, 0.9):.2%}  "
                         f"max {max(aprs):.2%}")
    ring = [entry for entry in decided if entry.truth.get("fraud")]
    if ring:
        caught = Counter(entry.outcome for entry in ring)
        lines.append(f"fraud-ring applications (the generator's truth): {len(ring)}: "
                     f"rejected {caught.get('REJECT', 0)}, review {caught.get('REVIEW', 0)}, "
                     f"approved {caught.get('APPROVE', 0)}")
    planted = [entry for entry in decided
               if entry.truth.get("blacklisted") or entry.truth.get("malformedId")]
    if planted:
        stopped = sum(entry.outcome == "REJECT" for entry in planted)
        lines.append(f"blacklisted or malformed-ID applications: {len(planted)}, "
                     f"rejected {stopped}")
    client_ms = [entry.seconds * 1000 for entry in result.decided]
    lines.append(f"latency, round trip: p50 {_quantile(client_ms, 0.5):.2f} ms  "
                 f"p99 {_quantile(client_ms, 0.99):.2f} ms")
    if log.server_latency_ms:
        lines.append(f"latency, recorded by the server (validate + flow): p50 "
                     f"{_quantile(log.server_latency_ms, 0.5):.2f} ms  p99 "
                     f"{_quantile(log.server_latency_ms, 0.99):.2f} ms")
    sent_ok = len(decided)
    lines.append(f"decision log: {log.listed} listed by GET /v1/decisions, {log.stored} "
                 f"stored, {sent_ok} decided by the replay: "
                 + ("match" if log.listed == log.stored == sent_ok else "MISMATCH"))
    lines.append(f"audit chain: {log.chain_checked} entries, "
                 + ("intact" if log.chain_ok else "NOT intact: " + "; ".join(log.problems[:3])))
    return lines


# -- fengkong demo -------------------------------------------------------------------------


@dataclass
class DemoRun:
    """What :func:`run_demo` did: the replay, the log check and the summary."""

    result: ReplayResult
    log: LogCheck
    summary: list[str]
    url: str
    server: DemoServer

    @property
    def ok(self) -> bool:
        sent = sum(entry.error is None for entry in self.result.decided)
        return (self.log.chain_ok and self.log.listed == self.log.stored == sent
                and not self.result.events_rejected)


def run_demo(workdir: str | Path, applications: int = 300, port: int | None = None,
             keep_running: bool = False, progress: Say | None = None,
             out: TextIO | None = None, **prepare_options: Any) -> DemoRun:
    """Prepare, serve, replay ``applications``, summarise; see the module docstring."""
    from fengkong.demo.prepare import prepare

    say = progress or (lambda line: None)
    out = out or sys.stdout
    began = time.perf_counter()
    prepared = prepare(workdir, say, **prepare_options)
    say(f"prepared in {time.perf_counter() - began:.1f} s")
    stream = load_stream(prepared.stream)
    available = len(stream["applications"])
    if applications > available:
        say(f"the stream holds {available} applications; replaying all of them")
    texts = ReasonTexts(prepared.project)
    server = DemoServer(prepared.project, prepared.workdir, port)
    with contextlib.ExitStack() as stack:
        say(f"starting the decision server on {server.url} (SQLite {server.database})")
        server.start()
        stack.callback(server.stop)
        say(f"server up; replaying {min(applications, available)} applications")
        result = replay(server.url, stream, applications, texts, out)
        log = check_log(server.url, server.db_url)
        summary = summarise(result, log, texts)
        print("", file=out)
        for line in summary:
            print(line, file=out)
        out.flush()
        if keep_running:
            stack.pop_all()
            server.detach()
            pid = server.process.pid if server.process is not None else "?"
            say(f"the server keeps running at {server.url} (pid {pid}); stop it with "
                f"kill {pid}; try: curl '{server.url}/v1/decisions?limit=5'")
    return DemoRun(result, log, summary, server.url, server)


@contextlib.contextmanager
def running_server(project: Path, workdir: Path, port: int | None = None
                   ) -> Iterator[DemoServer]:
    """A demo server for the duration of a ``with`` block (tests, notebooks)."""
    server = DemoServer(project, workdir, port)
    server.start()
    try:
        yield server
    finally:
        server.stop()


__all__ = ["DemoError", "DemoRun", "DemoServer", "ReasonTexts", "ReplayResult", "check_log",
           "decision_line", "free_port", "load_stream", "replay", "run_demo", "running_server",
           "selection", "summarise"]
