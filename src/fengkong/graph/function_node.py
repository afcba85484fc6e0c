"""JDM function nodes: run a node's JavaScript ``handler`` in a sandboxed QuickJS engine.

A function node holds JavaScript source. zen-engine 2.x (our oracle) knows two shapes of node
``content``, and :meth:`JavaScriptFunction.from_content` accepts both:

* ``{"source": "..."}`` (JDM v2): an ES module that exports ``handler``, e.g.
  ``export const handler = async (input) => ({ score: input.a + 1 });``. The handler gets the
  node input; whatever it returns (awaited if it is a promise) is the node output.
* a bare string (JDM v1, legacy): a script that declares ``handler`` (no ``export``), called
  as ``handler(input, { dayjs, Big })``; its result goes through a JSON round trip.

The engine is QuickJS-ng through the ``quickjs-ng`` wheel (import name ``quickjs``) — the
same engine zen-engine embeds through rquickjs, so error messages, number printing, dates and
regular expressions behave as in Zen, and one call costs about 10 microseconds. The engine has
no filesystem, network, process or timer API; we add only ``console.log``, recorded as Zen
records it (each argument as JSON text, ``''`` for undefined).

Handler results are converted as Zen converts them: ``undefined`` becomes null, functions
``"[Function]"`` or ``"[Constructor]"``, symbols ``"[Symbol]"``, BigInts numbers, Error objects
``{message, description}``, other objects their own enumerable properties (a Date is ``{}``);
NaN and infinities are an error. What we do differently from Zen, deliberately: a handler must
return an object (Zen passes any value on); the modules Zen bundles (``dayjs``, ``big.js``,
``zod``, ``zen``, ``http``) and its extra globals (``config``, ``console.sleep``) are not
provided; numbers keep their float64 value (Zen rounds them through rust_decimal, so
``0.1 + 0.2`` comes out as ``0.3`` there); see ``docs/zen-compatibility.md``.

How a call is isolated, and why:

* Zen builds a fresh runtime per evaluation, so module-level variables start over every time.
  Building a QuickJS context costs ~0.2 ms plus our setup, so instead we turn the module into a
  *factory function* once (``export`` keywords blanked out in place, so line and column numbers
  are unchanged) and run the factory on every call: module-scope state is fresh per call, and
  the compiled code is reused.
* Everything else a handler could change is frozen when the context is set up: every built-in
  object and prototype reachable from the global object, and the global object itself. The few
  inherited properties that code commonly *shadows* by assignment (``this.name = ...`` in an
  Error subclass, ``obj.toString = ...``) are turned into accessors that create an own property
  instead of failing (the "override mistake" fix from Hardened JavaScript).
* ``globalThis`` inside the handler is a fresh per-call object that inherits from the real
  global, so ``globalThis.x = 1`` works within one call and is gone at the next.
* Pending promise jobs are drained before a call returns, and a context that hit the time
  limit or an engine error is thrown away and rebuilt.

Limits: the time limit is wall-clock time, as in Zen. QuickJS interrupts a call when the
binding's ``clock()`` (process CPU time, all threads together) passes a budget, so we turn the
time left into a CPU budget scaled by how fast the process's CPU clock has recently been
running (:class:`_CpuRate`): exact when one thread runs JavaScript, not early when several do.
An interrupt that still comes before the wall-clock deadline is retried once (calls share no
state) with a budget that cannot fire early. A memory limit (default 64 MiB per context) is
enforced by QuickJS itself.

Threads: QuickJS runtimes must not be used from more than one OS thread, so every thread gets
its own context per node (``threading.local``); threads run JavaScript in parallel, as the
binding releases the GIL while JavaScript runs.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

from fengkong.errors import FunctionNodeError, GraphLoadError

__all__ = [
    "DEFAULT_MEMORY_LIMIT",
    "DEFAULT_TIMEOUT_MS",
    "ENGINE_PACKAGE",
    "FunctionResult",
    "JavaScriptFunction",
    "LogEntry",
]

DEFAULT_TIMEOUT_MS = 50
DEFAULT_MEMORY_LIMIT = 64 * 1024 * 1024
ENGINE_PACKAGE = "quickjs-ng"

_INSTALL_HINT = f"function nodes need the JavaScript engine: pip install {ENGINE_PACKAGE}"


class _CpuRate:
    """How fast the process's CPU clock runs against the wall clock, recently.

    The binding's interrupt compares the process CPU time (``clock()``) with a budget. With
    one thread busy the two clocks agree; with N threads busy the CPU clock runs N times
    faster (at most as many times as there are CPUs). We turn the wall time a call has left
    into a CPU budget by this factor, so that the limit fires neither early under load nor
    late when idle. Sampled at most every 5 ms, so a call usually costs one clock read.
    """

    def __init__(self) -> None:
        try:
            self.cpus = max(len(os.sched_getaffinity(0)), 1)
        except AttributeError:  # not on Linux
            self.cpus = max(os.cpu_count() or 1, 1)
        self._sample = (time.perf_counter(), time.process_time())
        self._rate = 1.0

    def factor(self, now: float) -> float:
        wall, cpu = self._sample
        if now - wall >= 0.005:
            cpu_now = time.process_time()
            rate = (cpu_now - cpu) / (now - wall)
            # Follow a rise at once but a fall by at most half per sample: a budget that is too
            # large fires late, one that is too small fires early and costs a retry.
            self._rate = max(rate, min(self._rate, rate * 2))
            self._sample = (now, cpu_now)  # one tuple: threads race harmlessly
        return min(max(self._rate, 1.0), float(self.cpus))


_CPU_RATE = _CpuRate()


@dataclass(frozen=True)
class LogEntry:
    """One ``console.log`` call, as Zen records it in the node trace (``traceData.log``)."""

    lines: tuple[str, ...]  # each argument as JSON text ('' for undefined and functions)
    ms_since_run: int  # milliseconds since the call started

    def __str__(self) -> str:
        return " ".join(self.lines)

    def to_dict(self) -> dict[str, Any]:
        """Zen's trace shape: ``{"lines": [...], "msSinceRun": n}``."""
        return {"lines": list(self.lines), "msSinceRun": self.ms_since_run}


@dataclass(frozen=True)
class FunctionResult:
    """What one call of a function node produced."""

    output: dict[str, Any]
    logs: tuple[LogEntry, ...]


# --------------------------------------------------------------------------------------------
# The engine
# --------------------------------------------------------------------------------------------

_engine_module: Any = None
_engine_lock = threading.Lock()


def _engine() -> Any:
    """Import the QuickJS-ng binding once, or explain how to install it."""
    global _engine_module
    if _engine_module is not None:
        return _engine_module
    with _engine_lock:
        if _engine_module is None:
            try:
                import quickjs
            except ImportError:
                raise GraphLoadError(_INSTALL_HINT) from None
            # The old 'quickjs' wheel uses the same import name but a 2021 engine that lacks
            # what Zen's engine has (Array.prototype.at, Iterator, line:column positions).
            probe = quickjs.Context()
            if probe.eval("typeof Iterator") != "function":
                raise GraphLoadError(
                    f"{_INSTALL_HINT} (the installed 'quickjs' package is the old engine: "
                    f"pip uninstall quickjs && pip install {ENGINE_PACKAGE})"
                )
            _engine_module = quickjs
    return _engine_module


# --------------------------------------------------------------------------------------------
# Source preparation: ES module -> factory function body
# --------------------------------------------------------------------------------------------

# Keywords after which a '/' starts a regular expression rather than a division.
_KEYWORDS_BEFORE_EXPRESSION = frozenset(
    {"return", "typeof", "instanceof", "in", "of", "new", "delete", "void", "throw", "case"}
    | {"do", "else", "yield", "await"}
)
_IDENTIFIER = re.compile(r"[A-Za-z_$\u0080-\uffff#][\w$\u0080-\uffff]*")
_NUMBER = re.compile(r"0[xXoObB][\da-fA-F_]+n?|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d+)?n?")
_SPACE = re.compile(r"\s+")


@dataclass
class _Token:
    kind: str  # 'id', 'num', 'str', 'tmpl', 'regex', 'punct'
    text: str
    start: int
    end: int
    depth: int  # bracket depth before the token


class _SourceError(Exception):
    """The lexer could not make sense of the source (QuickJS will say why)."""


def _tokens(source: str) -> list[_Token]:
    """Split JavaScript source into tokens, skipping comments, with bracket depths.

    Only as precise as function-node preparation needs: it must tell strings, template
    literals, regular expressions and comments apart from code, so that ``export`` and
    ``import`` found at depth 0 are real module-level keywords.
    """
    out: list[_Token] = []
    stack: list[str] = []  # open brackets; '`' marks a template literal's ${ ... }
    i, n = 0, len(source)
    if source.startswith("#!"):  # hashbang line
        i = source.find("\n") if "\n" in source else n

    def regex_allowed() -> bool:
        if not out:
            return True
        last = out[-1]
        if last.kind == "id":
            return last.text in _KEYWORDS_BEFORE_EXPRESSION
        if last.kind == "punct":
            return last.text not in (")", "]")
        return False

    def scan_template(j: int) -> int:
        """Scan template text from just after '`' or '}'; return the index after its end."""
        while j < n:
            ch = source[j]
            if ch == "\\":
                j += 2
            elif ch == "`":
                return j + 1
            elif ch == "$" and source.startswith("${", j):
                stack.append("`")
                return j + 2
            else:
                j += 1
        raise _SourceError("unterminated template literal")

    while i < n:
        ch = source[i]
        if ch.isspace():
            i = _SPACE.match(source, i).end()  # type: ignore[union-attr]
            continue
        if source.startswith("//", i):
            j = source.find("\n", i)
            i = n if j < 0 else j
            continue
        if source.startswith("/*", i):
            j = source.find("*/", i + 2)
            if j < 0:
                raise _SourceError("unterminated comment")
            i = j + 2
            continue
        depth = len(stack)
        if ch in "'\"":
            j = i + 1
            while j < n and source[j] != ch:
                j += 2 if source[j] == "\\" else 1
            if j >= n:
                raise _SourceError("unterminated string")
            out.append(_Token("str", source[i : j + 1], i, j + 1, depth))
            i = j + 1
            continue
        if ch == "`":
            j = scan_template(i + 1)
            out.append(_Token("tmpl", source[i:j], i, j, depth))
            i = j
            continue
        if ch == "}" and stack and stack[-1] == "`":
            stack.pop()  # end of a ${...} substitution: back into the template text
            j = scan_template(i + 1)
            out.append(_Token("tmpl", source[i:j], i, j, len(stack)))
            i = j
            continue
        if ch == "/" and regex_allowed():
            j, in_class = i + 1, False
            while j < n and (in_class or source[j] != "/"):
                if source[j] == "\\":
                    j += 1
                elif source[j] == "[":
                    in_class = True
                elif source[j] == "]":
                    in_class = False
                elif source[j] == "\n":
                    raise _SourceError("unterminated regular expression")
                j += 1
            m = _IDENTIFIER.match(source, j + 1)  # flags
            end = m.end() if m else j + 1
            out.append(_Token("regex", source[i:end], i, end, depth))
            i = end
            continue
        m = _NUMBER.match(source, i) if (ch.isdigit() or ch == ".") else None
        if m and m.end() > i and m.group() != ".":
            out.append(_Token("num", m.group(), i, m.end(), depth))
            i = m.end()
            continue
        m = _IDENTIFIER.match(source, i)
        if m:
            out.append(_Token("id", m.group(), i, m.end(), depth))
            i = m.end()
            continue
        if ch in "([{":
            stack.append(ch)
        elif ch in ")]}":
            if not stack or stack[-1] == "`":
                raise _SourceError("unbalanced brackets")
            stack.pop()
        out.append(_Token("punct", ch, i, i + 1, depth))
        i += 1
    return out


@dataclass(frozen=True)
class _PreparedModule:
    body: str  # the module source with export syntax blanked out, same lines and columns
    handler_local: str | None  # local name exported as 'handler' by an export clause
    imports: tuple[str, ...]  # modules the source imports (we provide none)


def _blank(text: str) -> str:
    """Spaces in place of ``text``, keeping its line breaks (so positions do not move)."""
    return re.sub(r"[^\n]", " ", text)


def _prepare_module(source: str) -> _PreparedModule:
    """Rewrite an ES module's top-level export syntax so that it can be a function body."""
    tokens = _tokens(source)
    edits: list[tuple[int, int, str]] = []
    imports: list[str] = []
    handler_local: str | None = None
    for k, tok in enumerate(tokens):
        if tok.kind != "id" or tok.depth != 0 or tok.text not in ("export", "import"):
            continue
        if k > 0 and tokens[k - 1].kind == "punct" and tokens[k - 1].text == ".":
            continue  # a property called 'export' or 'import'
        nxt = tokens[k + 1] if k + 1 < len(tokens) else None
        if tok.text == "import":
            if nxt is None or (nxt.kind == "punct" and nxt.text in "(."):
                continue  # import(...) or import.meta: QuickJS will judge those
            # import x from 'm' / import {a} from 'm' / import 'm': find the module name
            for later in tokens[k + 1 :]:
                if later.kind == "str":
                    imports.append(later.text[1:-1])
                    break
            continue
        if nxt is None:
            raise _SourceError("'export' at the end of the source")
        if nxt.kind == "id" and nxt.text == "default":
            # 'export default <expr or declaration>' -> '0, <expression>': the value is still
            # evaluated but binds no name, as Zen ignores the default export.
            edits.append((tok.start, tok.end, "0,    "))
            edits.append((nxt.start, nxt.end, " " * len(nxt.text)))
        elif nxt.kind == "punct" and nxt.text in "{*":
            if nxt.text == "*":
                imports.append(_reexport_source(tokens, k))
                continue
            close = next(
                (j for j in range(k + 2, len(tokens)) if tokens[j].text == "}"),
                None,
            )
            if close is None:
                raise _SourceError("unterminated export clause")
            after = tokens[close + 1] if close + 1 < len(tokens) else None
            if after is not None and after.kind == "id" and after.text == "from":
                imports.append(_reexport_source(tokens, k))
                continue
            for local, exported in _export_clause(tokens[k + 2 : close]):
                if exported == "handler":
                    handler_local = local
            end = tokens[close].end
            edits.append((tok.start, end, _blank(source[tok.start : end])))
        else:
            edits.append((tok.start, tok.end, " " * len(tok.text)))
    body = source
    for start, end, text in sorted(edits, reverse=True):
        body = body[:start] + text + body[end:]
    return _PreparedModule(body, handler_local, tuple(imports))


def _looks_like_module(source: str) -> bool:
    """Whether source has a top-level ``export`` or static ``import`` (JDM v2 style)."""
    try:
        tokens = _tokens(source)
    except _SourceError:
        return True  # QuickJS will report the problem, in module terms as Zen 2 would
    for k, tok in enumerate(tokens):
        if tok.kind == "id" and tok.depth == 0 and tok.text in ("export", "import"):
            prev = tokens[k - 1] if k else None
            nxt = tokens[k + 1] if k + 1 < len(tokens) else None
            if prev is not None and prev.text == ".":
                continue
            if tok.text == "import" and (nxt is None or nxt.text in ("(", ".")):
                continue
            return True
    return False


def _reexport_source(tokens: list[_Token], k: int) -> str:
    """The module name of ``export ... from 'm'``."""
    for later in tokens[k + 1 :]:
        if later.kind == "str":
            return later.text[1:-1]
    raise _SourceError("malformed re-export")


def _export_clause(tokens: list[_Token]) -> list[tuple[str, str]]:
    """``a, b as c, d as "e"`` -> [(a, a), (b, c), (d, e)]."""
    pairs: list[tuple[str, str]] = []
    names: list[str] = []
    for tok in [*tokens, _Token("punct", ",", 0, 0, 0)]:
        if tok.kind == "punct" and tok.text == ",":
            if names:
                local = names[0]
                pairs.append((local, names[-1] if len(names) > 1 else local))
            names = []
        elif tok.kind == "id" and tok.text == "as" and names:
            continue
        elif tok.kind in ("id", "str"):
            names.append(tok.text.strip("'\"") if tok.kind == "str" else tok.text)
    return pairs


# --------------------------------------------------------------------------------------------
# The JavaScript side: console, hardening, per-call driver
# --------------------------------------------------------------------------------------------

# Evaluated once per context, before any user code. Written without '//' comments and with
# explicit semicolons because it is joined into one line: every stack frame on line 1 of
# '<input>' is then ours, and user code (compiled separately, starting on line 2) keeps its
# own line numbers. It is deliberately not strict mode at the top, so that a JDM v1 (script)
# factory can stay sloppy like the script Zen runs.
_DRIVER_JS = r"""
(function (global) {
  const O = Object;
  const create = O.create, keysOf = O.keys, freeze = O.freeze, getProto = O.getPrototypeOf;
  const getDesc = O.getOwnPropertyDescriptor, defineProp = O.defineProperty;
  const ownKeys = Reflect.ownKeys, construct = Reflect.construct, apply = Reflect.apply;
  const hasOwn = O.prototype.hasOwnProperty;
  const isArray = Array.isArray, parse = JSON.parse, stringify = JSON.stringify;
  const now = Date.now, PromiseCtor = Promise, then = Promise.prototype.then;
  const ErrorCtor = Error, toNumber = Number, StringCtor = String;
  const replace = String.prototype.replace, split = String.prototype.split;
  const exec = RegExp.prototype.exec, join = Array.prototype.join;
  const framePosition = /<input>:(\d+):(\d+)/;
  let stackLabel = 'node';
  class DriverError extends Error {}
  let logs = null;
  let started = 0;
  const consoleObj = {
    log: function log(...args) {
      if (logs === null) { return; }
      const lines = [];
      for (let i = 0; i < args.length; i++) {
        const text = stringify(args[i]);
        lines.push(text === undefined ? '' : text);
      }
      logs.push([lines, now() - started]);
    }
  };
  defineProp(global, 'console', { value: consoleObj, writable: true, enumerable: false, configurable: true });
  const tame = function (proto, names) {
    if (!proto) { return; }
    for (const name of names) {
      const desc = getDesc(proto, name);
      if (!desc || !('value' in desc)) { continue; }
      const value = desc.value;
      defineProp(proto, name, {
        get: function () { return value; },
        set: function (v) {
          if (this === proto) { throw new TypeError("'" + StringCtor(name) + "' is read-only"); }
          if (apply(hasOwn, this, [name])) { this[name] = v; return; }
          defineProp(this, name, { value: v, writable: true, enumerable: true, configurable: true });
        },
        enumerable: desc.enumerable,
        configurable: false
      });
    }
  };
  tame(O.prototype, ownKeys(O.prototype));
  tame(Function.prototype, ['constructor', 'bind', 'toString']);
  tame(Array.prototype, ['toString', 'push', 'concat']);
  tame(Promise.prototype, ['constructor']);
  for (const E of [Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError,
                   global.AggregateError, global.InternalError, global.SuppressedError]) {
    if (E) { tame(E.prototype, ['constructor', 'message', 'name', 'toString']); }
  }
  const seen = new WeakSet();
  const todo = [];
  const push = function (v) {
    if ((typeof v === 'object' && v !== null) || typeof v === 'function') { todo.push(v); }
  };
  const pushDesc = function (d) { if (d) { push(d.value); push(d.get); push(d.set); } };
  for (const k of ownKeys(global)) { pushDesc(getDesc(global, k)); }
  push(getProto(global));
  for (const v of [[][Symbol.iterator](), ''[Symbol.iterator](), new Map().entries(),
                   new Set().values(), /a/[Symbol.matchAll](''), function* () {},
                   async function () {}, async function* () {}, (function* () {})(),
                   (async function* () {})(), (async function () {})(), consoleObj,
                   DriverError]) {
    push(v);
  }
  while (todo.length) {
    const o = todo.pop();
    if (seen.has(o)) { continue; }
    seen.add(o);
    push(getProto(o));
    for (const k of ownKeys(o)) { pushDesc(getDesc(o, k)); }
    freeze(o);
  }
  for (const k of ownKeys(global)) {
    const d = getDesc(global, k);
    if ('value' in d) { d.writable = false; }
    d.configurable = false;
    defineProp(global, k, d);
  }
  O.preventExtensions(global);
  const isConstructor = function (f) {
    try { construct(StringCtor, [], f); return true; } catch (e) { return false; }
  };
  const userStack = function (stack) {
    if (typeof stack !== 'string') { return ''; }
    const kept = [];
    const lines = apply(split, stack, ['\n']);
    for (let i = 0; i < lines.length; i++) {
      const m = apply(exec, framePosition, [lines[i]]);
      if (m === null) { if (lines[i] !== '') { kept.push(lines[i]); } continue; }
      if (m[1] === '1') { continue; }
      const position = stackLabel + ':' + (toNumber(m[1]) - 1) + ':' + m[2];
      kept.push(apply(replace, lines[i], [framePosition, position]));
    }
    return kept.length ? apply(join, kept, ['\n']) + '\n' : '';
  };
  const convert = function (v) {
    switch (typeof v) {
      case 'string': case 'boolean': return v;
      case 'number':
        if (v !== v || v === Infinity || v === -Infinity) {
          throw new DriverError('failed to convert to number.');
        }
        return v;
      case 'undefined': return null;
      case 'bigint': return toNumber(v);
      case 'function': return isConstructor(v) ? '[Constructor]' : '[Function]';
      case 'symbol': return '[Symbol]';
    }
    if (v === null) { return null; }
    if (isArray(v)) {
      const arr = [];
      for (let i = 0; i < v.length; i++) { arr.push(convert(v[i])); }
      return arr;
    }
    if (v instanceof ErrorCtor) {
      const message = StringCtor(v.message);
      return { message: message, description: 'Error: ' + message + '\n' + userStack(v.stack) };
    }
    const out = create(null);
    const ks = keysOf(v);
    for (let i = 0; i < ks.length; i++) { out[ks[i]] = convert(v[ks[i]]); }
    return out;
  };
  const describe = function (e) {
    if (e instanceof DriverError) { return [e.message, null, null]; }
    if (e instanceof ErrorCtor) {
      let name = 'Error';
      let message = '';
      let stack = null;
      try { name = StringCtor(e.name); message = StringCtor(e.message); stack = e.stack; } catch (ignored) {}
      return [name + ': ' + message, typeof stack === 'string' ? stack : null, true];
    }
    let text;
    try { text = stringify(e); } catch (ignored) {}
    if (text === undefined) { try { text = StringCtor(e); } catch (ignored) { text = typeof e; } }
    return [text, null, false];
  };
  return function makeRunner(factory, isModule, isAsyncFactory, label) {
    stackLabel = label;
    let pending = null;
    const finish = function (value) {
      let out;
      if (isModule) { out = convert(value); } else {
        const text = stringify(value);
        out = text === undefined ? null : parse(text);
      }
      const env = stringify([0, out, logs]);
      logs = null;
      return env;
    };
    const fail = function (e) {
      const env = stringify([1, describe(e), logs]);
      logs = null;
      return env;
    };
    const callHandler = function (h, input) {
      if (typeof h !== 'function') {
        throw new DriverError('the source does not define a handler function (handler is ' + (h === null ? 'null' : typeof h) + ')');
      }
      return isModule ? h(input) : h(input, {});
    };
    const track = function (promise) {
      const state = { done: false, failed: false, value: undefined };
      apply(then, promise, [
        function (v) { state.done = true; state.value = v; },
        function (e) { state.done = true; state.failed = true; state.value = e; }
      ]);
      return state;
    };
    return function dispatch(op, arg) {
      if (op === 1) {
        const state = pending;
        pending = null;
        try {
          if (state === null || !state.done) { throw new DriverError("the handler's promise never settled"); }
          return state.failed ? fail(state.value) : finish(state.value);
        } catch (e) { return fail(e); }
      }
      logs = [];
      started = now();
      pending = null;
      try {
        const input = parse(arg);
        const scope = create(global);
        if (isAsyncFactory) {
          const chained = apply(then, factory(scope), [function (h) { return callHandler(h, input); }]);
          pending = track(chained);
          return 'P';
        }
        const result = callHandler(factory(scope), input);
        if (isModule && result instanceof PromiseCtor) { pending = track(result); return 'P'; }
        return finish(result);
      } catch (e) { return fail(e); }
    };
  };
})(globalThis)
"""

_DRIVER_ONE_LINE = " ".join(line.strip() for line in _DRIVER_JS.strip().splitlines())

# Helper for the throwaway validation context: settle state of a promise, and module exports.
_VALIDATE_JS = (
    "(function (p) { const s = { state: 'pending' };"
    " p.then(() => { s.state = 'ok'; }, (e) => { s.state = 'error'; }); return s; })"
)

_POSITION = re.compile(r"<input>:(\d+):(\d+)")
_FRAME = re.compile(r"^\s*at (?:(\S+) \()?<input>:(\d+):(\d+)\)?\s*$")


def _parse_int(text: str) -> int:
    """JSON integers from JavaScript: exact up to 2**53; beyond, the float64 JS really held.

    JavaScript prints 12345678901234567168 (a float64) as 12345678901234567000; Zen reports
    the float64's exact value, and so do we.
    """
    return int(text) if len(text) <= 15 else int(float(text))


# Built once: json.loads/dumps with options build a new codec on every call.
_DECODER = json.JSONDecoder(parse_int=_parse_int)
_ENCODER = json.JSONEncoder(allow_nan=False, separators=(",", ":"))


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


# --------------------------------------------------------------------------------------------
# The function node
# --------------------------------------------------------------------------------------------


class _Realm:
    """One QuickJS context set up for one node, used by one thread only."""

    __slots__ = ("context", "dispatch")

    def __init__(self, context: Any, dispatch: Any) -> None:
        self.context = context
        self.dispatch = dispatch


class JavaScriptFunction:
    """A compiled function node: call it with the node input, get ``(output, log lines)``.

    ``source`` is the node's JavaScript; ``module=True`` reads it as a JDM v2 ES module
    exporting ``handler``, ``module=False`` as a JDM v1 script declaring ``handler``, and the
    default ``None`` guesses from the source (a top-level ``export``/``import`` means a module).
    For Zen's exact rule — by the shape of the node content — use :meth:`from_content`.
    ``timeout_ms`` bounds the wall-clock time of one call; ``memory_limit`` (bytes, or None)
    bounds the JavaScript heap of one context.
    """

    def __init__(
        self,
        source: str,
        *,
        timeout_ms: int = DEFAULT_TIMEOUT_MS,
        node_id: str | None = None,
        node_name: str | None = None,
        module: bool | None = None,
        memory_limit: int | None = DEFAULT_MEMORY_LIMIT,
    ) -> None:
        if not isinstance(source, str):
            raise GraphLoadError(
                "function node source must be a string", node_id=node_id, node_name=node_name
            )
        if "\x00" in source:  # the binding passes source as a C string
            raise GraphLoadError(
                "function node source contains a NUL character",
                node_id=node_id,
                node_name=node_name,
            )
        if timeout_ms <= 0:
            raise GraphLoadError(
                "function node timeout must be positive", node_id=node_id, node_name=node_name
            )
        self.source = source
        self.timeout_ms = timeout_ms
        self.node_id = node_id
        self.node_name = node_name
        # Zen decides by the content's shape (see from_content); given bare source, a
        # top-level export or import means a v2 module, anything else a v1 script.
        self.module = _looks_like_module(source) if module is None else module
        self.memory_limit = memory_limit
        self._quickjs = _engine()
        self._local = threading.local()
        self._factory_js, self._async_factory = self._compile()

    @classmethod
    def from_content(
        cls,
        content: Any,
        *,
        timeout_ms: int = DEFAULT_TIMEOUT_MS,
        node_id: str | None = None,
        node_name: str | None = None,
        memory_limit: int | None = DEFAULT_MEMORY_LIMIT,
    ) -> JavaScriptFunction:
        """Build from a JDM node's ``content``: ``{"source": ...}`` (v2) or a string (v1)."""
        if isinstance(content, str):
            source, module = content, False
        elif isinstance(content, dict) and isinstance(content.get("source"), str):
            source, module = content["source"], True
        else:
            raise GraphLoadError(
                "function node content must be a string or an object with a 'source' string",
                node_id=node_id,
                node_name=node_name,
            )
        return cls(
            source,
            timeout_ms=timeout_ms,
            node_id=node_id,
            node_name=node_name,
            module=module,
            memory_limit=memory_limit,
        )

    # ---- loading ---------------------------------------------------------------------------

    def _load_error(self, message: str) -> GraphLoadError:
        return GraphLoadError(message, node_id=self.node_id, node_name=self.node_name)

    def _compile(self) -> tuple[str, bool]:
        """Check the source as Zen would compile it, then build this thread's context."""
        exported = self._validate()
        handler_ref = "(typeof handler === 'undefined' ? undefined : handler)"
        if self.module:
            try:
                prepared = _prepare_module(self.source)
            except _SourceError as exc:
                raise self._load_error(f"cannot prepare function node source: {exc}") from None
            if prepared.imports:
                raise self._load_error(
                    f"function node imports {', '.join(repr(m) for m in prepared.imports)}; "
                    "fengkong provides no modules to function nodes (Zen's dayjs, big.js, "
                    "zod, zen and http are not available)"
                )
            if exported is not None and "handler" not in exported:
                raise self._load_error("function node source does not export 'handler'")
            if prepared.handler_local is not None:
                handler_ref = prepared.handler_local
            body, prologue = prepared.body, "'use strict';"
        else:
            body, prologue = self.source, ""
        # Line 1 holds our prologue, so user line N is line N+1 of this code: see _DRIVER_JS.
        for is_async in (False, True):
            code = (
                f"({'async ' if is_async else ''}function (globalThis) {{{prologue}\n{body}\n"
                f";return {handler_ref};\n}})"
            )
            try:
                self._realm(code, is_async)
            except self._quickjs.JSException as exc:
                if not self.module or is_async or not str(exc).startswith("SyntaxError"):
                    raise self._load_error(
                        f"cannot prepare function node source: {_first_line(str(exc))}"
                    ) from None
                continue  # top-level await: the factory must be an async function
            return code, is_async
        raise AssertionError("unreachable")

    def _validate(self) -> set[str] | None:
        """Compile the raw source as Zen does (module or script) in a throwaway context.

        Raises :class:`GraphLoadError` with the line and column of a syntax error. For a
        module whose top level runs without error, returns the names it exports.
        """
        qjs = self._quickjs
        ctx = qjs.Context()
        ctx.set_time_limit(self.timeout_ms / 1000)
        if self.memory_limit is not None:
            ctx.set_memory_limit(self.memory_limit)
        try:
            if not self.module:
                ctx.eval(self.source)
                return None
            promise = ctx.module(self.source)
        except qjs.JSException as exc:
            text = str(exc)
            lines = text.strip().splitlines()
            frame = _FRAME.match(lines[1]) if len(lines) > 1 else None
            # Compile errors carry a bare '<input>:line:col' frame; anything else was thrown
            # while running top-level code, which Zen reports per call, and so do we.
            if text.startswith("SyntaxError") and frame and frame.group(1) is None:
                message = lines[0].removeprefix("SyntaxError: ")
                raise self._load_error(
                    f"JavaScript syntax error at line {frame.group(2)}, column "
                    f"{frame.group(3)}: {message}"
                ) from None
            if text.startswith("ReferenceError: could not load module"):
                raise self._load_error(
                    f"function node {lines[0].removeprefix('ReferenceError: ')}; fengkong "
                    "provides no modules to function nodes"
                ) from None
            return None
        try:
            state = ctx.eval(_VALIDATE_JS)(promise)
            while ctx.execute_pending_job():
                pass
            if json.loads(state.json())["state"] != "ok":
                return None
            ctx.module(
                "import * as ns from '<input>';"
                " globalThis.__exports = JSON.stringify(Object.keys(ns));"
            )
            while ctx.execute_pending_job():
                pass
            return set(json.loads(ctx.eval("globalThis.__exports")))
        except qjs.JSException:
            return None  # top-level code that loops or fails: reported at call time

    def _realm(self, factory_js: str | None = None, is_async: bool | None = None) -> _Realm:
        """This thread's context for this node, built on first use."""
        realm: _Realm | None = getattr(self._local, "realm", None)
        if realm is not None:
            return realm
        ctx = self._quickjs.Context()
        if self.memory_limit is not None:
            ctx.set_memory_limit(self.memory_limit)
        # Setting up and compiling are bounded too (hardening takes a few milliseconds).
        ctx.set_time_limit(max(self.timeout_ms / 1000, 1.0))
        make_runner = ctx.eval(_DRIVER_ONE_LINE)
        factory = ctx.eval(factory_js if factory_js is not None else self._factory_js)
        use_async = self._async_factory if is_async is None else is_async
        # Zen names a node's module 'node:<id>'; error values returned by a handler carry
        # stack traces written that way.
        dispatch = make_runner(factory, self.module, use_async, f"node:{self.node_id or ''}")
        realm = _Realm(ctx, dispatch)
        self._local.realm = realm
        return realm

    def _discard_realm(self) -> None:
        self._local.realm = None

    # ---- calling ---------------------------------------------------------------------------

    def __call__(self, input: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """Run the handler on ``input``: ``(output object, console.log lines)``."""
        result = self.run(input)
        return result.output, [str(entry) for entry in result.logs]

    def run(self, input: dict[str, Any]) -> FunctionResult:
        """Run the handler on ``input``, with logs in Zen's trace shape."""
        try:
            input_json = _ENCODER.encode(input)
        except (TypeError, ValueError) as exc:
            raise self._error(f"function node input is not JSON: {exc}") from None
        # Build this thread's context first (milliseconds, once per thread, or again after a
        # timeout), so that the handler gets its whole time limit.
        try:
            self._realm()
        except self._quickjs.JSException as exc:
            self._discard_realm()
            raise self._error(f"JavaScript engine error: {_first_line(str(exc))}") from None
        start = time.perf_counter()
        deadline = start + self.timeout_ms / 1000
        try:
            envelope = self._call_once(input_json, deadline, _CPU_RATE.factor(start))
        except _EarlyInterrupt:
            # The CPU clock outran our estimate (other threads got busy during the call). The
            # call shares no state with anything, so run it again, with a budget that cannot
            # fire before the deadline; it may fire up to 'cpus' times late instead.
            try:
                envelope = self._call_once(input_json, deadline, float(_CPU_RATE.cpus))
            except _EarlyInterrupt:
                raise self._timeout() from None
        return self._result(envelope)

    def _call_once(self, input_json: str, deadline: float, cpu_factor: float) -> str:
        qjs = self._quickjs
        try:
            realm = self._realm()
        except qjs.JSException as exc:
            self._discard_realm()
            raise self._engine_failure(exc, deadline) from None
        ctx = realm.context
        try:
            ctx.set_time_limit(max(deadline - time.perf_counter(), 0.0) * cpu_factor)
            envelope: str = realm.dispatch(0, input_json)
            # Promise jobs: those of an async handler, or stray ones a sync handler queued.
            # The binding restarts its clock at every entry into JavaScript, so each job is
            # given the time left.
            while True:
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    self._discard_realm()  # jobs may still be queued: do not reuse
                    raise self._timeout()
                ctx.set_time_limit(remaining * cpu_factor)
                if not ctx.execute_pending_job():
                    break
            if envelope == "P":
                envelope = realm.dispatch(1, None)
            return envelope
        except qjs.JSException as exc:
            self._discard_realm()
            raise self._engine_failure(exc, deadline) from None

    def _engine_failure(self, exc: Exception, deadline: float) -> Exception:
        """Translate an exception QuickJS could not hand back to our driver."""
        text = str(exc)
        if "interrupted" in _first_line(text):
            if time.perf_counter() < deadline:
                # The binding's CPU clock counts every thread of the process: see _CpuRate.
                return _EarlyInterrupt()
            return self._timeout()
        if "out of memory" in text:
            return self._error(f"function node ran out of memory (limit {self.memory_limit} bytes)")
        return self._error(f"JavaScript engine error: {_first_line(text)}")

    def _timeout(self) -> FunctionNodeError:
        return self._error(f"function node timed out after {self.timeout_ms} ms")

    def _error(self, message: str) -> FunctionNodeError:
        return FunctionNodeError(message, node_id=self.node_id, node_name=self.node_name)

    def _result(self, envelope: str) -> FunctionResult:
        status, payload, raw_logs = _DECODER.decode(envelope)
        logs = tuple(LogEntry(tuple(lines), ms) for lines, ms in raw_logs or ())
        if status != 0:
            raise self._error(self._describe_js_error(payload))
        if not isinstance(payload, dict):
            kind = "array" if isinstance(payload, list) else type(payload).__name__
            if payload is None:
                kind = "null/undefined"
            raise self._error(f"function node handler must return an object, got {kind}")
        return FunctionResult(payload, logs)

    def _describe_js_error(self, payload: list[Any]) -> str:
        text, stack, is_error = payload
        if is_error is None:  # raised by our driver: the text says it all
            return f"function node failed: {text}"
        if not is_error:
            return f"function node handler threw a non-Error value: {text}"
        where = ""
        for line in (stack or "").splitlines():
            frame = _FRAME.match(line)
            if frame and int(frame.group(2)) > 1:  # line 1 is ours: see _DRIVER_JS
                function = f" in {frame.group(1)}" if frame.group(1) else ""
                where = f" (at line {int(frame.group(2)) - 1}, column {frame.group(3)}{function})"
                break
        return f"function node handler threw {text}{where}"


class _EarlyInterrupt(Exception):
    """QuickJS interrupted a call before its wall-clock deadline (see module docstring)."""
