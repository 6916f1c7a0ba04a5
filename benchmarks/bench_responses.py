"""Folding OpenAI Responses API streams: ``ResponseAccumulator`` vs the openai SDK's state.

Two streams, built from the event shapes of the API reference: ``text`` (one message, 1,000
``response.output_text.delta`` events) and ``tools`` (4 function calls, 250
``response.function_call_arguments.delta`` events each). The events are the SDK's own objects,
built once outside the timing the way the SDK builds them from the wire (unchecked
``construct_type``); both folds get the same objects. The SDK side is
``openai.lib.streaming.responses._responses.ResponseStreamState.handle_event`` (what
``client.responses.stream()`` runs per event). Then streamfold's cost per event on the text
stream at 1k, 10k and 100k deltas (it should stay flat). Target: at least 20x the SDK.

Timed:    python -m pytest benchmarks/bench_responses.py --benchmark-enable
Figures:  python -m benchmarks.bench_responses [--rounds N] [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest

import streamfold

Bench = Any  # pytest-benchmark's fixture type is not exported

RID = "resp_bench"
_TOP: dict[str, Any] = {
    "id": RID,
    "object": "response",
    "created_at": 1741476542,
    "status": "in_progress",
    "error": None,
    "incomplete_details": None,
    "model": "gpt-4.1-2025-04-14",
    "output": [],
    "parallel_tool_calls": True,
    "tool_choice": "auto",
    "tools": [],
    "usage": None,
    "metadata": {},
}
_USAGE = {
    "input_tokens": 40,
    "input_tokens_details": {"cached_tokens": 0},
    "output_tokens": 1000,
    "output_tokens_details": {"reasoning_tokens": 0},
    "total_tokens": 1040,
}
_WORDS = ("The ", "quick ", "brown ", "fox ", "jumps ", "over ", "the ", "lazy ", "dog. ")


def _numbered(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for n, event in enumerate(events):
        event["sequence_number"] = n
    return events


def text(deltas: int = 1000) -> list[dict[str, Any]]:
    """One message streamed in ``deltas`` output_text deltas, as dict events."""
    at = {"item_id": "msg_1", "output_index": 0, "content_index": 0}
    pieces = [_WORDS[i % len(_WORDS)] for i in range(deltas)]
    body = "".join(pieces)
    part = {"type": "output_text", "annotations": [], "logprobs": [], "text": body}
    item = {
        "id": "msg_1",
        "type": "message",
        "status": "completed",
        "role": "assistant",
        "content": [part],
    }
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": dict(_TOP)},
        {"type": "response.in_progress", "response": dict(_TOP)},
        {
            "type": "response.output_item.added",
            "output_index": 0,
            "item": {**item, "status": "in_progress", "content": []},
        },
        {"type": "response.content_part.added", **at, "part": {**part, "text": ""}},
    ]
    events.extend(
        {
            "type": "response.output_text.delta",
            **at,
            "delta": piece,
            "logprobs": [],
            "obfuscation": "x1",
        }
        for piece in pieces
    )
    events += [
        {"type": "response.output_text.done", **at, "text": body, "logprobs": []},
        {"type": "response.content_part.done", **at, "part": part},
        {"type": "response.output_item.done", "output_index": 0, "item": item},
        {
            "type": "response.completed",
            "response": {**_TOP, "status": "completed", "output": [item], "usage": _USAGE},
        },
    ]
    return _numbered(events)


def tools(per_call: int = 250, calls: int = 4) -> list[dict[str, Any]]:
    """``calls`` function calls, one after another, ``per_call`` argument deltas each."""
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": dict(_TOP)},
        {"type": "response.in_progress", "response": dict(_TOP)},
    ]
    items = []
    for oi in range(calls):
        fid = f"fc_{oi}"
        pieces = ['{"items": ['] + [f'"x{i}", ' for i in range(per_call - 2)] + ['"end"]}']
        arguments = "".join(pieces)
        item = {
            "id": fid,
            "type": "function_call",
            "status": "completed",
            "arguments": arguments,
            "call_id": f"call_{oi}",
            "name": "store",
        }
        items.append(item)
        at = {"item_id": fid, "output_index": oi}
        events.append(
            {
                "type": "response.output_item.added",
                "output_index": oi,
                "item": {**item, "status": "in_progress", "arguments": ""},
            }
        )
        events.extend(
            {"type": "response.function_call_arguments.delta", **at, "delta": p, "obfuscation": "x"}
            for p in pieces
        )
        events.append(
            {"type": "response.function_call_arguments.done", **at, "arguments": arguments}
        )
        events.append({"type": "response.output_item.done", "output_index": oi, "item": item})
    events.append(
        {
            "type": "response.completed",
            "response": {**_TOP, "status": "completed", "output": items, "usage": _USAGE},
        }
    )
    return _numbered(events)


STREAMS: dict[str, Callable[[], list[dict[str, Any]]]] = {"text": text, "tools": tools}


def sdk_events(events: list[dict[str, Any]]) -> list[Any]:
    """The events as the openai SDK builds them from the wire."""
    from openai._models import construct_type
    from openai.types.responses import ResponseStreamEvent

    return [construct_type(type_=ResponseStreamEvent, value=e) for e in events]


def fold_streamfold(events: list[Any]) -> streamfold.Response:
    """streamfold's fold of the events."""
    acc = streamfold.ResponseAccumulator()
    add = acc.add
    for event in events:
        add(event)
    return acc.completion()


def fold_sdk(events: list[Any]) -> Any:
    """The openai SDK's fold of its event objects (``client.responses.stream()``'s state)."""
    import openai
    from openai.lib.streaming.responses._responses import ResponseStreamState

    state: Any = ResponseStreamState(input_tools=openai.omit, text_format=openai.omit)
    handle = state.handle_event
    for event in events:
        handle(event)
    return state._completed_response


@pytest.mark.parametrize("name", sorted(STREAMS))
def test_fold_responses_stream(benchmark: Bench, name: str) -> None:
    """ResponseAccumulator on the SDK's event objects; µs per event in extra_info."""
    events = sdk_events(STREAMS[name]())
    response = benchmark(fold_streamfold, events)
    sdk = fold_sdk(events)
    assert response.output_text == sdk.output_text
    assert len(response.output) == len(sdk.output)
    stats = getattr(benchmark, "stats", None)
    if stats is not None:  # None under --benchmark-disable
        benchmark.extra_info["us_per_event"] = stats.stats.median * 1e6 / len(events)
    benchmark.extra_info["events"] = len(events)


def test_main_quick(capsys: pytest.CaptureFixture[str]) -> None:
    """The figures script runs end to end at a tiny size (no timing asserted)."""
    assert main(["--quick", "--rounds", "1"]) == 0
    out = capsys.readouterr().out
    assert "text" in out
    assert "tools" in out
    assert "per event" in out


def _median_us(fn: Callable[[list[Any]], Any], events: list[Any], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn(events)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6 / len(events)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke run)")
    args = parser.parse_args(argv)
    import openai

    rounds = args.rounds
    print(
        f"python {sys.version.split()[0]}, openai {openai.__version__},"
        f" median of {rounds} rounds, µs per event"
    )
    print(f"{'stream':8} {'events':>7} {'sdk state':>10} {'streamfold':>11} {'dicts':>7} {'x':>6}")
    for name, build in sorted(STREAMS.items()):
        dicts = build() if not args.quick else (text(20) if name == "text" else tools(5))
        objects = sdk_events(dicts)
        sdk_us = _median_us(fold_sdk, objects, rounds)
        ours_us = _median_us(fold_streamfold, objects, rounds)
        dict_us = _median_us(fold_streamfold, dicts, rounds)
        print(
            f"{name:8} {len(objects):>7} {sdk_us:>10.2f} {ours_us:>11.2f} {dict_us:>7.2f}"
            f" {sdk_us / ours_us:>6.1f}"
        )
    print("streamfold per event on the text stream (SDK objects / dicts), by size:")
    for deltas in (10, 100, 1000) if args.quick else (1_000, 10_000, 100_000):
        dicts = text(deltas)
        objects = sdk_events(dicts)
        n = max(1, rounds if deltas < 100_000 else rounds // 4)
        print(
            f"  {deltas:>7} deltas  {_median_us(fold_streamfold, objects, n):>6.2f}"
            f"  {_median_us(fold_streamfold, dicts, n):>6.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
