"""streamfold side by side with the other ways to fold a chunk stream, in one process.

Run from the repository root:  python -m benchmarks.compare [--quick] [--rounds N]
Peers (optional, pinned):       pip install -e '.[bench]'

On the same generated streams (``benchmarks.streams``: text, tools, logprobs, n4), times

* streamfold on chunk dicts and on the openai SDK's ``ChatCompletionChunk`` objects;
* the openai SDK's ``ChatCompletionStreamState`` fed those objects (``handle_chunk`` per chunk,
  then ``get_final_completion()``);
* LiteLLM's ``stream_chunk_builder`` on its own ``ModelResponseStream`` chunks (what
  ``litellm.completion(stream=True)`` yields) and on the plain dicts;
* LangChain's ``AIMessageChunk`` sums, per choice: the running ``acc = acc + chunk`` a streaming
  loop writes, and the bulk ``first + rest`` that ``generate_from_stream`` does;
* the floor: a bare loop that only appends the text and joins it (``benchmarks.streams.floor``).

Every peer's input (SDK objects, LiteLLM chunks, ``AIMessageChunk`` objects carrying the content
and ``tool_call_chunks``) is built before the timing; only the fold is timed. A peer that is not
installed is skipped with a note. Each figure is the median of repeated rounds, the rounds of one
scenario's cases interleaved so that the shared machine's noise falls on all of them alike; the
ratios compare figures from this run only. A note says where a peer's result differs from
streamfold's (choices, content, tool arguments, logprobs).

Scaling: streamfold and the floor also run at 10x and 100x length. Those streams are generated
lazily, 1,024 chunks at a time, and only the fold of each batch is timed, so the harness never
holds a whole long stream and generating chunks costs nothing in the figures. The openai SDK's
state also runs on logprobs at 10x (minutes per round: its per-chunk cost grows with the length).

``--quick`` (CI): 3 rounds, scales 1 and 10, without the slow cases (the SDK's state on logprobs).
"""

from __future__ import annotations

import argparse
import copy
import importlib
import importlib.metadata
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import streamfold
from benchmarks.streams import SCENARIOS, floor

PEERS = ("openai", "litellm", "langchain")
DISTRIBUTIONS = {"openai": "openai", "litellm": "litellm", "langchain": "langchain-core"}
BATCH = 1024  # chunks generated, then folded under the timer, at a time (scaling section)
BUDGET_S = 20.0  # a case whose rounds would take longer than this runs fewer (at least 3)

# index -> (content, tool arguments, logprob entries; None where the input carries none)
Summary = dict[int, tuple[str, tuple[str, ...], int | None]]


@dataclass
class Case:
    """One timed fold: ``run()`` folds the prepared input; ``summary`` reads its result."""

    scenario: str
    scale: int
    chunks: int
    name: str
    input: str
    run: Callable[[], Any]
    summary: Callable[[Any], Summary]
    peer: bool = True
    rounds: int = 0
    times: list[float] = field(default_factory=list)
    result: Any = None  # the last round's result

    @property
    def us(self) -> float:
        return statistics.median(self.times) * 1e6 / self.chunks


# ---------------------------------------------------------------------------------------------
# timing


def _seconds(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def _quiet(fn: Callable[[], Any]) -> Callable[[], Any]:
    """Run a peer with its warnings silenced (pydantic and LiteLLM warn; pytest makes it fatal)."""

    def run() -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn()

    return run


def _time_interleaved(cases: list[Case], rounds: int, budget: float | None) -> None:
    """Warm every case up, then time the rounds, interleaved.

    The warm-up round's time sets how many rounds fit the budget; ``budget=None`` skips the
    warm-up (for cases whose code is already warm and whose rounds take minutes).
    """
    for case in cases:
        case.rounds = rounds
        if budget is not None:
            elapsed, _ = _seconds(case.run)
            case.rounds = max(1, min(rounds, max(3, int(budget / max(elapsed, 1e-9)))))
    for r in range(max(c.rounds for c in cases)):
        for case in cases:
            if r < case.rounds:
                elapsed, result = _seconds(case.run)
                case.times.append(elapsed)
                case.result = result


# ---------------------------------------------------------------------------------------------
# reading each result the same way, to say where a peer's result differs from streamfold's


def _summary(completion: Any) -> Summary:
    """Choices of a ChatCompletion-shaped result (streamfold, openai, LiteLLM), by index."""
    out: Summary = {}
    for choice in completion.choices:
        message = choice.message
        calls = getattr(message, "tool_calls", None) or ()
        logprobs = getattr(choice, "logprobs", None)
        entries = getattr(logprobs, "content", None) if logprobs is not None else None
        if entries is None and isinstance(logprobs, dict):
            entries = logprobs.get("content")
        out[choice.index] = (
            message.content or "",
            tuple(call.function.arguments for call in calls),
            len(entries or ()),
        )
    return out


def _difference(ours: Summary, theirs: Summary) -> str:
    notes = []
    if len(theirs) != len(ours):
        notes.append(f"{len(theirs)} of {len(ours)} choices")
    shared = [i for i in ours if i in theirs]
    if any(ours[i][0] != theirs[i][0] for i in shared):
        notes.append("content differs")
    if any(ours[i][1] != theirs[i][1] for i in shared):
        notes.append("tool arguments differ")
    counts = [(ours[i][2], theirs[i][2]) for i in shared if ours[i][2]]
    if any(n is None for _, n in counts):
        notes.append("logprobs not in its input")
    elif any(not n for _, n in counts):
        notes.append("logprobs dropped")
    elif any(m != n for m, n in counts):
        notes.append("logprobs differ")
    return ", ".join(notes)


# ---------------------------------------------------------------------------------------------
# the peers: each builds its input from the dict chunks, outside the timing


def _peer_modules(wanted: list[str]) -> tuple[dict[str, Any], list[str]]:
    """Import the wanted peers that are installed; notes for the others."""
    modules: dict[str, Any] = {}
    notes = []
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # else it downloads a cost map
    names = {
        "openai": "openai.lib.streaming.chat",
        "litellm": "litellm",
        "langchain": "langchain_core.messages",
    }
    for peer in wanted:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                modules[peer] = importlib.import_module(names[peer])
        except ImportError as exc:
            notes.append(f"skipped {peer}: not installed ({exc})")
    return modules, notes


def _versions(peers: list[str]) -> str:
    out = [f"streamfold {streamfold.__version__}"]
    for peer in peers:
        dist = DISTRIBUTIONS[peer]
        out.append(f"{dist} {importlib.metadata.version(dist)}")
    return ", ".join(out)


def _sdk_chunks(dicts: list[dict[str, Any]]) -> list[Any]:
    from openai.types.chat import ChatCompletionChunk

    return [ChatCompletionChunk.model_validate(chunk) for chunk in dicts]


def _openai_state(module: Any, sdk: list[Any]) -> Callable[[], Any]:
    state_class = module.ChatCompletionStreamState

    def run() -> Any:
        state = state_class()
        for chunk in sdk:
            state.handle_chunk(chunk)
        return state.get_final_completion()

    return run


def _langchain_inputs(module: Any, dicts: list[dict[str, Any]]) -> list[list[Any]]:
    """Per choice, one ``AIMessageChunk`` per chunk: its content and its tool_call_chunks."""
    by_choice: dict[int, list[Any]] = {}
    for chunk in dicts:
        for choice in chunk["choices"]:
            delta = choice["delta"]
            calls = [
                {
                    "name": (call.get("function") or {}).get("name"),
                    "args": (call.get("function") or {}).get("arguments"),
                    "id": call.get("id"),
                    "index": call.get("index"),
                    "type": "tool_call_chunk",
                }
                for call in delta.get("tool_calls") or ()
            ]
            message = module.AIMessageChunk(
                content=delta.get("content") or "", tool_call_chunks=calls, id=chunk["id"]
            )
            by_choice.setdefault(choice["index"], []).append(message)
    return [by_choice[i] for i in sorted(by_choice)]


def _langchain_running(groups: list[list[Any]]) -> Callable[[], Any]:
    def run() -> Any:
        out = []
        for messages in groups:
            total = messages[0]
            for message in messages[1:]:
                total = total + message
            out.append(total)
        return out

    return run


def _langchain_bulk(groups: list[list[Any]]) -> Callable[[], Any]:
    def run() -> Any:
        return [messages[0] + messages[1:] for messages in groups]

    return run


def _langchain_summary(messages: Any) -> Summary:
    return {
        i: (
            message.content,
            tuple(call["args"] or "" for call in message.tool_call_chunks),
            None,  # the AIMessageChunks carry content and tool_call_chunks only
        )
        for i, message in enumerate(messages)
    }


def _scenario_cases(
    name: str, scale: int, modules: dict[str, Any], quick: bool, sdk_only: bool = False
) -> list[Case]:
    dicts = list(SCENARIOS[name](scale))
    n = len(dicts)
    cases: list[Case] = []

    def add(case_name: str, input_name: str, run: Callable[[], Any], **kw: Any) -> None:
        summary = kw.pop("summary", _summary)
        cases.append(Case(name, scale, n, case_name, input_name, run, summary, **kw))

    if not sdk_only:
        add("streamfold", "dicts", lambda: streamfold.accumulate(dicts), peer=False)
    sdk = _sdk_chunks(dicts) if "openai" in modules else None
    if sdk is not None:
        add("streamfold", "openai objects", lambda: streamfold.accumulate(sdk), peer=False)
        slow = name == "logprobs"  # seconds per round at 1x, minutes at 10x
        if not (slow and quick):
            state = _quiet(_openai_state(modules["openai"], sdk))
            add("openai ChatCompletionStreamState", "openai objects", state)
    if sdk_only:
        return cases
    if "litellm" in modules:
        litellm = modules["litellm"]
        build = litellm.stream_chunk_builder
        stream_chunks = [litellm.ModelResponseStream(**copy.deepcopy(c)) for c in dicts]
        add(
            "litellm stream_chunk_builder",
            "ModelResponseStream",
            _quiet(lambda: build(stream_chunks)),
        )
        plain = copy.deepcopy(dicts)
        add(
            "litellm stream_chunk_builder",
            "dicts",
            _quiet(lambda: build(plain)),
        )
    if "langchain" in modules:
        groups = _langchain_inputs(modules["langchain"], dicts)
        for case_name, make_run in (
            ("langchain AIMessageChunk acc + c", _langchain_running),
            ("langchain AIMessageChunk c0 + rest", _langchain_bulk),
        ):
            add(
                case_name,
                "AIMessageChunk",
                _quiet(make_run(groups)),
                summary=_langchain_summary,
            )
    add("floor (append + join)", "dicts", lambda: floor(dicts), peer=False)
    return cases


# ---------------------------------------------------------------------------------------------
# scaling: streamfold and the floor over lazily generated streams


def _lazy_round(make: Callable[[int], Iterator[dict[str, Any]]], scale: int) -> tuple[float, ...]:
    """Fold one lazily generated stream, timing only the fold: (fold s, floor s, chunks)."""
    acc = streamfold.Accumulator()
    add = acc.add
    stream = make(scale)
    texts = []
    fold_s = floor_s = 0.0
    count = 0
    while batch := list(islice(stream, BATCH)):
        count += len(batch)
        start = time.perf_counter()
        for chunk in batch:
            add(chunk)
        middle = time.perf_counter()
        texts.append(floor(batch))
        floor_s += time.perf_counter() - middle
        fold_s += middle - start
    start = time.perf_counter()
    acc.completion()
    middle = time.perf_counter()
    "".join(texts)
    floor_s += time.perf_counter() - middle
    fold_s += middle - start
    return fold_s, floor_s, float(count)


def _scaling(scales: list[int], rounds: int) -> list[str]:
    lines = [
        f"{'scenario':9} {'scale':>5} {'chunks':>8} {'streamfold':>10} {'floor':>7}"
        f" {'sf/floor':>8} {'rounds':>6}  sf per chunk vs its 1x",
    ]
    for name, make in SCENARIOS.items():
        base = None
        for scale in scales:
            results = [_lazy_round(make, scale) for _ in range(max(3, rounds // scale))]
            count = int(results[0][2])
            fold_us = statistics.median(r[0] for r in results) * 1e6 / count
            floor_us = statistics.median(r[1] for r in results) * 1e6 / count
            if scale == 1:
                base = fold_us
            versus = f"{fold_us / base:.2f}x" if base is not None and scale != 1 else ""
            lines.append(
                f"{name:9} {scale:>5} {count:>8} {fold_us:>10.2f} {floor_us:>7.2f}"
                f" {fold_us / floor_us:>7.1f}x {len(results):>6}  {versus}"
            )
    return lines


# ---------------------------------------------------------------------------------------------


def _row(case: Case, dicts: Case | None, objects: Case | None, note: str) -> str:
    def ratio(base: Case | None) -> str:
        return f"{case.us / base.us:>7.1f}x" if base is not None and case.peer else f"{'':>8}"

    same = objects if case.input == "openai objects" else None
    return (
        f"{case.scenario:9} {case.scale:>5} {case.chunks:>6} {case.name:34} {case.input:19}"
        f" {case.us:>9.2f} {case.rounds:>6} {ratio(dicts)} {ratio(same)}  {note}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="few rounds, no slow cases (CI)")
    parser.add_argument("--rounds", type=int, help="rounds per case (default 21, quick 3)")
    parser.add_argument("--scales", help="scaling section (default 1,10,100; quick 1,10)")
    parser.add_argument("--peers", default=",".join(PEERS), help="peers to run, comma-separated")
    parser.add_argument(
        "--slow-rounds", type=int, default=3, help="rounds of the SDK's state on logprobs at 10x"
    )
    args = parser.parse_args(argv)
    rounds = args.rounds or (3 if args.quick else 21)
    budget = 2.0 if args.quick else BUDGET_S
    scales = [int(s) for s in (args.scales or ("1,10" if args.quick else "1,10,100")).split(",")]
    wanted = [p for p in args.peers.split(",") if p]
    unknown = sorted(set(wanted) - set(PEERS))
    if unknown:
        parser.error(f"unknown peers: {', '.join(unknown)} (known: {', '.join(PEERS)})")

    modules, notes = _peer_modules(wanted)
    print(
        f"python {sys.version.split()[0]} on {platform.system()} {platform.machine()},"
        f" {os.cpu_count()} CPUs; {_versions([p for p in PEERS if p in modules])}"
    )
    for note in notes:
        print(note)
    print(
        f"µs per chunk: median of up to {rounds} rounds (fewer when a case would take over"
        f" {budget:g} s), rounds interleaved. '/sf dict', '/sf obj': the case's time over"
        " streamfold's on dict chunks / on the same openai objects, in this run"
    )
    print(
        f"{'scenario':9} {'scale':>5} {'chunks':>6} {'case':34} {'input':19} {'µs/chunk':>9}"
        f" {'rounds':>6} {'/sf dict':>8} {'/sf obj':>8}  note"
    )
    sdk_1x: dict[str, Case] = {}
    for name in SCENARIOS:
        with warnings.catch_warnings():  # building the peers' objects warns (pydantic)
            warnings.simplefilter("ignore")
            cases = _scenario_cases(name, 1, modules, args.quick)
        _time_interleaved(cases, rounds, budget)
        _print_cases(cases, sdk_1x)
    if "openai" in modules and not args.quick:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cases = _scenario_cases("logprobs", 10, modules, args.quick, sdk_only=True)
        _time_interleaved(cases, args.slow_rounds, None)
        _print_cases(cases, sdk_1x)
    print()
    print("scaling: streams generated lazily, only the fold timed (µs per chunk, median)")
    for line in _scaling(scales, rounds):
        print(line)
    return 0


def _print_cases(cases: list[Case], sdk_1x: dict[str, Case]) -> None:
    reference = next(c for c in cases if not c.peer)
    ours = _summary(reference.result)
    streamfold_on = {c.input: c for c in cases if c.name == "streamfold"}
    dicts, objects = streamfold_on.get("dicts"), streamfold_on.get("openai objects")
    for case in cases:
        note = ""
        if case.peer:
            note = _difference(ours, case.summary(case.result))
        if case.name.startswith("openai"):
            if case.scale == 1:
                sdk_1x[case.scenario] = case
            elif case.scenario in sdk_1x:
                growth = case.us / sdk_1x[case.scenario].us
                note = ", ".join(filter(None, [note, f"{growth:.1f}x its 1x cost per chunk"]))
        print(_row(case, dicts, objects, note))


if __name__ == "__main__":
    raise SystemExit(main())
