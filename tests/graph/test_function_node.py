"""JDM function nodes: real QuickJS-ng runs, checked against zen-engine 2.1.3 where it can be.

The differential tests put the same source into a graph ``input -> function -> output`` and
compare our handler output with the *function node's* output in Zen's trace (the graph result
additionally passes through the output node, which drops null fields).
"""

from __future__ import annotations

import json
import math
import os
import sys
import threading
import time
from typing import Any

import pytest

from fengkong.errors import FunctionNodeError, GraphLoadError
from fengkong.graph.function_node import JavaScriptFunction, LogEntry

# zen-engine writes a Rust backtrace into every error message unless told not to (slow).
os.environ.setdefault("RUST_LIB_BACKTRACE", "0")
zen = pytest.importorskip("zen")


def make(source: str, **kwargs: Any) -> JavaScriptFunction:
    kwargs.setdefault("node_id", "fn")
    kwargs.setdefault("node_name", "Score")
    return JavaScriptFunction(source, **kwargs)


def zen_graph(content: Any) -> str:
    def node(node_id: str, kind: str, **extra: Any) -> dict[str, Any]:
        return {"id": node_id, "type": kind, "name": node_id, "position": {"x": 0, "y": 0}, **extra}

    return json.dumps(
        {
            "nodes": [
                node("in", "inputNode"),
                node("fn", "functionNode", content=content),
                node("out", "outputNode"),
            ],
            "edges": [
                {"id": "e1", "sourceId": "in", "targetId": "fn", "type": "edge"},
                {"id": "e2", "sourceId": "fn", "targetId": "out", "type": "edge"},
            ],
        }
    )


def zen_run(content: Any, data: dict[str, Any]) -> tuple[str, Any, list[list[str]]]:
    """('ok', function node output, log lines) or ('error', message, [])."""
    decision = zen.ZenEngine().create_decision(zen_graph(content))
    try:
        result = decision.evaluate(data, {"trace": True})
    except RuntimeError as exc:
        return "error", str(exc), []
    trace = result["trace"]["fn"]
    logs = [entry["lines"] for entry in (trace["traceData"] or {}).get("log", [])]
    return "ok", trace["output"], logs


def same(ours: Any, theirs: Any) -> bool:
    """Equal JSON values; numbers to a relative 1e-12.

    Zen passes handler results through rust_decimal's float conversion, which drops the last
    digit or two of a float64 (0.1 + 0.2 comes out as 0.3); fengkong keeps the float64.
    """
    if isinstance(ours, bool) or isinstance(theirs, bool):
        return ours is theirs
    if isinstance(ours, int | float) and isinstance(theirs, int | float):
        return math.isclose(ours, theirs, rel_tol=1e-12, abs_tol=1e-300)
    if isinstance(ours, list) and isinstance(theirs, list):
        return len(ours) == len(theirs) and all(map(same, ours, theirs))
    if isinstance(ours, dict) and isinstance(theirs, dict):
        return ours.keys() == theirs.keys() and all(same(ours[k], theirs[k]) for k in ours)
    return bool(ours == theirs)


def ours_run(content: Any, data: dict[str, Any]) -> tuple[str, Any, list[list[str]]]:
    try:
        result = JavaScriptFunction.from_content(content, node_id="fn", timeout_ms=1000).run(data)
    except (GraphLoadError, FunctionNodeError) as exc:
        return "error", str(exc), []
    return "ok", result.output, [list(entry.lines) for entry in result.logs]


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------


def test_arithmetic() -> None:
    fn = make(
        "export const handler = (input) => ({\n"
        "  sum: input.a + input.b, product: input.a * input.b, ratio: input.a / input.b,\n"
        "  rest: input.a % input.b, power: input.a ** 2, rounded: Math.round(input.c * 100),\n"
        "});"
    )
    output, logs = fn({"a": 7, "b": 2, "c": 1.255})
    assert output == {
        "sum": 9,
        "product": 14,
        "ratio": 3.5,
        "rest": 1,
        "power": 49,
        "rounded": 125,  # 1.255 * 100 is 125.49999999999999 in float64
    }
    assert logs == []
    assert type(output["sum"]) is int and type(output["ratio"]) is float


def test_arrays() -> None:
    fn = make(
        "export const handler = ({ xs }) => ({\n"
        "  doubled: xs.map((x) => x * 2),\n"
        "  evens: xs.filter((x) => x % 2 === 0),\n"
        "  total: xs.reduce((a, b) => a + b, 0),\n"
        "  sorted: xs.toSorted((a, b) => b - a),\n"
        "  last: xs.at(-1),\n"
        "  nested: [[1, [2]], []],\n"
        "});"
    )
    output, _ = fn({"xs": [3, 1, 4, 1, 5]})
    assert output == {
        "doubled": [6, 2, 8, 2, 10],
        "evens": [4],
        "total": 14,
        "sorted": [5, 4, 3, 1, 1],
        "last": 5,
        "nested": [[1, [2]], []],
    }


def test_objects_and_input_values() -> None:
    fn = make(
        "export const handler = (input) => {\n"
        "  const { applicant, ...rest } = input;\n"
        "  return { ...rest, name: applicant.name.toUpperCase(),\n"
        "           keys: Object.keys(applicant), json: JSON.stringify(applicant.tags) };\n"
        "};"
    )
    data = {"applicant": {"name": "li wei", "tags": ["a", None, True]}, "n": None, "f": 1.5}
    output, _ = fn(data)
    assert output == {
        "n": None,
        "f": 1.5,
        "name": "LI WEI",
        "keys": ["name", "tags"],
        "json": '["a",null,true]',
    }


def test_async_handler() -> None:
    fn = make(
        "const score = async (x) => x * 10;\n"
        "export const handler = async (input) => {\n"
        "  const parts = await Promise.all(input.xs.map(score));\n"
        "  await null;\n"
        "  return { parts };\n"
        "};"
    )
    assert fn({"xs": [1, 2]}) == ({"parts": [10, 20]}, [])


def test_top_level_await() -> None:
    fn = make(
        "const base = await Promise.resolve(40);\nexport const handler = (i) => ({ v: base + i.x });"
    )
    assert fn({"x": 2})[0] == {"v": 42}


def test_console_log_lines_as_zen_records_them() -> None:
    fn = make(
        "export const handler = (input) => {\n"
        "  console.log('score', input.a, { k: [1] });\n"
        "  console.log(undefined, null, () => 1);\n"
        "  return {};\n"
        "};"
    )
    output, logs = fn({"a": 2})
    assert output == {}
    assert logs == ['"score" 2 {"k":[1]}', " null "]
    result = fn.run({"a": 2})
    assert [entry.lines for entry in result.logs] == [
        ('"score"', "2", '{"k":[1]}'),
        ("", "null", ""),
    ]
    assert isinstance(result.logs[0], LogEntry)
    assert result.logs[0].to_dict()["lines"] == ['"score"', "2", '{"k":[1]}']


def test_export_forms() -> None:
    assert make("function f() { return { v: 1 }; }\nexport { f as handler };")({})[0] == {"v": 1}
    assert make("export function handler() { return { v: 2 }; }")({})[0] == {"v": 2}
    assert make("export default 1;\nexport async function handler() { return { v: 3 }; }")({})[
        0
    ] == {"v": 3}


def test_engine_missing_is_a_load_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from fengkong.graph import function_node

    monkeypatch.setattr(function_node, "_engine_module", None)
    monkeypatch.setitem(sys.modules, "quickjs", None)  # makes 'import quickjs' fail
    with pytest.raises(GraphLoadError, match="pip install quickjs-ng"):
        make("export const handler = () => ({});")


def test_legacy_v1_script() -> None:
    source = (
        "const handler = (input, { dayjs, Big }) => ({ a: input.a * 2, u: undefined, n: NaN });"
    )
    fn = JavaScriptFunction.from_content(source, node_id="fn")
    assert not fn.module
    assert fn({"a": 2}) == ({"a": 4, "n": None}, [])  # a JSON round trip, as in Zen 1
    assert not JavaScriptFunction(source).module  # guessed: no export


def test_state_does_not_leak_between_calls() -> None:
    fn = make(
        "let calls = 0; const cache = {};\n"
        "export const handler = (input) => {\n"
        "  calls += 1; cache[input.k] = true;\n"
        "  globalThis.seen = (globalThis.seen || 0) + 1;\n"
        "  return { calls, keys: Object.keys(cache), seen: globalThis.seen };\n"
        "};"
    )
    for key in ("a", "b", "c"):
        assert fn({"k": key})[0] == {"calls": 1, "keys": [key], "seen": 1}


def test_builtins_are_frozen_but_shadowing_works() -> None:
    polluter = make("export const handler = () => { Array.prototype.sum = 1; return {}; };")
    with pytest.raises(FunctionNodeError, match="not extensible"):
        polluter({})
    fn = make(
        "class Rejected extends Error {\n"
        "  constructor(m) { super(m); this.name = 'Rejected'; }\n"
        "}\n"
        "export const handler = () => {\n"
        "  const o = {}; o.toString = () => 'custom';\n"
        "  return { name: new Rejected('x').name, text: String(o), sum: [].sum ?? null };\n"
        "};"
    )
    assert fn({})[0] == {"name": "Rejected", "text": "custom", "sum": None}


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


def test_syntax_error_names_node_line_and_column() -> None:
    with pytest.raises(GraphLoadError) as caught:
        make("export const handler = (input) => {\n  return { x: 1 + };\n};")
    error = caught.value
    assert error.node_id == "fn" and error.node_name == "Score"
    assert "line 2, column 19" in error.message  # the stray "}"
    assert "unexpected token" in error.message


def test_missing_handler_and_imports_fail_at_load() -> None:
    with pytest.raises(GraphLoadError, match="does not export 'handler'"):
        make("export const other = () => ({});")
    with pytest.raises(GraphLoadError, match="dayjs"):
        make("import dayjs from 'dayjs';\nexport const handler = () => ({});")
    with pytest.raises(GraphLoadError, match="content must be"):
        JavaScriptFunction.from_content({"src": "x"})


def test_throw_names_node_and_js_message() -> None:
    fn = make("export const handler = (input) => {\n  return { x: input.a.b.c };\n};")
    with pytest.raises(FunctionNodeError) as caught:
        fn({})
    error = caught.value
    assert error.node_id == "fn" and error.node_name == "Score"
    assert "TypeError" in error.message and "'b'" in error.message
    assert "line 2" in error.message
    # a non-Error throw and a rejected promise
    with pytest.raises(FunctionNodeError, match='non-Error value: "declined"'):
        make("export const handler = () => { throw 'declined'; };")({})
    with pytest.raises(FunctionNodeError, match="RangeError: too low"):
        make("export const handler = async () => { throw new RangeError('too low'); };")({})


def test_non_object_result_is_an_error() -> None:
    for body, kind in (("5", "int"), ("[1]", "array"), ("null", "null"), ("'x'", "str")):
        with pytest.raises(FunctionNodeError, match=f"must return an object, got {kind}"):
            make(f"export const handler = () => {body};")({})
    with pytest.raises(FunctionNodeError, match="failed to convert to number"):
        make("export const handler = () => ({ x: 0 / 0 });")({})


def test_bad_input_is_an_error() -> None:
    with pytest.raises(FunctionNodeError, match="not JSON"):
        make("export const handler = (i) => i;")({"x": float("nan")})


# The limit is enforced through the CPU time this process spends; on a machine shared with
# other busy processes the wall clock can run further before the process has spent it.
WALL_MARGIN_MS = 100
CPU_MARGIN_MS = 15


def stopwatch(fn: JavaScriptFunction, data: dict[str, Any]) -> tuple[float, float]:
    """Wall and process CPU milliseconds until ``fn(data)`` times out."""
    wall, cpu = time.perf_counter(), time.process_time()
    with pytest.raises(FunctionNodeError, match=f"timed out after {fn.timeout_ms} ms"):
        fn(data)
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000


def test_infinite_loop_stopped_within_limit() -> None:
    for timeout_ms in (20, 50):
        fn = make("export const handler = () => { while (true) {} };", timeout_ms=timeout_ms)
        wall_ms, cpu_ms = stopwatch(fn, {})
        assert timeout_ms <= wall_ms < timeout_ms + WALL_MARGIN_MS
        assert cpu_ms < timeout_ms + CPU_MARGIN_MS
    # the node is usable after a timeout (its context is rebuilt)
    fn = make("export const handler = (i) => { while (i.loop) {} return { ok: true }; };")
    with pytest.raises(FunctionNodeError, match="timed out"):
        fn({"loop": True})
    assert fn({"loop": False})[0] == {"ok": True}


def test_async_loops_and_job_floods_are_stopped() -> None:
    for source in (
        "export const handler = async () => { await null; while (true) {} };",
        "export const handler = () => { const f = () => Promise.resolve().then(f); f(); return {}; };",
    ):
        wall_ms, cpu_ms = stopwatch(make(source, timeout_ms=30), {})
        assert 30 <= wall_ms < 30 + WALL_MARGIN_MS
        assert cpu_ms < 30 + CPU_MARGIN_MS


def test_memory_limit() -> None:
    fn = make(
        "export const handler = () => { const a = []; while (true) a.push(new Array(1e5).fill(1)); };",
        memory_limit=16 * 1024 * 1024,
        timeout_ms=5000,
    )
    with pytest.raises(FunctionNodeError, match="out of memory"):
        fn({})


def test_runaway_recursion() -> None:
    with pytest.raises(FunctionNodeError, match="Maximum call stack size exceeded"):
        make(
            "export const handler = () => { const f = (n) => f(n + 1) + 1; return { x: f(0) }; };"
        )({})


@pytest.mark.parametrize(
    "probe",
    [
        "typeof require",
        "typeof process",
        "typeof fetch",
        "typeof XMLHttpRequest",
        "typeof std",
        "typeof os",
        "typeof setTimeout",
    ],
)
def test_host_apis_are_absent(probe: str) -> None:
    assert make(f"export const handler = () => ({{ t: {probe} }});")({})[0] == {"t": "undefined"}


@pytest.mark.parametrize(
    "source",
    [
        "export const handler = () => { require('fs'); return {}; };",
        "export const handler = () => ({ env: process.env });",
        "export const handler = async () => { await fetch('http://127.0.0.1/'); return {}; };",
        "export const handler = async () => { await import('std'); return {}; };",
        "export const handler = async () => { await import('os'); return {}; };",
    ],
)
def test_reaching_for_the_host_fails(source: str) -> None:
    with pytest.raises(FunctionNodeError):
        make(source)({})


def test_static_host_imports_fail_at_load() -> None:
    for module in ("std", "os", "fs"):
        with pytest.raises(GraphLoadError, match=module):
            make(f"import * as m from '{module}';\nexport const handler = () => ({{}});")


def test_errors_are_fengkong_errors_with_dicts() -> None:
    with pytest.raises(FunctionNodeError) as caught:
        make("export const handler = () => { throw new Error('no'); };")({})
    as_dict = caught.value.to_dict()
    assert as_dict["type"] == "function_node" and as_dict["node_id"] == "fn"


# ---------------------------------------------------------------------------------------------
# Threads
# ---------------------------------------------------------------------------------------------


def test_concurrent_calls_from_many_threads() -> None:
    fn = make(
        "let seen = 0;\n"
        "export const handler = async (input) => {\n"
        "  seen += 1; await null;\n"
        "  console.log(input.i);\n"
        "  return { square: input.i * input.i, seen };\n"
        "};"
    )
    failures: list[str] = []

    def worker(offset: int) -> None:
        for i in range(offset, offset + 200):
            try:
                output, logs = fn({"i": i})
                if output != {"square": i * i, "seen": 1} or logs != [str(i)]:
                    failures.append(f"{i}: {output} {logs}")
            except Exception as exc:
                failures.append(f"{i}: {exc!r}")

    threads = [threading.Thread(target=worker, args=(k * 1000,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_busy_threads_do_not_cause_early_timeouts() -> None:
    # QuickJS's clock counts the CPU time of all threads; four threads each running a 15 ms
    # handler under a 60 ms limit must all succeed.
    fn = make(
        "export const handler = (input) => {\n"
        "  const start = Date.now(); while (Date.now() - start < input.ms) {}\n"
        "  return { ok: true };\n"
        "};",
        timeout_ms=60,
    )
    results: list[str] = []

    def worker() -> None:
        for _ in range(4):
            try:
                fn({"ms": 15})
                results.append("ok")
            except FunctionNodeError as exc:
                results.append(str(exc))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["ok"] * 16


# ---------------------------------------------------------------------------------------------
# Differential: the same node in zen-engine
# ---------------------------------------------------------------------------------------------

DIFFERENTIAL_CASES: list[tuple[str, Any, dict[str, Any]]] = [
    (
        "arithmetic",
        {
            "source": "export const handler = (i) => ({ s: i.a + i.b, p: i.a * i.b, q: i.a / i.b,"
            " m: i.a % i.b, f: (0.1 + 0.2), r: Math.round(i.c * 100) / 100, t: (1234.5678).toFixed(2),"
            " big: i.big, huge: 2 ** 53 + 1, e21: 1e21, small: 1e-7, negzero: -0 });"
        },
        {"a": 7, "b": 2, "c": 1.005, "big": 12345678901234567890},
    ),
    (
        "arrays",
        {
            "source": "export const handler = ({ xs }) => ({ d: xs.map((x) => x * 2),"
            " e: xs.filter((x) => x % 2 === 0), sum: xs.reduce((a, b) => a + b, 0),"
            " s: [...xs].sort((a, b) => a - b), fm: xs.flatMap((x) => [x, [x]]),"
            " holes: [1, , 3], found: xs.find((x) => x > 100) });"
        },
        {"xs": [3, 1, 4, 1, 5, 9, 2, 6]},
    ),
    (
        "objects",
        {
            "source": "export const handler = (input) => { const { a, ...rest } = input;"
            " return { rest, entries: Object.entries(a), json: JSON.stringify(a),"
            " merged: { ...a, z: 1 }, missing: a.nope }; };"
        },
        {"a": {"x": 1, "y": "two", "n": None}, "b": [True, False], "c": "文字"},
    ),
    (
        "strings",
        {
            "source": "export const handler = ({ s }) => ({ up: s.toUpperCase(), pad: s.padStart(8, '*'),"
            " rep: s.replace(/[aeiou]/g, '_'), parts: s.split(''), tpl: `${s}-${s.length}`,"
            " num: parseFloat('3.25abc'), int: parseInt('0x1f'), cmp: 'b'.localeCompare('a') });"
        },
        {"s": "credit"},
    ),
    (
        "async",
        {
            "source": "const wait = async (v) => v;\nexport const handler = async (input) => {"
            " const xs = await Promise.all([wait(1), wait(input.n)]); return { xs }; };"
        },
        {"n": 2},
    ),
    (
        "console",
        {
            "source": "export const handler = (i) => { console.log('a', 1, { x: [i.n] }, undefined, null);"
            " console.log(); console.log([1.5, 'q']); return { ok: true }; };"
        },
        {"n": 3},
    ),
    (
        "value conversion",
        {
            "source": "export const handler = () => ({ u: undefined, fns: [function () {}, () => 1,"
            " class {}], sym: Symbol('s'), big: 10n, d: new Date(0), m: new Map([[1, 2]]),"
            " re: /x/, nested: { u: undefined, n: null }, arr: [undefined] });"
        },
        {},
    ),
    (
        "dates",
        {
            "source": "export const handler = (i) => ({ iso: new Date(Date.UTC(2024, 0, 31)).toISOString(),"
            " parsed: Date.parse(i.when), day: new Date(i.when).getUTCDay() });"
        },
        {"when": "2024-02-29T12:00:00Z"},
    ),
    (
        "module scope helpers",
        {
            "source": "const RATES = { A: 0.05, B: 0.09 };\nfunction rate(grade) { return RATES[grade] ?? 0.2; }\n"
            "export function handler(input) { return { rate: rate(input.grade), other: rate('Z') }; }"
        },
        {"grade": "B"},
    ),
    (
        "export clause",
        {"source": "const f = (i) => ({ v: i.v + 1 });\nexport { f as handler };"},
        {"v": 1},
    ),
    (
        "top-level await",
        {
            "source": "const base = await Promise.resolve(40);\nexport const handler = (i) => ({ v: base + i.x });"
        },
        {"x": 2},
    ),
    (
        "state is fresh",
        {
            "source": "let n = 0;\nexport const handler = () => { globalThis.g = (globalThis.g || 0) + 1;"
            " return { n: ++n, g: globalThis.g }; };"
        },
        {},
    ),
    (
        "v1 script",
        "const handler = (input, { dayjs, Big }) => ({ a: input.a * 2, u: undefined, n: NaN,"
        " s: [1, undefined] });",
        {"a": 21},
    ),
    (
        "v1 console",
        "const handler = (input) => { console.log('v1', input.a); return { a: input.a }; };",
        {"a": 1},
    ),
    (
        "tricky lexing",
        {
            "source": "// export const handler = () => ({ wrong: true });\n"
            "/* export function handler() {} */\n"
            "const s = 'export const handler = 1;';\n"
            "const t = `tpl ${ { a: '}' }.a } export ${`nested ${1 + 1}`}`;\n"
            "const re = /[\"'`]\\/export\\//g;\n"
            "const half = (8) / 2 / 1;\n"
            "const obj = { export: 1, import: 2 };\n"
            "let handler;\n"
            "handler = (input) => ({ s, t, re: re.source, half, v: obj.export + obj.import });\n"
            "export { handler };\n"
        },
        {},
    ),
    # both must fail
    ("throw", {"source": "export const handler = () => { throw new Error('boom'); };"}, {}),
    ("throw string", {"source": "export const handler = () => { throw 'boom'; };"}, {}),
    ("reject", {"source": "export const handler = async () => { throw new TypeError('x'); };"}, {}),
    ("type error", {"source": "export const handler = (i) => ({ x: i.a.b });"}, {}),
    ("syntax error", {"source": "export const handler = () => {\n  return { x: 1 + };\n};"}, {}),
    ("no handler", {"source": "export const other = () => ({});"}, {}),
    ("default only", {"source": "export default function handler() { return {}; }"}, {}),
    ("NaN output", {"source": "export const handler = () => ({ a: NaN });"}, {}),
    ("Infinity output", {"source": "export const handler = () => ({ a: -Infinity });"}, {}),
    ("export in v1", "export const handler = () => ({});", {}),
]


@pytest.mark.parametrize(
    ("content", "data"),
    [pytest.param(content, data, id=name) for name, content, data in DIFFERENTIAL_CASES],
)
def test_matches_zen(content: Any, data: dict[str, Any]) -> None:
    zen_status, zen_value, zen_logs = zen_run(content, data)
    status, value, logs = ours_run(content, data)
    assert status == zen_status, (zen_value, value)
    if status == "ok":
        assert same(value, zen_value), (value, zen_value)
        assert logs == zen_logs


def test_zen_difference_non_object_results() -> None:
    # Documented difference: Zen passes a non-object handler result on as the node output
    # (and the graph result becomes {}); fengkong's function nodes must return an object.
    content = {"source": "export const handler = () => 5;"}
    assert zen_run(content, {})[:2] == ("ok", 5)
    assert ours_run(content, {})[0] == "error"
