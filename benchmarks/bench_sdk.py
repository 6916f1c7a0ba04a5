"""Folding the openai SDK's own chunk objects (what ``wrap(client...create(stream=True))`` sees).

The chunks are ``openai.types.chat.ChatCompletionChunk`` objects built once, outside the timing,
from the shared ``text`` (1,000 content chunks) and ``tools`` (4 parallel calls x 250 argument
fragments) streams; the same streams as dicts are folded beside them for scale. Target: at most
3 µs per chunk on the SDK objects.

Timed:    python -m pytest benchmarks/bench_sdk.py --benchmark-enable
Figures:  python -m benchmarks.bench_sdk [--rounds N]   (µs per chunk, SDK objects and dicts)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Any

import pytest

import streamfold
from benchmarks.streams import text, tools

Bench = Any  # pytest-benchmark's fixture type is not exported

STREAMS = {"text": text, "tools": tools}


def sdk_chunks(name: str) -> list[Any]:
    """The stream ``name`` as openai ``ChatCompletionChunk`` objects (validated by pydantic)."""
    from openai.types.chat import ChatCompletionChunk

    validate = getattr(ChatCompletionChunk, "model_validate", None) or ChatCompletionChunk.parse_obj
    return [validate(c) for c in STREAMS[name](1)]


@pytest.mark.parametrize("name", sorted(STREAMS))
def test_fold_sdk_chunks(benchmark: Bench, name: str) -> None:
    """Folding openai SDK chunk objects into the completion; µs per chunk in extra_info."""
    chunks = sdk_chunks(name)
    completion = benchmark(streamfold.accumulate, chunks)
    assert completion == streamfold.accumulate(list(STREAMS[name](1)))
    stats = getattr(benchmark, "stats", None)
    if stats is not None:  # None under --benchmark-disable
        benchmark.extra_info["us_per_chunk"] = stats.stats.median * 1e6 / len(chunks)
    benchmark.extra_info["chunks"] = len(chunks)


def _median_us_per_chunk(chunks: list[Any], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        streamfold.accumulate(chunks)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6 / len(chunks)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=51)
    args = parser.parse_args(argv)
    import openai

    print(
        f"python {sys.version.split()[0]}, openai {openai.__version__},"
        f" median of {args.rounds} rounds, µs per chunk"
    )
    print(f"{'stream':8} {'chunks':>7} {'sdk':>7} {'dicts':>7} {'ratio':>6}")
    for name in sorted(STREAMS):
        objects = sdk_chunks(name)
        dicts = list(STREAMS[name](1))
        sdk_us = _median_us_per_chunk(objects, args.rounds)
        dict_us = _median_us_per_chunk(dicts, args.rounds)
        print(f"{name:8} {len(objects):>7} {sdk_us:>7.2f} {dict_us:>7.2f} {sdk_us / dict_us:>6.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
