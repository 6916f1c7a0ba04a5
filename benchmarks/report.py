"""Print µs per chunk for the fold on every scenario, with ratios measured in the same run.

Run from the repository root:  python -m benchmarks.report [--rounds N] [--scales 1,10,100]

The machines this runs on are shared and noisy: each figure is the median of N rounds, and the
ratios compare figures taken in the same run, never against a stored number.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import streamfold
from benchmarks.streams import SCENARIOS, floor


def _median_seconds(fn: Callable[[], Any], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--scales", default="1,10,100")
    args = parser.parse_args(argv)
    scales = [int(s) for s in args.scales.split(",")]
    print(f"python {sys.version.split()[0]}, median of {args.rounds} rounds, µs per chunk")
    print(f"{'scenario':10} {'scale':>5} {'chunks':>8} {'fold':>7} {'floor':>7} {'ratio':>6}")
    for name, make in SCENARIOS.items():
        base = None
        for scale in scales:
            chunks = list(make(scale))
            rounds = max(3, args.rounds // scale)
            fold = _median_seconds(partial(streamfold.accumulate, chunks), rounds) / len(chunks)
            bare = _median_seconds(partial(floor, chunks), rounds) / len(chunks)
            base = base or fold
            print(
                f"{name:10} {scale:>5} {len(chunks):>8} {fold * 1e6:>7.2f} {bare * 1e6:>7.2f} "
                f"{fold / bare:>5.1f}x"
                + (f"  ({fold / base:.2f}x the 1x cost)" if scale > 1 else "")
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
