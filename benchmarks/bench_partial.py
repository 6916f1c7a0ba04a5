"""Partial tool arguments: streamfold.PartialJSON against the SDKs' re-parse on every fragment.

A tool writes a file through its arguments (10 KB, 100 KB, 1 MB of JSON) in 20-character
fragments, and the caller reads the partial value after every fragment, as a UI would. The total
work is what the caller pays for the whole call: feeding, every read, and the final strict parse.
The naive way (re-parse the whole text on every fragment, what the SDKs do) is quadratic: the
pytest cases run it at 10 KB (a second at 100 KB, too long for the quick pass in CI); the script
runs it at 10 KB and 100 KB.

Timed:    python -m pytest benchmarks/bench_partial.py --benchmark-enable
Figures:  python benchmarks/bench_partial.py [--rounds N]   (total ms and characters parsed)
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest

import streamfold

Bench = Any  # pytest-benchmark's fixture type is not exported

FRAGMENT = 20
SIZES = {"10KB": 10_000, "100KB": 100_000, "1MB": 1_000_000}
NAIVE_SIZES = ("10KB", "100KB")

_LINE = (
    'Line {i}: the \\"quick\\" brown fox\\tjumps over the lazy dog; caf\\u00e9 na\\u00efve, '
    "path C:\\\\tmp\\\\{i}.txt\\n"
)


def make_arguments(size: int) -> str:
    """The arguments of a ``write_file`` call whose JSON text is about ``size`` characters.

    ASCII only (non-ASCII written as ``\\u`` escapes, as many servers send it), so characters
    and bytes are the same count.
    """
    head = '{"path": "notes/big.md", "mode": "overwrite", "content": "'
    lines: list[str] = []
    total = len(head) + 2
    i = 0
    while total < size:
        line = _LINE.format(i=i)
        lines.append(line)
        total += len(line)
        i += 1
    return head + "".join(lines) + '"}'


def fragments(text: str, size: int = FRAGMENT) -> list[str]:
    """``text`` cut into fragments of ``size`` characters."""
    return [text[i : i + size] for i in range(0, len(text), size)]


def incremental(frags: list[str]) -> tuple[Any, int, int]:
    """Feed every fragment into a PartialJSON, read ``.value`` after each, then ``final()``."""
    partial = streamfold.PartialJSON()
    for frag in frags:
        partial.feed(frag)
        partial.value  # noqa: B018  # the read is the point: a UI shows it
    return partial.final(), partial.parses, partial.parsed_chars


def naive(frags: list[str]) -> tuple[Any, int, int]:
    """What the SDKs do: re-parse the whole text (partial mode) after every fragment."""
    import jiter

    text = ""
    parses = chars = 0
    for frag in frags:
        text += frag
        jiter.from_json(text.encode(), partial_mode="trailing-strings")
        parses += 1
        chars += len(text)
    value = json.loads(text)
    return value, parses + 1, chars + len(text)


_CASES = [(name, "partialjson") for name in SIZES] + [(name, "naive") for name in NAIVE_SIZES]
_TEST_CASES = [case for case in _CASES if case != ("100KB", "naive")]
_RUN: dict[str, Callable[[list[str]], tuple[Any, int, int]]] = {
    "partialjson": incremental,
    "naive": naive,
}


@pytest.mark.parametrize(
    ("size", "strategy"), _TEST_CASES, ids=[f"{s}-{k}" for s, k in _TEST_CASES]
)
def test_partial_arguments(benchmark: Bench, size: str, strategy: str) -> None:
    """Total cost of streaming one tool call's arguments while reading the partial value."""
    text = make_arguments(SIZES[size])
    frags = fragments(text)
    value, parses, chars = benchmark.pedantic(
        _RUN[strategy], args=(frags,), rounds=3, iterations=1, warmup_rounds=0
    )
    benchmark.extra_info.update(fragments=len(frags), parses=parses, parsed_chars=chars)
    assert value == json.loads(text)


def _median_ms(fn: Callable[[], Any], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    print(
        f"python {sys.version.split()[0]}, {FRAGMENT}-char fragments, .value read after each,"
        f" median of {args.rounds} rounds"
    )
    print(
        f"{'size':>6} {'fragments':>9} {'strategy':>11} {'parses':>7}"
        f" {'chars parsed':>13} {'x size':>7} {'total ms':>9} {'µs/KB':>7}"
    )
    for size, strategy in _CASES:
        text = make_arguments(SIZES[size])
        frags = fragments(text)
        value, parses, chars = _RUN[strategy](frags)
        assert value == json.loads(text)
        ms = _median_ms(lambda: _RUN[strategy](frags), args.rounds)  # noqa: B023
        print(
            f"{size:>6} {len(frags):>9} {strategy:>11} {parses:>7} {chars:>13,}"
            f" {chars / len(text):>7.1f} {ms:>9.1f} {ms * 1000 / (len(text) / 1000):>7.1f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
