"""Every performance target of issue 7, measured in one run and printed as a Markdown table.

Run from the repository root:  python -m benchmarks.targets [--rounds N] [--quick]
Peers (optional, pinned):       pip install -e '.[bench,fast]'

First a short header on the machine: CPU model, ``os.cpu_count()``, the versions of Python, orjson
and the peers, the load average at the start and at the end of the run, and the yardstick:
``orjson.loads`` µs per data line of the SSE text scenario, measured in this run (the issue's
author measured 0.86 µs on his machine, so absolute µs can be scaled between machines). Then one
row per target and scenario: what was measured, and the verdict, met or NOT met.

1. Fold cost per chunk, ``streamfold.accumulate`` over parsed chunk dicts (the 1x streams of
   ``benchmarks.streams``): at most 1.0 µs on text and n4, 1.5 µs on tools and logprobs. Timed
   with the floor (``benchmarks.streams.floor``), whose figure and ratio are printed beside.
2. At least 100x faster than the openai SDK's ``ChatCompletionStreamState`` (fed the SDK's chunk
   objects) and 20x faster than LiteLLM's ``stream_chunk_builder`` (fed its
   ``ModelResponseStream`` chunks, what ``litellm.completion(stream=True)`` yields; its figure on
   the plain dicts is printed beside), against streamfold on the dicts, on every 1x stream. The
   inputs are built by ``benchmarks.compare`` before the timing, which notes where a peer's result
   differs from streamfold's.
3. Cost per chunk flat with length: streamfold on the 100x streams within 1.5x of its cost per
   chunk on the 1x streams. The host's clock drifts by up to 3x within minutes, so each round
   folds the 1x stream ten times, half before and half after one 100x stream, and the verdict is
   the median of the rounds' ratios. The streams are generated lazily and only the fold and the
   floor are timed (``compare._lazy_round``); each is also given against the floor at its scale.
4. SSE bytes to completion, ``streamfold.from_sse(body)``, against the bare
   ``[orjson.loads(line) for line in data_lines]``: at most 1.0x on text, tools and n4, 1.3x on
   logprobs; the median over the rounds of the ratio within each round (``bench_sse.measure``).
5. Memory: folding a 1,000,000-chunk text stream peaks (tracemalloc) at no more than 3x
   ``sys.getsizeof`` of the final text (``memory.measure``).
6. The SDK-object path, ``streamfold.accumulate`` over the openai SDK's ``ChatCompletionChunk``
   objects: at most 3 µs per chunk on text and tools (timed with target 1).

Every figure is a median over rounds in which each contender runs once, in a new shuffled order,
with the garbage collector off while it is timed (``bench_sse.interleaved``); ratios come from
this run only. The openai SDK's state takes about a second per round on logprobs, so a scenario's
peers run fewer rounds (at least 3) when theirs would take over 15 s. A peer that is not
installed gets "skipped: not installed".

``--quick`` (CI): 1 round, scales 1 and 2, a 20,000-chunk memory stream, and the
openai SDK's state on logprobs fed only the first 50 content chunks. It proves the command runs;
its figures and verdicts mean nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib.metadata
import importlib.util
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import streamfold
from benchmarks import bench_sse, compare, memory
from benchmarks.streams import SCENARIOS

FOLD_TARGET_US = {"text": 1.0, "tools": 1.5, "logprobs": 1.5, "n4": 1.0}
PEER_TARGETS = {"openai": 100.0, "litellm": 20.0}
FLAT_TARGET = 1.5
SDK_TARGET_US = 3.0
SDK_SCENARIOS = ("text", "tools")
AUTHOR_YARDSTICK_US = 0.86  # orjson.loads per data line of the text scenario, issue's machine

DEFAULT_ROUNDS = 31
PEER_BUDGET_S = 15.0
FOLD_REPEAT = 5  # folds per timed figure for the cheap contenders: a 1x fold takes milliseconds
QUICK_PREFIX = 50
SKIPPED = "skipped: not installed"
PEER_LABELS = {
    "openai": "the openai SDK's `ChatCompletionStreamState`",
    "litellm": "LiteLLM's `stream_chunk_builder`",
}


@dataclass
class Row:
    """One line of the table."""

    number: int
    target: str
    scenario: str
    measured: str
    verdict: str


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def _median_ratio(numerators: Sequence[float], denominators: Sequence[float]) -> float:
    """The median over the rounds of the ratio of two contenders' times in the same round."""
    return statistics.median(a / b for a, b in zip(numerators, denominators, strict=True))


def _rounds(count: int) -> str:
    return f"{count} round" if count == 1 else f"{count} rounds"


def _progress(message: str) -> None:
    if sys.stderr.isatty():  # stdout is the table; keep a redirected stderr clean too
        print(message, file=sys.stderr, flush=True)


def _settle() -> None:
    """Collect the garbage, then hide every surviving object from the collector.

    The timer collects before every timed call; with the peers imported, a full collection walks
    some 330,000 objects (0.2 s), hundreds of times a run. Frozen, it walks only the new ones.
    They stay frozen until the run ends (``main`` unfreezes them).
    """
    gc.collect()
    gc.freeze()


# ---------------------------------------------------------------------------------------------
# targets 1, 2 and 6: the 1x streams, with the inputs benchmarks.compare builds


def _cases(name: str, modules: dict[str, Any], quick: bool) -> list[compare.Case]:
    with warnings.catch_warnings():  # building the peers' objects warns (pydantic)
        warnings.simplefilter("ignore")
        cases = compare._scenario_cases(name, 1, modules, quick)
        if quick and name == "logprobs" and "openai" in modules:
            # compare --quick leaves it out: seconds per round, growing with the stream's length
            dicts = list(SCENARIOS[name](1))
            short = dicts[: QUICK_PREFIX + 1] + dicts[-2:]
            state = compare._openai_state(modules["openai"], compare._sdk_chunks(short))
            case_name = "openai ChatCompletionStreamState"
            run = compare._quiet(state)
            cases.append(
                compare.Case(
                    name, 1, len(short), case_name, "openai objects", run, compare._summary
                )
            )
    return cases


def _case(cases: list[compare.Case], prefix: str, input_name: str) -> compare.Case | None:
    return next((c for c in cases if c.name.startswith(prefix) and c.input == input_name), None)


def _fold_rows(name: str, cases: list[compare.Case], rounds: int) -> list[Row]:
    """Targets 1 and 6: streamfold on dicts and on SDK objects, with the floor."""
    fold = _case(cases, "streamfold", "dicts")
    floor = _case(cases, "floor", "dicts")
    sdk = _case(cases, "streamfold", "openai objects")
    assert fold is not None
    assert floor is not None
    contenders = {"fold": fold.run, "floor": floor.run}
    if name in SDK_SCENARIOS and sdk is not None:
        contenders["sdk"] = sdk.run
    times = bench_sse.interleaved(contenders, rounds, FOLD_REPEAT)
    us = {key: statistics.median(values) * 1e6 / fold.chunks for key, values in times.items()}
    target = FOLD_TARGET_US[name]
    rows = [
        Row(
            1,
            f"fold per chunk on dicts ≤ {target:.1f} µs",
            name,
            f"{us['fold']:.2f} µs; floor {us['floor']:.2f} µs,"
            f" fold/floor {_median_ratio(times['fold'], times['floor']):.1f}×",
            _verdict(us["fold"] <= target),
        )
    ]
    if name in SDK_SCENARIOS:
        label = f"fold per chunk on openai SDK objects ≤ {SDK_TARGET_US:.1f} µs"
        if "sdk" in times:
            measured = (
                f"{us['sdk']:.2f} µs"
                f" ({_median_ratio(times['sdk'], times['fold']):.1f}× the fold on dicts)"
            )
            rows.append(Row(6, label, name, measured, _verdict(us["sdk"] <= SDK_TARGET_US)))
        else:
            rows.append(Row(6, label, name, "openai not installed", SKIPPED))
    return rows


def _peer_rows(name: str, cases: list[compare.Case], rounds: int) -> list[Row]:
    """Target 2: the peers against streamfold on dicts, same rounds."""
    wanted = {
        "fold": ("streamfold", "dicts"),
        "sdk": ("streamfold", "openai objects"),
        "openai": ("openai", "openai objects"),
        "litellm": ("litellm", "ModelResponseStream"),
        "litellm dicts": ("litellm", "dicts"),
    }
    found = {key: _case(cases, *where) for key, where in wanted.items()}
    contenders = {key: case for key, case in found.items() if case is not None}
    # an untimed call each: warms the code, sets the rounds, gives the results compared below
    results: dict[str, Any] = {}
    warm_up = 0.0
    for key, case in contenders.items():
        elapsed, results[key] = compare._seconds(case.run)
        warm_up += elapsed
    peer_rounds = min(rounds, max(3, int(PEER_BUDGET_S / warm_up)))
    times = bench_sse.interleaved({k: c.run for k, c in contenders.items()}, peer_rounds, 1)
    us = {
        key: statistics.median(times[key]) * 1e6 / case.chunks for key, case in contenders.items()
    }
    fold = contenders["fold"]
    ours = compare._summary(results["fold"])

    def versus(key: str, base: str = "fold") -> float:
        per_chunk = [t / contenders[key].chunks for t in times[key]]
        return _median_ratio(per_chunk, [t / contenders[base].chunks for t in times[base]])

    rows = []
    for peer, goal in PEER_TARGETS.items():
        label = f"≥ {goal:g}× faster than {PEER_LABELS[peer]}"
        if peer not in contenders:
            rows.append(Row(2, label, name, f"{peer} not installed", SKIPPED))
            continue
        case = contenders[peer]
        ratio = versus(peer)
        parts = [f"{us[peer]:.1f} µs vs {us['fold']:.2f} µs per chunk: {ratio:.1f}×"]
        if peer == "openai" and "sdk" in contenders:
            parts.append(f"{versus(peer, 'sdk'):.1f}× streamfold on the same SDK objects")
        if peer == "litellm" and "litellm dicts" in contenders:
            parts.append(
                f"fed plain dicts {us['litellm dicts']:.1f} µs, {versus('litellm dicts'):.1f}×"
            )
        if case.chunks == fold.chunks:
            parts.append(compare._difference(ours, case.summary(results[peer])))
        else:
            parts.append(f"quick: its first {QUICK_PREFIX} content chunks only")
        parts.append(_rounds(peer_rounds))
        rows.append(Row(2, label, name, "; ".join(filter(None, parts)), _verdict(ratio >= goal)))
    return rows


# ---------------------------------------------------------------------------------------------
# target 3: 1x and the long streams, round by round


def _lazy_round(make: Callable[[int], Iterator[dict[str, Any]]], scale: int) -> tuple[float, ...]:
    with bench_sse.gc_paused():
        return compare._lazy_round(make, scale)


def _flat_row(name: str, scale: int, rounds: int) -> Row:
    make = SCENARIOS[name]
    short_runs = max(1, scale // 10)  # about a tenth of the long stream's chunks, at 1x
    _lazy_round(make, 1)
    # per round, seconds per chunk: fold at 1x, floor at 1x, fold long, floor long
    per_round: list[tuple[float, float, float, float]] = []
    for _ in range(rounds):
        short = [_lazy_round(make, 1) for _ in range(short_runs - short_runs // 2)]
        fold_long, floor_long, count_long = _lazy_round(make, scale)
        short += [_lazy_round(make, 1) for _ in range(short_runs // 2)]
        count = sum(r[2] for r in short)
        per_round.append(
            (
                sum(r[0] for r in short) / count,
                sum(r[1] for r in short) / count,
                fold_long / count_long,
                floor_long / count_long,
            )
        )
    fold_1, floor_1, fold_n, floor_n = zip(*per_round, strict=True)
    ratio = _median_ratio(fold_n, fold_1)
    measured = (
        f"{ratio:.2f}×; 1×: {statistics.median(fold_1) * 1e6:.2f} µs,"
        f" {_median_ratio(fold_1, floor_1):.1f}× the floor;"
        f" {scale}×: {statistics.median(fold_n) * 1e6:.2f} µs,"
        f" {_median_ratio(fold_n, floor_n):.1f}× the floor; {_rounds(rounds)}"
    )
    target = f"per chunk at {scale}× length ≤ {FLAT_TARGET:.1f}× the 1× cost"
    return Row(3, target, name, measured, _verdict(ratio <= FLAT_TARGET))


# ---------------------------------------------------------------------------------------------
# targets 4 and 5


def _sse_rows(rounds: int) -> tuple[list[Row], float | None]:
    """Target 4, and the yardstick: orjson.loads µs per data line of the text scenario."""
    rows = []
    yardstick = None
    for name, limit in bench_sse.TARGETS.items():
        target = f"`from_sse` ≤ {limit:.1f}× `orjson.loads` of the data lines"
        if importlib.util.find_spec("orjson") is None:
            rows.append(Row(4, target, name, "orjson not installed", SKIPPED))
            continue
        figures = bench_sse.measure(name, rounds)
        if name == "text":
            yardstick = figures.us["orjson"]
        measured = (
            f"{figures.ratio:.2f}×; from_sse {figures.us['sse']:.2f} µs, orjson.loads"
            f" {figures.us['orjson']:.2f} µs per line; fast path"
            f" {bench_sse.hit_rate(figures.body):.0%}"
        )
        rows.append(Row(4, target, name, measured, _verdict(figures.ratio <= limit)))
    return rows, yardstick


def _memory_row(chunks: int) -> Row:
    folded, peak, final, _ = memory.measure(chunks)
    ratio = peak / final
    measured = (
        f"{ratio:.2f}×: peak {peak / 2**20:.2f} MiB, final text {final / 2**20:.2f} MiB,"
        f" {folded:,} chunks"
    )
    target = f"memory peak ≤ {memory.TARGET:.1f}× the final text"
    return Row(5, target, "text", measured, _verdict(ratio <= memory.TARGET))


# ---------------------------------------------------------------------------------------------
# the header


def _cpu_model() -> str:
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown CPU"


def _load() -> str:
    try:
        loads = os.getloadavg()
    except OSError:  # not on this platform
        return "n/a"
    return " / ".join(f"{load:.2f}" for load in loads)


def _versions() -> str:
    out = [f"Python {sys.version.split()[0]}", f"streamfold {streamfold.__version__}"]
    for dist in ("orjson", "openai", "litellm", "langchain-core"):
        try:
            out.append(f"{dist} {importlib.metadata.version(dist)}")
        except importlib.metadata.PackageNotFoundError:
            out.append(f"{dist} not installed")
    return ", ".join(out)


def _header(
    quick: bool,
    rounds: int,
    flat_rounds: int,
    loads: tuple[str, str],
    yardstick: float | None,
    seconds: float,
) -> list[str]:
    lines = [
        "Performance targets of issue 7 (`python -m benchmarks.targets`)",
        "",
        f"- machine: {_cpu_model()}, {os.cpu_count()} CPUs (`os.cpu_count()`),"
        f" {platform.system()} {platform.machine()}",
        f"- {_versions()}",
        f"- load average (1 / 5 / 15 min): {loads[0]} at the start, {loads[1]} at the end;"
        f" the run took {seconds:.0f} s",
    ]
    if yardstick is None:
        lines.append("- yardstick: not measured (orjson not installed)")
    else:
        lines.append(
            f"- yardstick: `orjson.loads` {yardstick:.2f} µs per data line of the text scenario"
            f" in this run (the issue's author: {AUTHOR_YARDSTICK_US:g} µs; multiply this run's"
            f" µs by {AUTHOR_YARDSTICK_US / yardstick:.2f} to compare with his machine)"
        )
    lines.append(
        f"- medians over interleaved rounds (targets 1, 4 and 6: {rounds}; 2: up to {rounds},"
        f" fewer for slow peers; 3: {flat_rounds}), the garbage collector off while timed; every"
        " ratio is from this run"
    )
    if quick:
        lines.append(
            "- **quick mode** (CI): tiny sizes and rounds; figures and verdicts mean nothing"
        )
    return lines


def _table(rows: list[Row]) -> list[str]:
    lines = ["| target | scenario | measured | verdict |", "| --- | --- | --- | --- |"]
    lines += [
        f"| {row.number}. {row.target} | {row.scenario} | {row.measured} | {row.verdict} |"
        for row in sorted(rows, key=lambda row: row.number)
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--rounds", type=int, help=f"rounds per measurement (default {DEFAULT_ROUNDS}, quick 1)"
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes and rounds (CI)")
    args = parser.parse_args(argv)
    rounds = args.rounds or (1 if args.quick else DEFAULT_ROUNDS)
    long_scale = 2 if args.quick else 100
    flat_rounds = max(3, rounds // 3)  # a round folds 100x + 10 x 1x streams, about 1.5 s
    memory_chunks = 20_000 if args.quick else 1_000_000

    started = time.perf_counter()
    load_start = _load()
    modules, _ = compare._peer_modules(list(PEER_TARGETS))
    rows: list[Row] = []
    try:
        for name in SCENARIOS:
            _progress(f"targets 1, 2, 6: {name}")
            cases = _cases(name, modules, args.quick)
            _settle()
            rows += _fold_rows(name, cases, rounds)
            rows += _peer_rows(name, cases, rounds)
        del cases
        _settle()
        for name in SCENARIOS:
            _progress(f"target 3: {name}")
            rows.append(_flat_row(name, long_scale, flat_rounds))
        _progress("target 4")
        sse_rows, yardstick = _sse_rows(rounds)
        rows += sse_rows
        _progress("target 5")
        rows.append(_memory_row(memory_chunks))
    finally:
        gc.unfreeze()
    loads = (load_start, _load())
    seconds = time.perf_counter() - started
    for line in _header(args.quick, rounds, flat_rounds, loads, yardstick, seconds):
        print(line)
    print()
    for line in _table(rows):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
