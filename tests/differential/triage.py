"""Run many generated cases through both engines and print every difference, grouped.

Not a test: a helper for triaging the differential suite. It never stops at the first
difference, so one run shows every class of difference the generator currently finds::

    python tests/differential/triage.py --examples 5000 [--unary] [--all]

Differences that docs/zen-compatibility.md lists as intentional, and known bugs (see
test_known_cases.py), are counted but only printed with ``--all``.
"""

from __future__ import annotations

import argparse
import collections
import re
import sys
import time
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings

sys.path.insert(0, str(Path(__file__).parent))

import grammar
import oracle


def _signature(zen_outcome: oracle.Outcome, our_outcome: oracle.Outcome) -> str:
    def brief(outcome: oracle.Outcome) -> str:
        if outcome.kind == oracle.VALUE:
            return f"value:{type(outcome.value).__name__}"
        text = re.sub(r"\[expression.*", "", str(outcome.value))
        text = re.sub(r"'[^']*'|\d+(\.\d+)?", "_", text)
        return f"{outcome.kind}:{text[:80]}"

    return f"zen {brief(zen_outcome)} | ours {brief(our_outcome)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--examples", type=int, default=2000)
    parser.add_argument("--unary", action="store_true")
    parser.add_argument("--all", action="store_true", help="also print intentional differences and known bugs")
    parser.add_argument("--per-class", type=int, default=3)
    arguments = parser.parse_args()

    groups: dict[str, list[str]] = collections.defaultdict(list)
    intentional: collections.Counter[str] = collections.Counter()
    seen = 0
    strategy = grammar.unary_cases() if arguments.unary else grammar.expression_cases()

    @settings(max_examples=arguments.examples, database=None, deadline=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(strategy)
    def run(case: tuple[str, dict]) -> None:
        nonlocal seen
        seen += 1
        expression, context = case
        zen_outcome = oracle.run_zen(expression, context, unary=arguments.unary)
        our_outcome = oracle.run_ours(expression, context, unary=arguments.unary)
        if our_outcome.kind == oracle.UNAVAILABLE:
            return
        if oracle.outcomes_match(zen_outcome, our_outcome):
            return
        reason = oracle.intentional_difference(expression, context, zen_outcome, our_outcome,
                                               unary=arguments.unary)
        if reason is None:
            bug = oracle.known_bug(expression, context, zen_outcome, our_outcome,
                                   unary=arguments.unary)
            reason = f"known bug: {bug}" if bug else None
        if reason:
            intentional[reason] += 1
            if not arguments.all:
                return
        key = (f"[{reason}] " if reason else "") + _signature(zen_outcome, our_outcome)
        groups[key].append(oracle.describe(expression, context, zen_outcome, our_outcome))

    started = time.perf_counter()
    run()
    elapsed = time.perf_counter() - started
    for key, cases in sorted(groups.items(), key=lambda item: -len(item[1])):
        print(f"\n=== {len(cases)} x {key}")
        for text in sorted(cases, key=len)[: arguments.per_class]:
            print(text)
    print(f"\n{seen} cases in {elapsed:.1f}s; {sum(map(len, groups.values()))} differences "
          f"in {len(groups)} classes; intentional: {dict(intentional)}")


if __name__ == "__main__":
    main()
