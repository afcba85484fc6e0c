"""Timing helpers shared by the benchmarks: per-call latency distributions, machine facts."""

from __future__ import annotations

import gc
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any


def machine() -> str:
    """One line naming the machine, for benchmarks/RESULTS.md."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def latencies(call: Callable[[Any], Any], inputs: Sequence[Any], rounds: int = 3,
              warmup: int = 1000) -> list[float]:
    """Seconds per call, one sample per call, over ``rounds`` passes through ``inputs``.

    Each call is timed on its own (perf_counter_ns costs ~50 ns, the same for every engine
    measured), so medians and tails are real per-evaluation figures.
    """
    for item in inputs[:warmup]:
        call(item)
    samples: list[float] = []
    clock = time.perf_counter_ns
    gc_was_enabled = gc.isenabled()
    gc.disable()  # collections would land on random calls of either engine
    try:
        for _ in range(rounds):
            for item in inputs:
                start = clock()
                call(item)
                samples.append((clock() - start) / 1e9)
            gc.collect()
    finally:
        if gc_was_enabled:
            gc.enable()
    return samples


def summary(samples: Sequence[float]) -> dict[str, float]:
    """Median, p99 and mean in microseconds."""
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return {"median_us": statistics.median(ordered) * 1e6, "p99_us": p99 * 1e6,
            "mean_us": statistics.fmean(ordered) * 1e6, "samples": len(ordered)}


def best_of(run: Callable[[], Any], repeat: int = 3) -> tuple[float, list[float]]:
    """Run ``run`` ``repeat`` times; return (median seconds, all seconds)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def latency_table(header: str, labels: dict[str, str], results: dict[str, Any]) -> str:
    """A Markdown block for RESULTS.md: ``header`` (the heading and the run's facts), then
    one row per case in ``labels`` (result key -> label) with its median, p99 and mean."""
    rows = [header, "", "| case | median | p99 | mean |", "|---|---|---|---|"]
    for name, label in labels.items():
        row = results[name]
        rows.append(f"| {label} | {row['median_us']:.2f} µs | {row['p99_us']:.2f} µs | "
                    f"{row['mean_us']:.2f} µs |")
    return "\n".join(rows)

