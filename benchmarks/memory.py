"""Peak memory of folding a long text stream, against the size of the text it folds to.

Run from the repository root:  python -m benchmarks.memory [--chunks N]

The stream (``benchmarks.streams.text``, default 1,000,000 content chunks) is generated lazily, one
chunk at a time, so the harness holds no more than the chunk being folded. Each content fragment
is a fresh ``str`` object, as a JSON parser would hand it over (the generator otherwise reuses ten
interned words). The fold runs under ``tracemalloc``; the figure is the traced peak (Python
allocations only) divided by ``sys.getsizeof`` of the final content string. Target: at most 3x.
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from collections.abc import Iterator
from typing import Any

import streamfold
from benchmarks.streams import text

TARGET = 3.0


def fresh_text_stream(chunks: int) -> Iterator[dict[str, Any]]:
    """The ``text`` stream with about ``chunks`` content chunks, each fragment a new string."""
    scale = max(1, -(-chunks // 1000))  # the generator makes 1,000 content chunks per unit
    for chunk in text(scale):
        for choice in chunk["choices"]:
            delta = choice["delta"]
            content = delta.get("content")
            if content:
                delta["content"] = (content + ".")[:-1]  # a new object, like json.loads gives
        yield chunk


def measure(chunks: int) -> tuple[int, int, int, float]:
    """Fold the stream under tracemalloc: (chunks folded, peak bytes, final str bytes, seconds)."""
    acc = streamfold.Accumulator()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        start = time.perf_counter()
        for chunk in fresh_text_stream(chunks):
            acc.add(chunk)
        completion = acc.completion()
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(completion, streamfold.ChatCompletion)
    content = completion.choices[0].message.content
    assert content is not None
    return acc.chunks, peak, sys.getsizeof(content), elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chunks", type=int, default=1_000_000, help="content chunks to fold")
    args = parser.parse_args(argv)
    folded, peak, final, elapsed = measure(args.chunks)
    ratio = peak / final
    print(f"python {sys.version.split()[0]}, text stream, tracemalloc (Python allocations)")
    print(f"{'chunks':>10} {'peak MiB':>9} {'final str MiB':>13} {'peak/final':>10} {'target':>6}")
    print(
        f"{folded:>10} {peak / 2**20:>9.2f} {final / 2**20:>13.2f} {ratio:>9.2f}x"
        f" {'met' if ratio <= TARGET else 'MISSED':>6}"
    )
    print(
        f"(folded in {elapsed:.1f} s under tracemalloc; target peak <= {TARGET:g}x the final str)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
